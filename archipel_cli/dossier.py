"""archipel dossier show | list

The candidate's dossier as one view (account, registrations, documents, notifications, results),
gathered from the events of every service. The token is --token or ARCHIPEL_TOKEN."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from archipel_cli.common import Subparsers

if TYPE_CHECKING:
    from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc

STATES = (
    "waiting_registration",
    "registered",
    "confirmed",
    "documents_incomplete",
    "documents_complete",
    "results_published",
    "rejected",
    "not_registered",
)


def add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN)")
    parser.add_argument("--target", help="dossier gRPC address (default from settings)")


def stub(arguments: argparse.Namespace) -> pb_grpc.DossierStub:
    from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc  # noqa: PLC0415 (keep `archipel --help` light)
    from archipel_cli.runtime import channel  # noqa: PLC0415

    return pb_grpc.DossierStub(channel("dossier", arguments.target))


def _show(arguments: argparse.Namespace) -> int:
    from archipel.dossier.v1 import dossier_pb2 as pb  # noqa: PLC0415
    from archipel_cli.runtime import call, metadata  # noqa: PLC0415

    request = pb.GetDossierRequest(candidate_id=arguments.candidate, session=arguments.session)
    return call(lambda: stub(arguments).GetDossier(request, metadata=metadata(arguments.token)))


def _list(arguments: argparse.Namespace) -> int:
    from archipel.dossier.v1 import dossier_pb2 as pb  # noqa: PLC0415
    from archipel_cli.runtime import call, metadata  # noqa: PLC0415

    request = pb.ListDossiersRequest(
        session=arguments.session,
        state=arguments.state or "",
        incomplete_after_deadline=arguments.incomplete_after_deadline,
    )
    return call(lambda: stub(arguments).ListDossiers(request, metadata=metadata(arguments.token)))


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("dossier", help="a candidate's whole dossier; staff: dossiers by state")
    commands = parser.add_subparsers(dest="command", required=True)

    show = commands.add_parser("show", help="one candidate's dossier for a session")
    show.add_argument("candidate", nargs="?", default="", help="candidate id (a candidate may omit it: themself)")
    show.add_argument("--session", type=int, default=0, help="session year (default: the latest)")
    add_connection(show)
    show.set_defaults(handler=_show)

    listed = commands.add_parser("list", help="staff and auditors: the académie's dossiers of a session")
    listed.add_argument("--session", type=int, required=True, help="session year, e.g. 2026")
    listed.add_argument("--state", choices=STATES, help="only the dossiers in this state")
    listed.add_argument(
        "--incomplete-after-deadline", action="store_true", help="only the documents still missing after the deadline"
    )
    add_connection(listed)
    listed.set_defaults(handler=_list)
