"""The handlers of `archipel documents` (the parser is in archipel_cli/documents.py): the request each
RPC is sent, uploads and downloads streamed in chunks of 64 KiB."""

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
from archipel_cli.common import EXIT_INVALID
from archipel_cli.runtime import call, channel, metadata

CHUNK_BYTES = 64 * 1024
Build = Callable[[argparse.Namespace, pb.DossierKey], Message]

REQUESTS: dict[str, Build] = {
    "Review": lambda a, k: pb.ReviewRequest(key=k, document_id=a.document_id, accept=a.accept, reason=a.reason),
    "DeclareIncomplete": lambda a, k: pb.DeclareIncompleteRequest(key=k, missing=a.missing, wrong=a.wrong, note=a.note),
    "RejectDossier": lambda a, k: pb.RejectDossierRequest(key=k, reason=a.reason),
}


def stub(arguments: argparse.Namespace) -> pb_grpc.DocumentsStub:
    return pb_grpc.DocumentsStub(channel("documents", arguments.target))


def _key(arguments: argparse.Namespace) -> pb.DossierKey:
    return pb.DossierKey(candidate_id=arguments.candidate, session=arguments.session, specialty=arguments.specialty)


def _as_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def _print(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def send(method: str, arguments: argparse.Namespace) -> int:
    """Calls the RPC `method` with the request REQUESTS[method] makes of the arguments."""
    request = REQUESTS[method](arguments, _key(arguments))
    rpc: Callable[..., Any] = getattr(stub(arguments), method)
    return call(lambda: rpc(request, metadata=metadata(arguments.token)))


def _dossier_part(arguments: argparse.Namespace, show: Callable[[pb.DossierView], object]) -> int:
    views: list[pb.DossierView] = []
    code = call(lambda: views.append(stub(arguments).GetDossier(_key(arguments), metadata=metadata(arguments.token))))
    if code == 0 and views:
        _print(show(views[0]))
    return code


def list_documents(arguments: argparse.Namespace) -> int:
    return _dossier_part(arguments, lambda view: [_as_dict(d) for d in view.documents])


def status(arguments: argparse.Namespace) -> int:
    return _dossier_part(arguments, _status)


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


def upload(arguments: argparse.Namespace) -> int:
    path: Path = arguments.file
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return EXIT_INVALID
    return call(lambda: stub(arguments).Upload(_chunks(arguments, path), metadata=metadata(arguments.token)))


def download(arguments: argparse.Namespace) -> int:
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


def dossiers(arguments: argparse.Namespace) -> int:
    request = pb.ListDossiersRequest(session=arguments.session, state=arguments.state)
    return call(lambda: stub(arguments).ListDossiers(request, metadata=metadata(arguments.token)))
