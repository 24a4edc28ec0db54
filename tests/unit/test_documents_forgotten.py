"""A forgotten candidate's uploaded files (issue 13 part 7): which blobs go (the pure decision), and
the reaction to CandidateForgotten over the in-memory read port and a local blob store: the
candidate's own blobs are erased, a blob another candidate's document names is kept, a second
delivery changes nothing, another event does nothing."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from uuid import UUID

from services.documents.blobstore import LocalBlobStore
from services.documents.content import ContentType, StagedFile
from services.documents.facts import InMemoryDocumentsFacts
from services.documents.forgotten import FORGOTTEN_UPLOADS, blobs_to_erase, erase_uploads
from services.documents.queries import DocumentsQueries
from services.documents.service import SERVICE, DocumentsPorts
from shared.contracts.accounts import AccountDeactivated, CandidateForgotten
from shared.events import DomainEvent, Envelope
from shared.mail import Mailer

GONE = UUID("0d0c0000-0000-4000-8000-0000000000f1")
OTHER = UUID("0d0c0000-0000-4000-8000-0000000000f2")
A, B, C = ("a" * 64, "b" * 64, "c" * 64)
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_the_candidate_s_own_blobs_go_a_shared_one_stays() -> None:
    assert blobs_to_erase(GONE, [(GONE, A), (GONE, B), (OTHER, B)]) == {A}
    assert blobs_to_erase(GONE, [(GONE, A), (GONE, A)]) == {A}  # the same file in two dossiers
    assert blobs_to_erase(GONE, [(OTHER, C)]) == frozenset()  # nothing of the candidate's
    assert blobs_to_erase(GONE, []) == frozenset()


def test_the_documents_service_declares_the_reaction() -> None:
    assert FORGOTTEN_UPLOADS in SERVICE.reactions
    assert FORGOTTEN_UPLOADS.event_type == CandidateForgotten.event_type
    assert FORGOTTEN_UPLOADS.name not in {p.name for p in SERVICE.projections()}  # a consumer group of its own


def _envelope(event: DomainEvent, candidate: UUID) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        stream_id=f"account-{candidate}",
        stream_version=2,
        event_type=event.event_type,
        schema_version=event.schema_version,
        occurred_at=NOW,
        recorded_at=NOW,
        academy="aix-marseille",
        actor="privacy:dpo",
        candidate_id=str(candidate),
        correlation_id=uuid.uuid4(),
        causation_id=None,
        payload=event,
    )


async def _stored(store: LocalBlobStore, staging: Path, data: bytes) -> str:
    staging.mkdir(parents=True, exist_ok=True)
    path = staging / f"upload-{uuid.uuid4().hex}.part"
    path.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()
    await store.put(StagedFile(path, len(data), sha256, ContentType.PDF))
    return sha256


async def test_forgetting_erases_the_candidate_s_blobs_but_not_one_another_candidate_uses(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    own = await _stored(blobs, tmp_path / "staging", b"%PDF-1.7 identity of the forgotten one")
    shared = await _stored(blobs, tmp_path / "staging", b"%PDF-1.7 the same diploma template")
    theirs = await _stored(blobs, tmp_path / "staging", b"%PDF-1.7 someone else's")
    facts = InMemoryDocumentsFacts(uploads=[(GONE, own), (GONE, shared), (OTHER, shared), (OTHER, theirs)])
    ports = DocumentsPorts(
        facts=facts,
        queries=cast(DocumentsQueries, None),  # the reaction reads the facts port only
        blobs=blobs,
        mailer=cast(Mailer, None),  # the reaction sends nothing
        staging=tmp_path / "staging",
        max_bytes=1024,
        mail_from="ne-pas-repondre@archipel.local",
        specialties=frozenset(),
    )
    forgotten = _envelope(CandidateForgotten(candidate_id=GONE, reason="RGPD", forgotten_at=NOW), GONE)

    await erase_uploads(
        ports,
        _envelope(
            AccountDeactivated(account_id=OTHER, deactivated_at=NOW, by="admin", reason="x", token_version=2), OTHER
        ),
    )
    assert [await blobs.exists(s) for s in (own, shared, theirs)] == [True, True, True]  # not its event

    await erase_uploads(ports, forgotten)
    assert [await blobs.exists(s) for s in (own, shared, theirs)] == [False, True, True]
    await erase_uploads(ports, forgotten)  # a second delivery
    assert [await blobs.exists(s) for s in (own, shared, theirs)] == [False, True, True]
    assert list((tmp_path / "staging").iterdir()) == []
