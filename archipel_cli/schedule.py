"""archipel schedule publish | show: the test schedule of a session for one specialty (R-26); staff of
the académie publish it, publishing again replaces it (the change stays in the history)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from archipel_cli.common import Subparsers
from archipel_cli.registration import add_connection

if TYPE_CHECKING:
    from archipel.registration.v1 import registration_pb2 as pb

ENTRY_HELP = (
    'one test: "UNIT;YYYY-MM-DDTHH:MM;MINUTES;PLACE[;LANGUAGE]" in Paris time, e.g. '
    '"U1;2027-05-12T09:00;240;Lycée Thiers, Marseille" (LANGUAGE: only for the candidates of that language)'
)


def parse_entry(text: str) -> pb.ScheduleEntry:
    """ "U1;2027-05-12T09:00;240;Lycée Thiers, Marseille[;arabe]" -> an entry (the place may hold commas)."""
    from archipel.registration.v1 import registration_pb2 as pb  # noqa: PLC0415 (keep `archipel --help` light)

    fields = [field.strip() for field in text.split(";")]
    if len(fields) not in (4, 5):
        raise argparse.ArgumentTypeError(f"expected UNIT;START;MINUTES;PLACE[;LANGUAGE], got {text!r}")
    try:
        minutes = int(fields[2])
    except ValueError:
        raise argparse.ArgumentTypeError(f"the duration {fields[2]!r} is not a number of minutes") from None
    language = fields[4] if len(fields) == 5 else ""
    return pb.ScheduleEntry(
        unit=fields[0], starts_at=fields[1], duration_minutes=minutes, place=fields[3], language=language
    )


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("schedule", help="test schedules per specialty (R-26)")
    commands = parser.add_subparsers(dest="command", required=True)

    publish = commands.add_parser("publish", help="staff: publish (or replace) the schedule of a specialty")
    _where(publish)
    publish.add_argument("--entry", action="append", required=True, type=parse_entry, help=ENTRY_HELP)
    publish.add_argument("--reason", required=True, help="why it is published or changed")
    publish.set_defaults(handler=_publish)

    show = commands.add_parser("show", help="the published schedule of a specialty")
    _where(show)
    show.set_defaults(handler=_show)


def _where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--academy", required=True, help="e.g. aix-marseille")
    parser.add_argument("--session", type=int, required=True, help="session year, e.g. 2027")
    parser.add_argument("--specialty", required=True, help="e.g. SIO-SISR")
    add_connection(parser)


def _publish(arguments: argparse.Namespace) -> int:
    from archipel.registration.v1 import registration_pb2 as pb  # noqa: PLC0415
    from archipel_cli.registration_run import stub  # noqa: PLC0415
    from archipel_cli.runtime import call, metadata  # noqa: PLC0415

    request = pb.PublishScheduleRequest(
        academy=arguments.academy,
        session=arguments.session,
        specialty=arguments.specialty,
        entries=arguments.entry,
        reason=arguments.reason,
    )
    return call(lambda: stub(arguments).PublishSchedule(request, metadata=metadata(arguments.token)))


def _show(arguments: argparse.Namespace) -> int:
    from archipel.registration.v1 import registration_pb2 as pb  # noqa: PLC0415
    from archipel_cli.registration_run import stub  # noqa: PLC0415
    from archipel_cli.runtime import call, metadata  # noqa: PLC0415

    request = pb.GetScheduleRequest(academy=arguments.academy, session=arguments.session, specialty=arguments.specialty)
    return call(lambda: stub(arguments).GetSchedule(request, metadata=metadata(arguments.token)))
