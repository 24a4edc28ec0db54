"""archipel results grade | absence | import | deliberate | deliberate-session | controle | show | outcomes |
score-sheet

Grades, absences, the jury's CSV file, deliberations and the relevé de notes (R-13 to R-17, R-27 to R-32).
Commands on one candidate's results name them by --candidate, --session and --specialty (a candidate
reading their own results may omit --candidate). The token is --token or ARCHIPEL_TOKEN."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message

from archipel.results.v1 import results_pb2 as pb
from archipel.results.v1 import results_pb2_grpc as pb_grpc
from archipel_cli.common import EXIT_INVALID, Subparsers, call, channel, metadata

Build = Callable[[argparse.Namespace, pb.ResultsKey], Message]


def add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN)")
    parser.add_argument("--target", help="results gRPC address (default from settings)")


def _keyed() -> argparse.ArgumentParser:
    """The options every command on one candidate's results takes."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--candidate", default="", help="candidate id (staff and auditors; a candidate: themself)")
    parent.add_argument("--session", type=int, required=True, help="session year, e.g. 2026")
    parent.add_argument("--specialty", required=True, help="e.g. SIO-SISR")
    add_connection(parent)
    return parent


def stub(arguments: argparse.Namespace) -> pb_grpc.ResultsStub:
    return pb_grpc.ResultsStub(channel("results", arguments.target))


def _key(arguments: argparse.Namespace) -> pb.ResultsKey:
    return pb.ResultsKey(candidate_id=arguments.candidate, session=arguments.session, specialty=arguments.specialty)


def _sender(method: str, build: Build) -> Callable[[argparse.Namespace], int]:
    """A handler calling the RPC `method` with the request `build` makes of the arguments."""

    def handler(arguments: argparse.Namespace) -> int:
        request = build(arguments, _key(arguments))
        rpc: Callable[..., Any] = getattr(stub(arguments), method)
        return call(lambda: rpc(request, metadata=metadata(arguments.token)))

    return handler


def unit_grade(text: str) -> tuple[str, str]:
    """--grade U1=13.5 -> ("U1", "13.5")."""
    unit, sign, grade = text.partition("=")
    if not sign or not unit.strip() or not grade.strip():
        raise argparse.ArgumentTypeError(f"expected UNIT=GRADE, e.g. U1=13.5 (got {text!r})")
    return unit.strip(), grade.strip()


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("results", help="grades, absences, deliberations and score sheets")
    commands = parser.add_subparsers(dest="command", required=True)
    keyed = _keyed()

    def command(name: str, help_text: str, method: str, build: Build) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[keyed], help=help_text)
        sub.set_defaults(handler=_sender(method, build))
        return sub

    grade = command(
        "grade",
        "staff: record a grade out of 20 (a correction needs --reason)",
        "RecordGrade",
        lambda a, k: pb.RecordGradeRequest(key=k, unit=a.unit, grade=a.grade, reason=a.reason),
    )
    grade.add_argument("--unit", required=True, help="e.g. U1")
    grade.add_argument("--grade", required=True, help="out of 20, two decimals at most, e.g. 12.5")
    grade.add_argument("--reason", default="", help="why an earlier result is corrected")

    absence = command(
        "absence",
        "staff: record an absence (eliminating, R-27; justified by force majeure: counts 0)",
        "RecordAbsence",
        lambda a, k: pb.RecordAbsenceRequest(key=k, unit=a.unit, justified=a.justified, reason=a.reason),
    )
    absence.add_argument("--unit", required=True)
    absence.add_argument("--justified", action="store_true", help="force majeure (D643-24)")
    absence.add_argument("--reason", default="", help="why an earlier result is corrected")

    command("deliberate", "staff: deliberate one candidate", "Deliberate", lambda a, k: k)
    controle = command(
        "controle",
        "staff: the contrôle grades of a candidate allowed to sit them (R-29 to R-31)",
        "RecordControle",
        lambda a, k: pb.RecordControleRequest(key=k, grades=dict(a.grade)),
    )
    controle.add_argument(
        "--grade", type=unit_grade, action="append", required=True, help="UNIT=GRADE, e.g. U1=13 (at most two)"
    )
    command("show", "the results of one candidate", "GetResults", lambda a, k: k)

    sheet = commands.add_parser("score-sheet", parents=[keyed], help="download the relevé de notes (PDF)")
    sheet.add_argument("--out", type=Path, help="PDF file to write (default: releve-SPECIALTY-SESSION.pdf)")
    sheet.set_defaults(handler=_score_sheet)

    imported = commands.add_parser("import", help="staff: a jury's CSV file, every line or none")
    imported.add_argument("file", type=Path, help="candidate_id,session,specialty,unit,result[,reason]")
    add_connection(imported)
    imported.set_defaults(handler=_import)

    session = commands.add_parser(
        "deliberate-session", help="staff: deliberate every candidate of the session not yet deliberated"
    )
    session.add_argument("--session", type=int, required=True)
    session.add_argument("--specialty", default="", help="only this specialty")
    add_connection(session)
    session.set_defaults(handler=_deliberate_session)

    outcomes = commands.add_parser("outcomes", help="staff, auditors: the outcomes of a session, with counts")
    outcomes.add_argument("--session", type=int, required=True)
    outcomes.add_argument("--specialty", default="", help="only this specialty")
    add_connection(outcomes)
    outcomes.set_defaults(handler=_outcomes)


