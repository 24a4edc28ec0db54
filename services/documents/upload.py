"""An upload: every refusal that does not depend on the file comes before a byte is read; the file
is then staged and checked by content (services.documents.content), and RegisterUpload goes
through the pipeline, which moves the staged file into the blob store before the event naming it
is appended. A refused upload leaves nothing behind: no event, no blob, nothing in staging.

The dossier's key is checked against the commands' bounds before its stream is read (issue 13); the
specialty must be one of the reference data's and the dossier must exist, opened by the candidate's
registration (its DocumentsRequired, through the requirements intake), for that session and
specialty; the dossier's quota (count, bytes) is the domain's (services.documents.quota)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

from services.documents.commands import DossierAddress, RegisterUpload
from services.documents.content import RefusedFile, stage
from services.documents.domain import DOSSIER, Document, check_upload
from services.documents.service import DocumentsPorts, deadline_facts
from services.documents.streams import DossierKey
from shared.auth import Principal, Role
from shared.errors import InvalidInput, PermissionDenied
from shared.pipeline import Pipeline


async def upload(
    pipeline: Pipeline[DocumentsPorts],
    principal: Principal,
    key: DossierKey,
    *,
    kind: str,
    filename: str,
    chunks: AsyncIterator[bytes],
) -> Document:
    principal.require_writer()
    if principal.role is not Role.CANDIDATE or principal.subject != str(key.candidate_id):
        raise PermissionDenied("candidates upload their own documents, in their own space (R-18)")
    DossierAddress(candidate_id=key.candidate_id, session=key.session, specialty=key.specialty)  # bounded
    ports = pipeline.ports
    state, _ = await pipeline.load(DOSSIER, key.stream)
    facts = await deadline_facts(ports, state, principal.academy, key.session, pipeline.clock())
    check_upload(state, key.specialty, key.session, kind, facts)  # refused before a byte is read
    try:
        staged = await stage(chunks, ports.staging, ports.max_bytes)
    except RefusedFile as refusal:
        raise InvalidInput("file", refusal.reason) from None
    try:
        command = RegisterUpload(
            document_id=uuid4(),
            candidate_id=key.candidate_id,
            session=key.session,
            specialty=key.specialty,
            academy=principal.academy,
            kind=kind,
            sha256=staged.sha256,
            size=staged.size,
            content_type=staged.content_type.value,
            label=filename[:255],
            staged=staged.path,
        )
        outcome = await pipeline.execute(principal, command)
    finally:
        staged.path.unlink(missing_ok=True)  # in the blob store by now, or refused
    document: Document = outcome.state.documents[command.document_id]
    return document
