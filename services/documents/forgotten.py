"""A forgotten candidate's uploaded files (issue 13 part 7): identity documents and diplomas are
personal data, so when the accounts' CandidateForgotten arrives the blobs of the candidate's
documents are erased from the blob store, except a blob whose same bytes another candidate uploaded
(blobs are stored once per content hash): it stays while that candidate's document names it. Each
blob is checked again and deleted under its hash's lock, which an upload of the same bytes takes
too (services.documents.private), so the two never cross.

A reaction (shared.reactions), not a read model: nothing to rebuild, and deleting an absent blob is
harmless, so a redelivery changes nothing. The events keep naming the hash (the label is erased by
the key's destruction); downloading such a document answers NOT_FOUND ("erased"). Staging holds a
file only while its upload is being checked and stored (services.documents.upload removes it
whatever the outcome), so nothing of the candidate's uploads stays there."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING
from uuid import UUID

from shared.contracts.accounts import CandidateForgotten
from shared.events import Envelope
from shared.reactions import Reaction

if TYPE_CHECKING:
    from services.documents.service import DocumentsPorts

log = logging.getLogger(__name__)


def blobs_to_erase(candidate_id: UUID, references: Iterable[tuple[UUID, str]]) -> frozenset[str]:
    """The content hashes the candidate uploaded that no other candidate's document names."""
    pairs = list(references)
    own = {sha256 for candidate, sha256 in pairs if candidate == candidate_id}
    shared = {sha256 for candidate, sha256 in pairs if candidate != candidate_id}
    return frozenset(own - shared)


async def erase_uploads(ports: DocumentsPorts, envelope: Envelope) -> None:
    event = envelope.payload
    if not isinstance(event, CandidateForgotten):
        return
    references = await ports.facts.blob_references(event.candidate_id)
    erase = blobs_to_erase(event.candidate_id, references)
    # Each hash checked again and deleted under its lock: an upload of the same bytes may have come since.
    guard = ports.facts.erase_if_unshared
    erased = [h for h in sorted(erase) if await guard(event.candidate_id, h, ports.blobs.delete)]
    kept = len({sha256 for _, sha256 in references} - erase)
    log.info(
        "candidate %s forgotten: %d uploaded file(s) erased, %d kept (the same bytes uploaded by another candidate)",
        event.candidate_id,
        len(erased),
        kept,
    )


FORGOTTEN_UPLOADS: Reaction[DocumentsPorts] = Reaction(
    "documents_forgotten_uploads", CandidateForgotten.event_type, erase_uploads
)