def _deliberate_session(arguments: argparse.Namespace) -> int:
    request = pb.DeliberateSessionRequest(session=arguments.session, specialty=arguments.specialty)
    return call(lambda: stub(arguments).DeliberateSession(request, metadata=metadata(arguments.token)))


def _outcomes(arguments: argparse.Namespace) -> int:
    request = pb.ListOutcomesRequest(session=arguments.session, specialty=arguments.specialty)
    return call(lambda: stub(arguments).ListOutcomes(request, metadata=metadata(arguments.token)))


def _import(arguments: argparse.Namespace) -> int:
    path: Path = arguments.file
    try:
        data = path.read_bytes()
    except OSError as error:
        print(f"error: cannot read {path} ({error.strerror})", file=sys.stderr)
        return EXIT_INVALID
    answers: list[pb.ImportGradesResponse] = []
    request = pb.ImportGradesRequest(csv=data)

    def send() -> None:
        answers.append(stub(arguments).ImportGrades(request, metadata=metadata(arguments.token)))

    code = _report_lines(send)
    if code == 0 and answers:
        print(json.dumps({"file": str(path), "events": answers[0].events}, ensure_ascii=False))
    return code


def _report_lines(action: Callable[[], None]) -> int:
    """Like `call`, but a refused file prints one line per faulty line of the file."""
    try:
        action()
    except grpc.RpcError as error:
        status = error.code()
        details: str = error.details() or ""
        head, _, lines = details.partition("nothing was recorded; ")
        if not lines:
            print(f"error: {status.name}: {details}", file=sys.stderr)
        else:  # "file: nothing was recorded; line 4: ...; line 7: ..." -> one line per faulty line
            print(f"error: {status.name}: {head}nothing was recorded", file=sys.stderr)
            for line in lines.split("; "):
                print(f"  {line}", file=sys.stderr)
        return EXIT_INVALID if status is grpc.StatusCode.INVALID_ARGUMENT else 1
    return 0


def _score_sheet(arguments: argparse.Namespace) -> int:
    sheets: list[pb.ScoreSheet] = []
    request = _key(arguments)
    code = call(lambda: sheets.append(stub(arguments).GetScoreSheet(request, metadata=metadata(arguments.token))))
    if code or not sheets:
        return code or 1
    out: Path = arguments.out or Path(f"releve-{arguments.specialty}-{arguments.session}.pdf")
    out.write_bytes(sheets[0].pdf)
    print(json.dumps({"path": str(out), "bytes": len(sheets[0].pdf)}, ensure_ascii=False))
    return 0
