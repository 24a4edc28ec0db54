"""A forgotten candidate's uploaded files leave the blob store (issue 13 part 7), on the real
PostgreSQL: the candidate's key destroyed and the accounts' CandidateForgotten consumed by the
documents service's reaction (shared.reactions) and its staff list, as its Kafka consumers would.
The candidate's own PDF is gone from disk; the same bytes another candidate uploaded stay, still
downloadable by them; downloading the forgotten candidate's document answers NOT_FOUND (erased); a
second delivery, and the effect run again, change nothing; a replay of the dossiers still works."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import grpc

from archipel.documents.v1 import documents_pb2 as pb
from services.documents.forgotten import FORGOTTEN_UPLOADS, erase_uploads
from services.documents.private import BLOB_LOCK
from services.documents.projections import DossierListReadModel
from services.documents.service import SERVICE
from shared.auth import Role
from shared.contracts.accounts import AccountCreated, CandidateForgotten
from shared.events import Envelope
from shared.keystore import destroy_key
from shared.projections import ProjectionRunner
from shared.reactions import ReactionProjection
from tests.integration.documents_fixtures import (  # noqa: F401 (documents_server is the `documents` fixture)
    CHAIN,
    SESSION,
    SPECIALTY,
    Candidate,
    DocumentsServer,
    documents_server,
    pdf,
    refused,
)


def _files_holding(root: Path, data: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()] if root.exists() else []


def _account_events(documents: DocumentsServer, who: Candidate) -> tuple[Envelope, Envelope]:
    """The account's stream as the accounts topic carries it: created, then forgotten."""
    stream, candidate = f"account-{who.id}", uuid.UUID(who.id)
    created = AccountCreated(
        account_id=candidate,
        role=Role.CANDIDATE.value,
        last_name="",
        first_names="",
        birth_date=None,
        email="",
        academy="aix-marseille",
    )
    forgotten = CandidateForgotten(candidate_id=candidate, reason="demande RGPD", forgotten_at=documents.clock())
    return documents.envelope(stream, 1, created, who.id), documents.envelope(stream, 2, forgotten, who.id)


async def test_a_forgotten_candidate_s_files_are_erased_a_shared_one_is_kept(documents: DocumentsServer) -> None:
    gone, other = await documents.registered(), await documents.registered()
    own, shared = pdf("identity of the forgotten candidate"), pdf("a diploma both candidates uploaded")
    own_view = await documents.upload(gone, "identity", own, filename="identite-Martin.pdf")
    gone_shared = await documents.upload(gone, "signed_summary", shared)
    other_shared = await documents.upload(other, "signed_summary", shared)
    assert gone_shared.sha256 == other_shared.sha256 and len(documents.blob_files()) == 2
    await documents.project()

    await destroy_key(documents.settings, gone.id)
    runners = [
        ProjectionRunner(documents.store.pool, SERVICE.projection_registry, projection)
        for projection in (DossierListReadModel(), ReactionProjection(FORGOTTEN_UPLOADS, documents.pipeline.ports))
    ]
    created, forgotten = _account_events(documents, gone)
    for runner in runners:
        assert not await runner.handle_raw(*CHAIN.record(created))  # not an event they handle
        assert await runner.handle_raw(*CHAIN.record(forgotten))

    assert _files_holding(documents.blob_root, own) == []  # the file is gone from disk
    assert _files_holding(documents.staging, own) == [] and documents.staged_files() == []
    assert [p.name for p in documents.blob_files()] == [other_shared.sha256]
    other_key = pb.DossierKey(session=SESSION, specialty=SPECIALTY)
    assert await documents.download(other.me, other_key, other_shared.document_id) == shared
    details = await refused(
        documents.download(documents.staff(), gone.key(), own_view.document_id), grpc.StatusCode.NOT_FOUND
    )
    assert "erased" in details

    for runner in runners:  # a second delivery of CandidateForgotten
        assert not await runner.handle_raw(*CHAIN.record(forgotten))
    await erase_uploads(documents.pipeline.ports, forgotten)  # the effect itself, run again
    assert [p.name for p in documents.blob_files()] == [other_shared.sha256]
    assert await documents.download(other.me, other_key, other_shared.document_id) == shared

    await documents.project()  # the dossiers replayed: no blob is read
    view = await documents.dossier(gone)
    assert {d.document_id for d in view.documents} >= {own_view.document_id, gone_shared.document_id}
    assert [d.label for d in view.documents if d.document_id == own_view.document_id] == [""]  # erased


async def test_an_upload_of_the_same_bytes_and_the_erasure_never_cross(documents: DocumentsServer) -> None:
    """Blobs are stored once per content hash, and an upload and the erasure take the hash's lock.
    The lock held for a moment, both queue behind it: an upload queued first appends its event, and
    the erasure after it sees the new reference and keeps the blob; an erasure queued first deletes
    the blob, and the upload after it, finding its blob gone, is refused (ABORTED: send it again)
    with nothing appended, where it would otherwise have named bytes that no longer exist."""
    ports, pool = documents.pipeline.ports, documents.store.pool

    async def race(data: bytes, upload_first: bool) -> tuple[bool, grpc.StatusCode]:
        gone, other = await documents.registered(), await documents.registered()
        await documents.upload(gone, "identity", data, filename="diplome.pdf")
        sha256 = hashlib.sha256(data).hexdigest()

        async def upload() -> grpc.StatusCode:
            try:
                await documents.upload(other, "identity", data, filename="diplome.pdf")
            except grpc.aio.AioRpcError as error:
                return error.code()
            return grpc.StatusCode.OK

        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(BLOB_LOCK, sha256)
            erase = lambda: ports.facts.erase_if_unshared(uuid.UUID(gone.id), sha256, ports.blobs.delete)  # noqa: E731
            tasks: list[asyncio.Task[object]] = []
            for start in (upload, erase) if upload_first else (erase, upload):
                tasks.append(asyncio.ensure_future(start()))
                await asyncio.sleep(0.5)  # queued behind the lock, in this order
            assert not any(task.done() for task in tasks)
        outcomes = await asyncio.gather(*tasks)
        erased, code = (outcomes[1], outcomes[0]) if upload_first else (outcomes[0], outcomes[1])
        assert isinstance(erased, bool) and isinstance(code, grpc.StatusCode)
        return erased, code

    assert await race(pdf("a diploma uploaded again before the erasure"), upload_first=True) == (
        False,
        grpc.StatusCode.OK,
    )
    data = pdf("a diploma uploaded again after the erasure")
    assert await race(data, upload_first=False) == (True, grpc.StatusCode.ABORTED)
    assert not await ports.blobs.exists(hashlib.sha256(data).hexdigest())
    uploads = "SELECT count(*) FROM events WHERE event_type = 'DocumentUploaded' AND payload->>'sha256' = $1"
    assert await pool.fetchval(uploads, hashlib.sha256(data).hexdigest()) == 1  # the forgotten one's only
