"""archipel results grade | absence | import | deliberate | deliberate-session | controle | show | outcomes |
score-sheet

Grades, absences, the jury's CSV file, deliberations and the relevé de notes (R-13 to R-17, R-27 to R-32).
Commands on one candidate's results name them by --candidate, --session and --specialty (a candidate
reading their own results may omit --candidate). The token is --token or ARCHIPEL_TOKEN.
The handlers, and the request each RPC is sent, are in archipel_cli/results_run.py."""

from __future__ import annotations

import argparse
from pathlib import Path

from archipel_cli.common import Later, Subparsers


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


def _sender(method: str) -> Later:
    """A handler calling the RPC `method` with the request results_run.REQUESTS[method] builds."""
    return Later("results_run", "send", method)


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

    def command(name: str, help_text: str, method: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[keyed], help=help_text)
        sub.set_defaults(handler=_sender(method))
        return sub

    grade = command(
        "grade",
        "staff: record a grade out of 20 (a correction needs --reason)",
        "RecordGrade",
    )
    grade.add_argument("--unit", required=True, help="e.g. U1")
    grade.add_argument("--grade", required=True, help="out of 20, two decimals at most, e.g. 12.5")
    grade.add_argument("--reason", default="", help="why an earlier result is corrected")

    absence = command(
        "absence",
        "staff: record an absence (eliminating, R-27; justified by force majeure: counts 0)",
        "RecordAbsence",
    )
    absence.add_argument("--unit", required=True)
    absence.add_argument("--justified", action="store_true", help="force majeure (D643-24)")
    absence.add_argument("--reason", default="", help="why an earlier result is corrected")

    command("deliberate", "staff: deliberate one candidate", "Deliberate")
    controle = command(
        "controle",
        "staff: the contrôle grades of a candidate allowed to sit them (R-29 to R-31)",
        "RecordControle",
    )
    controle.add_argument(
        "--grade", type=unit_grade, action="append", required=True, help="UNIT=GRADE, e.g. U1=13 (at most two)"
    )
    command("show", "the results of one candidate", "GetResults")

    sheet = commands.add_parser("score-sheet", parents=[keyed], help="download the relevé de notes (PDF)")
    sheet.add_argument("--out", type=Path, help="PDF file to write (default: releve-SPECIALTY-SESSION.pdf)")
    sheet.set_defaults(handler=Later("results_run", "score_sheet"))

    imported = commands.add_parser("import", help="staff: a jury's CSV file, every line or none")
    imported.add_argument("file", type=Path, help="candidate_id,session,specialty,unit,result[,reason]")
    add_connection(imported)
    imported.set_defaults(handler=Later("results_run", "import_grades"))

    session = commands.add_parser(
        "deliberate-session", help="staff: deliberate every candidate of the session not yet deliberated"
    )
    session.add_argument("--session", type=int, required=True)
    session.add_argument("--specialty", default="", help="only this specialty")
    add_connection(session)
    session.set_defaults(handler=Later("results_run", "deliberate_session"))

    outcomes = commands.add_parser("outcomes", help="staff, auditors: the outcomes of a session, with counts")
    outcomes.add_argument("--session", type=int, required=True)
    outcomes.add_argument("--specialty", default="", help="only this specialty")
    add_connection(outcomes)
    outcomes.set_defaults(handler=Later("results_run", "outcomes"))
