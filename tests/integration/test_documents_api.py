"""Uploads and downloads through gRPC against the in-process documents server (real PostgreSQL):
every refusal stores nothing (no event, no blob, nothing left in staging), a 50 MB upload is refused
while it streams without being held in memory, the same bytes are stored once, and nobody downloads
a document that is not theirs to see (R-18, R-19)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
import tracemalloc
from collections.abc import Iterator

import grpc
import pytest
from kafka import KafkaProducer
from pypdf import PdfReader, PdfWriter

from archipel.documents.v1 import documents_pb2 as pb
from shared.auth import Role
from shared.contracts.documents import REGISTRY, DossierComplete
from shared.kafka import KafkaAccess, producer_config
from shared.relay import Relay
from tests.integration.documents_fixtures import (  # noqa: F401 (documents_server is the `documents` fixture)
    DEADLINE,
    SESSION,
    SPECIALTY,
    DocumentsServer,
    documents_server,
    pdf,
    refused,
    upload_requests,
)
from tests.integration.sample_events import read_topic

MiB = 1024 * 1024
OWN = pb.DossierKey(session=SESSION, specialty=SPECIALTY)


def encrypted_pdf() -> bytes:
    reader = PdfReader(io.BytesIO(pdf("secret")))
    writer = PdfWriter(clone_from=reader)
    writer.encrypt(user_password="motdepasse", owner_password="proprietaire")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty file"),
    "text": ("Bonjour, voici ma pièce d'identité.\nCordialement\n".encode(), "plain text"),
    "windows executable named .pdf": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(300), "executable"),
    "elf executable named .pdf": (b"\x7fELF\x02\x01\x01\x00" + bytes(300), "executable"),
    "corrupt pdf": (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\n%%EOF\n", "corrupt PDF"),
    "truncated pdf": (pdf("cut", pages=3)[:300], "corrupt PDF"),
    "encrypted pdf": (encrypted_pdf(), "encrypted PDF"),
    "oversized (10 MB + 1 byte)": (b"%PDF-1.7\n" + bytes(10 * MiB - 8), "file too large"),
}


async def test_every_refused_file_leaves_nothing_behind(documents: DocumentsServer) -> None:
    me = await documents.registered(["signed_summary", "identity", "training_certificate"])
    kept = await documents.upload(me, "signed_summary", pdf("summary"))
    assert len(documents.blob_files()) == 1
    for case, (data, reason) in BAD_FILES.items():
        details = await documents.refused_upload(
            upload_requests(OWN, "identity", data, "identite.pdf", MiB), me.me, grpc.StatusCode.INVALID_ARGUMENT
        )
        assert details.startswith("file:") and reason in details, (case, details)
    view = await documents.dossier(me)
    assert [d.document_id for d in view.documents] == [kept.document_id]
    assert {r.kind: r.status for r in view.required}["identity"] == "missing"


async def test_refusals_that_come_before_the_file(documents: DocumentsServer) -> None:
    me, other = await documents.registered(), await documents.registered()
    invalid, denied = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED
    good = pdf("good")

    details = await documents.refused_upload(upload_requests(OWN, "rqth", good), me.me, invalid)
    assert details.startswith("kind:") and "not a document this dossier needs" in details
    details = await documents.refused_upload(upload_requests(OWN, "selfie", good), me.me, invalid)
    assert details.startswith("kind:")

    no_metadata = iter([pb.UploadChunk(data=good)])
    assert (await documents.refused_upload(no_metadata, me.me, invalid)).startswith("metadata:")
    assert (await documents.refused_upload(iter([]), me.me, invalid)).startswith("metadata:")
    twice = iter([*upload_requests(OWN, "identity", good), pb.UploadChunk(metadata=pb.UploadMetadata(key=OWN))])
    assert (await documents.refused_upload(twice, me.me, invalid)).startswith("metadata:")

    theirs = pb.DossierKey(candidate_id=other.id, session=SESSION, specialty=SPECIALTY)
    await documents.refused_upload(upload_requests(theirs, "identity", good), me.me, denied)
    await documents.refused_upload(upload_requests(theirs, "identity", good), documents.staff(), denied)
    auditor = documents.staff(role=Role.AUDITOR)
    await documents.refused_upload(upload_requests(theirs, "identity", good), auditor, denied)

    documents.clock.now = DEADLINE
    details = await documents.refused_upload(
        upload_requests(OWN, "identity", good), me.me, grpc.StatusCode.FAILED_PRECONDITION
    )
    assert "28/11/2025 17:00" in details and "R-18" in details
    assert await documents.event_types(me.stream) == ["RequirementsRecorded"]


async def test_an_upload_goes_only_to_a_dossier_the_candidates_registration_opened(documents: DocumentsServer) -> None:
    """Attacker: a candidate registered in (2026, SIO-SISR) tries to make a dossier out of nothing,
    for a specialty that does not exist, one that exists but is not theirs, another session, and
    before any registration; each is refused before a byte is read, and leaves no event, no stream,
    no blob, nothing in staging (R-18, issue 13)."""
    me, unregistered = await documents.registered(), await documents.candidate()
    good = pdf("good")
    streams = await documents.store.pool.fetchval("SELECT count(DISTINCT stream_id) FROM events")

    unknown = pb.DossierKey(session=SESSION, specialty="XYZ-HACK")
    details = await documents.refused_upload(
        upload_requests(unknown, "identity", good), me.me, grpc.StatusCode.INVALID_ARGUMENT
    )
    assert details.startswith("specialty:") and "SIO-SISR" in details and "XYZ-HACK" not in details
    for key in (
        pb.DossierKey(session=SESSION, specialty="MCO"),  # a real specialty, not the candidate's
        pb.DossierKey(session=SESSION + 1, specialty=SPECIALTY),  # the candidate's specialty, another session
        pb.DossierKey(session=SESSION - 1, specialty=SPECIALTY),
    ):
        details = await documents.refused_upload(
            upload_requests(key, "identity", good), me.me, grpc.StatusCode.FAILED_PRECONDITION
        )
        assert f"no dossier for {key.specialty} in session {key.session}" in details and "R-18" in details
    details = await documents.refused_upload(
        upload_requests(OWN, "identity", good), unregistered.me, grpc.StatusCode.FAILED_PRECONDITION
    )
    assert "no dossier" in details and "R-18" in details
    assert await documents.store.pool.fetchval("SELECT count(DISTINCT stream_id) FROM events") == streams
    assert await documents.event_types(unregistered.stream) == []

    accepted = await documents.upload(me, "identity", good)  # the registered dossier takes it
    assert await documents.download(me.me, OWN, accepted.document_id) == good
    assert await documents.event_types(me.stream) == ["RequirementsRecorded", "DocumentUploaded"]


async def test_a_50_mb_upload_is_refused_while_it_streams(documents: DocumentsServer) -> None:
    """The limit is 10 MB. The server runs in this process, so tracemalloc sees its allocations too:
    the 50 MB are never held, and the server stops reading soon after the limit."""
    me = await documents.registered()
    block = b"%PDF-1.7\n" + bytes(MiB - 9)
    yielded = 0

    def requests() -> Iterator[pb.UploadChunk]:
        nonlocal yielded
        yield pb.UploadChunk(metadata=pb.UploadMetadata(key=OWN, kind="identity", filename="big.pdf"))
        for _ in range(50):
            yielded += 1
            yield pb.UploadChunk(data=block)

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        details = await documents.refused_upload(requests(), me.me, grpc.StatusCode.INVALID_ARGUMENT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "file too large" in details and "10 MB" in details
    assert peak < 15 * MiB, f"peak {peak / MiB:.1f} MiB during the upload"
    assert 11 <= yielded < 30, f"the client yielded {yielded} chunks of 1 MiB"
    assert await documents.event_types(me.stream) == ["RequirementsRecorded"]
    assert documents.blob_files() == set() and documents.staged_files() == []


async def test_the_same_bytes_are_stored_once(documents: DocumentsServer) -> None:
    first, second = await documents.registered(), await documents.registered()
    scan = pdf("the same scan")
    a = await documents.upload(first, "identity", scan, filename="cni.pdf")
    b = await documents.upload(first, "signed_summary", scan, filename="recap.pdf")
    c = await documents.upload(second, "identity", scan, filename="carte.pdf")
    assert a.sha256 == b.sha256 == c.sha256 and len({a.document_id, b.document_id, c.document_id}) == 3
    assert (a.size, a.content_type, a.label, a.review, a.current) == (
        len(scan),
        "application/pdf",
        "cni.pdf",
        "pending",
        True,
    )
    opened = "RequirementsRecorded"
    assert await documents.event_types(first.stream) == [opened, "DocumentUploaded", "DocumentUploaded"]
    assert await documents.event_types(second.stream) == [opened, "DocumentUploaded"]
    blobs = documents.blob_files()
    assert [p.name for p in blobs] == [a.sha256] and next(iter(blobs)).read_bytes() == scan
    assert documents.staged_files() == []
    assert await documents.download(first.me, OWN, b.document_id) == scan
    assert await documents.download(second.me, OWN, c.document_id) == scan


async def refused_download(
    documents: DocumentsServer, me: tuple[tuple[str, str], ...], key: pb.DossierKey, doc: str
) -> str:
    call = documents.stub.Download(pb.DownloadRequest(key=key, document_id=doc), metadata=me)
    received: list[bytes] = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for chunk in call:
            received.append(chunk.data)
    assert received == [], "bytes were sent before the refusal"
    code = caught.value.code()
    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), (code, caught.value.details())
    return caught.value.details() or ""


async def test_only_the_owner_and_their_academy_staff_download(documents: DocumentsServer) -> None:
    alice, bob = await documents.registered(), await documents.registered()
    secret = pdf("alice's identity card")
    mine = await documents.upload(alice, "identity", secret)
    await documents.upload(bob, "identity", pdf("bob's"))
    alice_key = alice.key()

    assert await documents.download(alice.me, OWN, mine.document_id) == secret
    assert await documents.download(documents.staff(), alice_key, mine.document_id) == secret
    for key, document_id in (
        (OWN, mine.document_id),  # Alice's document id, in Bob's own dossier
        (alice_key, mine.document_id),  # Alice's dossier, named
        (OWN, mine.sha256),  # the file's hash as a document id
        (alice_key, mine.sha256),
        (pb.DossierKey(candidate_id=mine.sha256, session=SESSION, specialty=SPECIALTY), mine.document_id),
        (pb.DossierKey(session=SESSION, specialty=mine.sha256), mine.document_id),
        (pb.DossierKey(session=SESSION, specialty=f"../../blobs/{mine.sha256[:2]}"), mine.sha256),
    ):
        await refused_download(documents, bob.me, key, document_id)
    await refused_download(documents, documents.staff("versailles"), alice_key, mine.document_id)
    await refused_download(documents, documents.staff("versailles"), alice_key, mine.sha256)
    await refused(documents.stub.GetDossier(alice_key, metadata=bob.me), grpc.StatusCode.NOT_FOUND)
    await refused(documents.stub.GetDossier(alice_key, metadata=documents.staff("lyon")), grpc.StatusCode.NOT_FOUND)


async def test_documents_events_travel_through_kafka_without_the_bytes(
    documents: DocumentsServer, kafka_admin: KafkaAccess
) -> None:
    me = await documents.registered(["identity"])
    scan = pdf("KAFKA-MARKER identity scan", pages=3)
    uploaded = await documents.upload(me, "identity", scan)
    await documents.review(me, uploaded.document_id)
    stored = await documents.event_count()
    topic = documents.settings.topic("documents")

    producer = KafkaProducer(**producer_config(kafka_admin))
    try:
        relay = Relay(documents.store, producer, topic, name="documents-test")
        published, deadline = 0, time.monotonic() + 240
        while published < stored:  # the log shows an event once older transactions on the server end
            assert time.monotonic() < deadline, f"relay published {published}/{stored}"
            published += await relay.publish_batch()
            await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(producer.close, 10)

    records = await asyncio.to_thread(read_topic, kafka_admin, topic)
    assert [r.headers["event_type"] for r in records] == [
        "RequirementsRecorded",
        "DocumentUploaded",
        "DocumentAccepted",
        "DossierComplete",
    ]  # one candidate: one key, one partition, in order
    assert {r.key for r in records} == {me.id.encode()}
    envelopes = [REGISTRY.decode_envelope(r.value) for r in records]
    upload = json.loads(records[1].value)["payload"]
    assert upload["kind"] == "identity" and upload["sha256"] == hashlib.sha256(scan).hexdigest()
    assert upload["size"] == len(scan) and upload["content_type"] == "application/pdf"
    assert set(upload) == {
        "document_id", "candidate_id", "academy", "kind", "sha256", "size", "content_type", "sealed", "uploaded_at"
    }  # fmt: skip
    assert "label" not in upload  # the file name, a personal field, is sealed (issue 13 part 7)
    assert all(b"KAFKA-MARKER" not in r.value and scan[:200] not in r.value and len(r.value) < 4000 for r in records)
    complete = envelopes[3].payload
    assert isinstance(complete, DossierComplete) and str(complete.candidate_id) == me.id
    assert (complete.session, complete.specialty) == (SESSION, SPECIALTY)
