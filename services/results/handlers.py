"""Results handlers: the registration intake, staff commands, the jury's CSV import (all lines or
none) and the deliberation of a whole session."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from uuid import UUID

from asyncpg import Record
from pydantic import ValidationError

from services.results import domain
from services.results.commands import Command, Deliberate, NoteRegistration, RecordAbsence, RecordGrade
from services.results.events import Carried
from services.results.inbound import RegistrationConfirmed
from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import ArchipelError, InvalidInput, NotFound, PermissionDenied
from shared.events import CommandContext, DomainEvent, Envelope
from shared.eventstore import Append, EventStore
from shared.reference import Regulation, regulation_for
from shared.telemetry import current_context_carrier

CSV_COLUMNS = ("candidate_id", "session", "specialty", "unit", "result")


@dataclass(frozen=True)
class Key:
    candidate_id: UUID
    session: int
    specialty: str

    @property
    def stream(self) -> str:
        return f"results-{self.candidate_id}-{self.session}-{self.specialty}"


@dataclass
class SessionReport:
    deliberated: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    not_ready: list[str] = field(default_factory=list)


async def note_registration(store: EventStore, envelope: Envelope) -> None:
    """RegistrationConfirmed (registration topic) -> NoteRegistration; redeliveries change nothing."""
    event = envelope.payload
    assert isinstance(event, RegistrationConfirmed)
    key = Key(event.candidate_id, event.session, event.specialty)
    history = await store.read_stream(key.stream)
    command = NoteRegistration(
        candidate_id=event.candidate_id,
        academy=event.academy,
        session=event.session,
        specialty=event.specialty,
        form=event.form,
        units=event.units,
        optional_units=event.optional_units,
        exempted_units=event.exempted_units,
        benefits=tuple(
            Carried(unit=b.unit, grade=b.grade, session_obtained=b.session_obtained) for b in event.benefits
        ),
        source_event_id=envelope.event_id,
    )
    events = domain.decide(domain.replay([e.payload for e in history]), command)
    if events:
        context = CommandContext(
            academy=event.academy,
            actor="system:results-intake",
            occurred_at=envelope.recorded_at,
            candidate_id=str(event.candidate_id),
            correlation_id=envelope.correlation_id,
            causation_id=envelope.event_id,
            trace_context=current_context_carrier(),
        )
        await store.append(key.stream, len(history), events, context)


def parse_result(unit: str, text: str, reason: str = "") -> RecordGrade | RecordAbsence:
    """A jury file's result cell: a grade ("12.5" or "12,5"), ABS (absent) or ABJ (justified absence)."""
    cell = text.strip().upper()
    if cell in ("ABS", "ABJ"):
        return RecordAbsence(unit=unit, justified=cell == "ABJ", reason=reason)
    try:
        grade = Decimal(cell.replace(",", "."))
    except InvalidOperation:
        raise InvalidInput("result", f"{text!r} is neither a grade, ABS nor ABJ") from None
    return RecordGrade(unit=unit, grade=grade, reason=reason)


