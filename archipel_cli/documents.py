"""archipel documents upload | list | status | download | review | incomplete | reject | dossiers

Every command but `dossiers` names the dossier by --session and --specialty; a candidate acts on
their own dossier, staff and auditors name the candidate with --candidate. The token is --token or
ARCHIPEL_TOKEN. Files are streamed in chunks of 64 KiB both ways: never read or held whole."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from archipel.documents.v1 import documents_pb2 as pb
from archipel.documents.v1 import documents_pb2_grpc as pb_grpc
from archipel_cli.common import EXIT_INVALID, Subparsers, call, channel, metadata

CHUNK_BYTES = 64 * 1024
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


def stub(arguments: argparse.Namespace) -> pb_grpc.DocumentsStub:
    return pb_grpc.DocumentsStub(channel("documents", arguments.target))


def _key(arguments: argparse.Namespace) -> pb.DossierKey:
    return pb.DossierKey(candidate_id=arguments.candidate, session=arguments.session, specialty=arguments.specialty)


def _as_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def _print(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("documents", help="documents of a registration dossier (R-18 to R-25)")
    commands = parser.add_subparsers(dest="command", required=True)
    keyed = _keyed()

    upload = commands.add_parser("upload", parents=[keyed], help="upload a document (PDF, JPEG or PNG)")
    upload.add_argument("file", type=Path, help="the file to upload")
    upload.add_argument("--kind", required=True, help="e.g. identity, signed_summary, training_certificate")
    upload.set_defaults(handler=_upload)

    listing = commands.add_parser("list", parents=[keyed], help="the documents of the dossier")
    listing.set_defaults(handler=_dossier_part(lambda view: [_as_dict(d) for d in view.documents]))

    status = commands.add_parser("status", parents=[keyed], help="completeness, missing documents, notifications")
    status.set_defaults(handler=_dossier_part(_status))

    download = commands.add_parser("download", parents=[keyed], help="download a document of the dossier")
    download.add_argument("document_id")
    download.add_argument("--out", type=Path, required=True, help="file to write")
    download.set_defaults(handler=_download)

    review = commands.add_parser("review", parents=[keyed], help="staff: accept or reject a document")
    review.add_argument("document_id")
    verdict = review.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--accept", dest="accept", action="store_true")
    verdict.add_argument("--reject", dest="accept", action="store_false")
    review.add_argument("--reason", default="", help="why it is rejected (required with --reject)")
    review.set_defaults(
        handler=_sender(
            "Review",
            lambda a, k: pb.ReviewRequest(key=k, document_id=a.document_id, accept=a.accept, reason=a.reason),
        )
    )

    incomplete = commands.add_parser(
        "incomplete", parents=[keyed], help="staff: declare the dossier incomplete or irregular (email, R-24)"
    )
    incomplete.add_argument("--missing", nargs="+", action="extend", default=[], metavar="KIND")
    incomplete.add_argument("--wrong", nargs="+", action="extend", default=[], metavar="KIND")
    incomplete.add_argument("--note", required=True, help="what the candidate must do")
    incomplete.set_defaults(
        handler=_sender(
            "DeclareIncomplete",
            lambda a, k: pb.DeclareIncompleteRequest(key=k, missing=a.missing, wrong=a.wrong, note=a.note),
        )
    )

    reject = commands.add_parser("reject", parents=[keyed], help="staff: reject the dossier (email, R-24)")
    reject.add_argument("--reason", required=True)
    reject.set_defaults(handler=_sender("RejectDossier", lambda a, k: pb.RejectDossierRequest(key=k, reason=a.reason)))

    dossiers = commands.add_parser("dossiers", help="staff and auditors: the académie's dossiers")
    dossiers.add_argument("--session", type=int, default=0, help="only this session")
    dossiers.add_argument("--state", default="", choices=("", *STATES), help="only dossiers in this state")
    add_connection(dossiers)
    dossiers.set_defaults(handler=_dossiers)


Build = Callable[[argparse.Namespace, pb.DossierKey], Message]


def _sender(method: str, build: Build) -> Callable[[argparse.Namespace], int]:
    def handler(arguments: argparse.Namespace) -> int:
        request = build(arguments, _key(arguments))
        rpc: Callable[..., Any] = getattr(stub(arguments), method)
        return call(lambda: rpc(request, metadata=metadata(arguments.token)))

    return handler


def _dossier_part(show: Callable[[pb.DossierView], object]) -> Callable[[argparse.Namespace], int]:
    def handler(arguments: argparse.Namespace) -> int:
        views: list[pb.DossierView] = []
        code = call(
            lambda: views.append(stub(arguments).GetDossier(_key(arguments), metadata=metadata(arguments.token)))
        )
        if code == 0 and views:
            _print(show(views[0]))
        return code

    return handler


def _status(view: pb.DossierView) -> dict[str, Any]:
    return {
        "candidate_id": view.candidate_id,
        "session": view.session,
        "specialty": view.specialty,
        "requirements_known": view.requirements_known,
        "complete": view.complete,
        "rejected": view.rejected,
        "deadline": view.deadline,
        "missing": list(view.missing),
        "required": [_as_dict(r) for r in view.required],
        "notifications": [_as_dict(n) for n in view.notifications],
    }


def _chunks(arguments: argparse.Namespace, path: Path) -> Iterator[pb.UploadChunk]:
    """The metadata, then the file in chunks of 64 KiB, read as they are sent."""
    yield pb.UploadChunk(
        metadata=pb.UploadMetadata(key=_key(arguments), kind=arguments.kind, filename=path.name),
    )
    with path.open("rb") as file:
        while data := file.read(CHUNK_BYTES):
            yield pb.UploadChunk(data=data)


def _upload(arguments: argparse.Namespace) -> int:
    path: Path = arguments.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return EXIT_INVALID
    return call(lambda: stub(arguments).Upload(_chunks(arguments, path), metadata=metadata(arguments.token)))


def _download(arguments: argparse.Namespace) -> int:
    out: Path = arguments.out
    partial = out.with_name(f".{out.name}.part")
    digest = hashlib.sha256()
    received: dict[str, Any] = {"size": 0}
    request = pb.DownloadRequest(key=_key(arguments), document_id=arguments.document_id)

    def fetch() -> None:
        with partial.open("wb") as file:
            for chunk in stub(arguments).Download(request, metadata=metadata(arguments.token)):
                if chunk.content_type:
                    received.update(content_type=chunk.content_type, filename=chunk.filename)
                digest.update(chunk.data)
                received["size"] += len(chunk.data)
                file.write(chunk.data)

    try:
        code = call(fetch)
        if code == 0:
            os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    if code == 0:
        _print({"document_id": arguments.document_id, "path": str(out), "sha256": digest.hexdigest(), **received})
    return code


def _dossiers(arguments: argparse.Namespace) -> int:
    request = pb.ListDossiersRequest(session=arguments.session, state=arguments.state)
    return call(lambda: stub(arguments).ListDossiers(request, metadata=metadata(arguments.token)))
