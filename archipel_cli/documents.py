"""archipel documents upload | list | status | download | review | incomplete | reject | dossiers

Every command but `dossiers` names the dossier by --session and --specialty; a candidate acts on
their own dossier, staff and auditors name the candidate with --candidate. The token is --token or
ARCHIPEL_TOKEN. Files are streamed in chunks of 64 KiB both ways: never read or held whole. The
handlers, and the request each RPC is sent, are in archipel_cli/documents_run.py."""

from __future__ import annotations

import argparse
from pathlib import Path

from archipel_cli.common import Later, Subparsers

STATES = ("complete", "incomplete", "rejected", "waiting")


def add_connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", help="bearer token (default ARCHIPEL_TOKEN)")
    parser.add_argument("--target", help="documents gRPC address (default from settings)")


def _keyed() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--session", type=int, required=True, help="session year, e.g. 2026")
    parent.add_argument("--specialty", required=True, help="e.g. SIO-SISR")
    parent.add_argument("--candidate", default="", help="candidate id (staff and auditors; a candidate: themself)")
    add_connection(parent)
    return parent


def _sender(method: str) -> Later:
    """A handler calling the RPC `method` with the request documents_run.REQUESTS[method] builds."""
    return Later("documents_run", "send", method)


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("documents", help="documents of a registration dossier (R-18 to R-25)")
    commands = parser.add_subparsers(dest="command", required=True)
    keyed = _keyed()

    upload = commands.add_parser("upload", parents=[keyed], help="upload a document (PDF, JPEG or PNG)")
    upload.add_argument("file", type=Path, help="the file to upload")
    upload.add_argument("--kind", required=True, help="e.g. identity, signed_summary, training_certificate")
    upload.set_defaults(handler=Later("documents_run", "upload"))

    listing = commands.add_parser("list", parents=[keyed], help="the documents of the dossier")
    listing.set_defaults(handler=Later("documents_run", "list_documents"))

    status = commands.add_parser("status", parents=[keyed], help="completeness, missing documents, notifications")
    status.set_defaults(handler=Later("documents_run", "status"))

    download = commands.add_parser("download", parents=[keyed], help="download a document of the dossier")
    download.add_argument("document_id")
    download.add_argument("--out", type=Path, required=True, help="file to write")
    download.set_defaults(handler=Later("documents_run", "download"))

    review = commands.add_parser("review", parents=[keyed], help="staff: accept or reject a document")
    review.add_argument("document_id")
    verdict = review.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--accept", dest="accept", action="store_true")
    verdict.add_argument("--reject", dest="accept", action="store_false")
    review.add_argument("--reason", default="", help="why it is rejected (required with --reject)")
    review.set_defaults(handler=_sender("Review"))

    incomplete = commands.add_parser(
        "incomplete", parents=[keyed], help="staff: declare the dossier incomplete or irregular (email, R-24)"
    )
    incomplete.add_argument("--missing", nargs="+", action="extend", default=[], metavar="KIND")
    incomplete.add_argument("--wrong", nargs="+", action="extend", default=[], metavar="KIND")
    incomplete.add_argument("--note", required=True, help="what the candidate must do")
    incomplete.set_defaults(handler=_sender("DeclareIncomplete"))

    reject = commands.add_parser("reject", parents=[keyed], help="staff: reject the dossier (email, R-24)")
    reject.add_argument("--reason", required=True)
    reject.set_defaults(handler=_sender("RejectDossier"))

    dossiers = commands.add_parser("dossiers", help="staff and auditors: the académie's dossiers")
    dossiers.add_argument("--session", type=int, default=0, help="only this session")
    dossiers.add_argument("--state", default="", choices=("", *STATES), help="only dossiers in this state")
    add_connection(dossiers)
    dossiers.set_defaults(handler=Later("documents_run", "dossiers"))
