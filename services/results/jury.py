"""The jury's flows over many results streams: a CSV file of grades and absences recorded whole or
not at all (each refused line reported with its number), and the deliberation of every candidate of
the académie at a session. Each turns its input into commands and sends them through the pipeline."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from uuid import UUID

from pydantic import ValidationError

from services.results.commands import Deliberate, RecordAbsence, RecordGrade
from services.results.domain import NO_FACTS, RESULTS
from services.results.service import ResultsPorts
from services.results.streams import ResultsKey, results_stream
from shared.auth import Principal
from shared.errors import ArchipelError, InvalidInput, PermissionDenied
from shared.pipeline import BatchRefused, Pipeline, authorize_role

CSV_COLUMNS = ("candidate_id", "session", "specialty", "unit", "result")
MAX_REPORTED = 20


@dataclass
class SessionReport:
    deliberated: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    not_ready: list[str] = field(default_factory=list)


def parse_result(key: ResultsKey, unit: str, text: str, reason: str = "") -> RecordGrade | RecordAbsence:
    """A jury file's result cell: a grade ("12.5" or "12,5"), ABS (absent) or ABJ (justified absence)."""
    cell = text.strip().upper()
    if cell in ("ABS", "ABJ"):
        return RecordAbsence(
            unit=unit,
            justified=cell == "ABJ",
            reason=reason,
            candidate_id=key.candidate_id,
            session=key.session,
            specialty=key.specialty,
        )
    try:
        grade = Decimal(cell.replace(",", "."))
    except InvalidOperation:
        raise InvalidInput("result", f"{text!r:.40} is neither a grade, ABS nor ABJ") from None
    return RecordGrade(
        unit=unit,
        grade=grade,
        reason=reason,
        candidate_id=key.candidate_id,
        session=key.session,
        specialty=key.specialty,
    )


def _parse_line(row: list[str]) -> RecordGrade | RecordAbsence:
    if len(row) < len(CSV_COLUMNS):
        raise InvalidInput("row", f"{len(CSV_COLUMNS)} columns expected, {len(row)} found")
    candidate, session, specialty, unit, result = (cell.strip() for cell in row[: len(CSV_COLUMNS)])
    reason = row[len(CSV_COLUMNS)].strip() if len(row) > len(CSV_COLUMNS) else ""
    try:
        key = ResultsKey(UUID(candidate), int(session), specialty)
    except ValueError:
        raise InvalidInput("candidate_id/session", "a candidate UUID and a session year") from None
    return parse_result(key, unit, result, reason)


def _rows(text: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as error:  # a field over csv's size limit, say: bad input, not INTERNAL (rule 9)
        raise InvalidInput("file", f"line {reader.line_num}: {error}; nothing was recorded") from None
    if not rows or [c.strip() for c in rows[0][: len(CSV_COLUMNS)]] != list(CSV_COLUMNS):
        raise InvalidInput("file", f"line 1: the header must be {','.join(CSV_COLUMNS)}[,reason]")
    return rows


def _stream_of(command: RecordGrade | RecordAbsence) -> str:
    return results_stream(command.candidate_id, command.session, command.specialty)


async def _unknown_lines(
    pipeline: Pipeline[ResultsPorts], commands: list[RecordGrade | RecordAbsence], lines: list[int]
) -> list[tuple[int, str]]:
    """The lines about a results stream with no event (no registration known), found with one query
    for the whole file and refused as the decider refuses them on the empty state, so that a large
    file of unknown candidates is refused without loading its streams one by one."""
    known = await pipeline.ports.queries.existing_streams(sorted({_stream_of(c) for c in commands}))
    refused: list[tuple[int, str]] = []
    for number, command in zip(lines, commands, strict=True):
        if _stream_of(command) not in known:
            try:
                RESULTS.decide(command, RESULTS.initial, NO_FACTS)
            except ArchipelError as error:
                refused.append((number, error.message))
    return refused


async def import_jury_file(pipeline: Pipeline[ResultsPorts], principal: Principal, text: str) -> int:
    """Every line of a jury's file, or none: a bad line is reported with its number; a line about
    another académie's candidate refuses the whole file (rule 9). The number of events recorded."""
    authorize_role(pipeline.spec_named(RecordGrade.__name__), principal)
    rows = _rows(text)
    errors: list[tuple[int, str]] = []
    lines: list[int] = []
    commands: list[RecordGrade | RecordAbsence] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            commands.append(_parse_line(row))
            lines.append(number)
        except ValidationError as error:
            first = error.errors()[0]
            errors.append((number, f"{'.'.join(str(p) for p in first['loc']) or 'row'}: {first['msg']}"))
        except ArchipelError as error:
            errors.append((number, error.message))
    unknown = await _unknown_lines(pipeline, commands, lines)
    errors += unknown
    unknown_lines = {number for number, _ in unknown}
    kept = [(number, command) for number, command in zip(lines, commands, strict=True) if number not in unknown_lines]
    lines, commands = [number for number, _ in kept], [command for _, command in kept]
    recorded = 0
    try:  # with lines unread, every line is still decided (all refusals reported), none written
        outcomes = await pipeline.execute_many(principal, commands, dry_run=bool(errors))
        recorded = sum(len(outcome.events) for outcome in outcomes)
    except BatchRefused as refused:
        failures = [(lines[index], failure) for index, failure in refused.failures]
        denied = [(number, failure) for number, failure in failures if isinstance(failure, PermissionDenied)]
        if denied:  # another académie's candidate: the file is refused as a whole (rule 9)
            number, failure = denied[0]
            raise PermissionDenied(f"line {number}: {failure.message}; nothing was recorded") from None
        errors += [(number, failure.message) for number, failure in failures]
    if errors:
        listed = "; ".join(f"line {number}: {message}" for number, message in sorted(errors)[:MAX_REPORTED])
        raise InvalidInput("file", "nothing was recorded; " + listed)
    return recorded


async def deliberate_session(
    pipeline: Pipeline[ResultsPorts], principal: Principal, session: int, specialty: str | None
) -> SessionReport:
    """The jury deliberates every candidate of the académie not yet deliberated."""
    authorize_role(pipeline.spec_named(Deliberate.__name__), principal)
    report = SessionReport()
    for candidate_id, candidate_specialty in await pipeline.ports.queries.to_deliberate(
        principal.academy, session, specialty
    ):
        command = Deliberate(candidate_id=candidate_id, session=session, specialty=candidate_specialty)
        try:
            outcome = await pipeline.execute(principal, command)
        except ArchipelError as error:
            report.not_ready.append(f"{candidate_id} {candidate_specialty}: {error.message}")
            continue
        report.deliberated += 1
        result = outcome.state.outcome or "?"
        report.outcomes[result] = report.outcomes.get(result, 0) + 1
    return report
