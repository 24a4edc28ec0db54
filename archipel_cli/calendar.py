"""archipel calendar set | show: the registration calendar of a session in an académie (staff set it)."""

from __future__ import annotations

import argparse

from archipel_cli.common import Subparsers
from archipel_cli.registration import add_connection


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("calendar", help="registration calendars (R-07, R-18, R-25)")
    commands = parser.add_subparsers(dest="command", required=True)

    set_ = commands.add_parser("set", help="staff: set the calendar of a session (the change stays in the history)")
    _where(set_)
    set_.add_argument("--opens", required=True, help='registration opens, Paris time "YYYY-MM-DDTHH:MM"')
    set_.add_argument("--closes", required=True, help='registration closes (excluded), "YYYY-MM-DDTHH:MM"')
    set_.add_argument("--documents-deadline", default="", help='"YYYY-MM-DDTHH:MM"')
    set_.add_argument("--amex-deadline", default="", help='"YYYY-MM-DDTHH:MM"')
    set_.add_argument("--convocations-from", default="", help="YYYY-MM-DD")
    set_.add_argument("--reason", required=True, help="why the calendar changes")
    set_.set_defaults(handler=_set)

    show = commands.add_parser("show", help="the calendar of a session")
    _where(show)
    show.set_defaults(handler=_show)


def _where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--academy", required=True, help="e.g. aix-marseille")
    parser.add_argument("--session", type=int, required=True, help="session year, e.g. 2026")
    add_connection(parser)


def _set(arguments: argparse.Namespace) -> int:
    from archipel.registration.v1 import registration_pb2 as pb  # noqa: PLC0415 (keep `archipel --help` light)
    from archipel_cli.registration_run import stub  # noqa: PLC0415
    from archipel_cli.runtime import call, metadata  # noqa: PLC0415

    request = pb.SetCalendarRequest(
        academy=arguments.academy,
        session=arguments.session,
        registration_opens=arguments.opens,
        registration_closes=arguments.closes,
        documents_deadline=arguments.documents_deadline,
        amex_deadline=arguments.amex_deadline,
        convocations_from=arguments.convocations_from,
        reason=arguments.reason,
    )
    return call(lambda: stub(arguments).SetCalendar(request, metadata=metadata(arguments.token)))


def _show(arguments: argparse.Namespace) -> int:
    from archipel.registration.v1 import registration_pb2 as pb  # noqa: PLC0415
    from archipel_cli.registration_run import stub  # noqa: PLC0415
    from archipel_cli.runtime import call, metadata  # noqa: PLC0415

    request = pb.GetCalendarRequest(academy=arguments.academy, session=arguments.session)
    return call(lambda: stub(arguments).GetCalendar(request, metadata=metadata(arguments.token)))