class ResultsHandlers:
    def __init__(self, store: EventStore, clock: Clock, regulations: tuple[Regulation, ...] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.regulations = regulations

    async def load(self, key: Key) -> tuple[domain.ResultsState, int]:
        history = await self.store.read_stream(key.stream)
        return domain.replay([e.payload for e in history]), len(history)

    async def get(self, principal: Principal, key: Key) -> tuple[domain.ResultsState, int]:
        state, version = await self.load(key)
        if not state.registered or not principal.may_read(str(key.candidate_id), state.academy):
            raise NotFound("no results for this candidate, session and specialty (or not yours to see)")
        return state, version

    def regulation(self, state: domain.ResultsState) -> Regulation:
        return regulation_for(state.specialty, state.session, self.regulations)

    def _context(self, principal: Principal, state: domain.ResultsState, key: Key) -> CommandContext:
        return CommandContext(
            academy=state.academy,
            actor=f"{principal.role.value}:{principal.subject}",
            occurred_at=self.clock(),
            candidate_id=str(key.candidate_id),
            trace_context=current_context_carrier(),
        )

    def _authorise(self, principal: Principal, state: domain.ResultsState) -> None:
        principal.require_writer()
        if principal.role is not Role.STAFF:
            raise PermissionDenied("grades and deliberations are recorded by rectorate staff")
        if state.registered and state.academy != principal.academy:
            raise PermissionDenied("staff act only within their académie")

    async def execute(self, principal: Principal, key: Key, command: Command) -> tuple[domain.ResultsState, int]:
        state, version = await self.load(key)
        self._authorise(principal, state)
        regulation = self.regulation(state) if state.registered else None
        events = domain.decide(state, command, regulation)
        if events:
            await self.store.append(key.stream, version, events, self._context(principal, state, key))
        return domain.replay(events, state), version + len(events)

    async def import_csv(self, principal: Principal, text: str) -> int:
        """Every line of a jury's file, or none: a bad line is reported with its number."""
        principal.require_writer()
        if principal.role is not Role.STAFF:
            raise PermissionDenied("grades and deliberations are recorded by rectorate staff")
        reader = csv.reader(io.StringIO(text))
        try:
            rows = list(reader)
        except csv.Error as error:  # a field over csv's size limit, say: bad input, not INTERNAL (rule 9)
            raise InvalidInput("file", f"line {reader.line_num}: {error}; nothing was recorded") from None
        if not rows or [c.strip() for c in rows[0][: len(CSV_COLUMNS)]] != list(CSV_COLUMNS):
            raise InvalidInput("file", f"line 1: the header must be {','.join(CSV_COLUMNS)}[,reason]")
        pending: dict[Key, tuple[domain.ResultsState, int, list[DomainEvent]]] = {}
        errors: list[str] = []
        for number, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            try:
                key, command = self._parse_line(row)
                if key not in pending:
                    state, version = await self.load(key)
                    pending[key] = (state, version, [])
                state, version, events = pending[key]
                self._authorise(principal, state)
                new = domain.decide(domain.replay(events, state), command)
                pending[key] = (state, version, events + new)
            except ValidationError as error:
                first = error.errors()[0]
                errors.append(f"line {number}: {'.'.join(str(p) for p in first['loc']) or 'row'}: {first['msg']}")
            except PermissionDenied as error:  # another académie's candidate: refused as a whole (rule 9)
                raise PermissionDenied(f"line {number}: {error.message}; nothing was recorded") from None
            except ArchipelError as error:
                errors.append(f"line {number}: {error.message}")
        if errors:
            raise InvalidInput("file", "nothing was recorded; " + "; ".join(errors[:20]))
        appends = [
            Append(key.stream, version, tuple(events), self._context(principal, state, key))
            for key, (state, version, events) in pending.items()
            if events
        ]
        await self.store.append_many(appends)
        return sum(len(append.events) for append in appends)

    def _parse_line(self, row: list[str]) -> tuple[Key, RecordGrade | RecordAbsence]:
        if len(row) < len(CSV_COLUMNS):
            raise InvalidInput("row", f"{len(CSV_COLUMNS)} columns expected, {len(row)} found")
        candidate, session, specialty, unit, result = (cell.strip() for cell in row[: len(CSV_COLUMNS)])
        reason = row[len(CSV_COLUMNS)].strip() if len(row) > len(CSV_COLUMNS) else ""
        try:
            key = Key(UUID(candidate), int(session), specialty)
        except ValueError:
            raise InvalidInput("candidate_id/session", "a candidate UUID and a session year") from None
        return key, parse_result(unit, result, reason)

    async def deliberate_session(self, principal: Principal, session: int, specialty: str | None) -> SessionReport:
        """The jury deliberates every candidate of the académie not yet deliberated."""
        principal.require_writer()
        if principal.role is not Role.STAFF:
            raise PermissionDenied("the jury's deliberation is run by rectorate staff")
        rows = await self.store.pool.fetch(
            "SELECT candidate_id, specialty FROM outcomes WHERE academy = $1 AND session = $2"
            " AND ($3::text IS NULL OR specialty = $3) AND (outcome IS NULL OR outcome = 'INCOMPLET')",
            principal.academy,
            session,
            specialty,
        )
        report = SessionReport()
        for row in rows:
            key = Key(row["candidate_id"], session, row["specialty"])
            try:
                state, _ = await self.execute(principal, key, Deliberate())
            except ArchipelError as error:
                report.not_ready.append(f"{key.candidate_id} {key.specialty}: {error.message}")
                continue
            report.deliberated += 1
            outcome = state.outcome or "?"
            report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
        return report

    async def outcomes(self, principal: Principal, session: int, specialty: str | None) -> list[Record]:
        if principal.role is Role.CANDIDATE:
            raise PermissionDenied("staff and auditors list outcomes")
        rows: list[Record] = await self.store.pool.fetch(
            "SELECT candidate_id, specialty, form, outcome, average, final_average, final FROM outcomes"
            " WHERE academy = $1 AND session = $2 AND ($3::text IS NULL OR specialty = $3)"
            " ORDER BY specialty, candidate_id",
            principal.academy,
            session,
            specialty,
        )
        return rows
