"""Documents handlers: authorise, load -> decide -> append; files go through staging (checked by
content) into the content-addressed blob store before the event that names them is appended."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

from asyncpg import Record

from services.documents import domain
from services.documents.blobstore import BlobStore
from services.documents.commands import (
    Command,
    DeclareIncomplete,
    RecordRequirements,
    RegisterUpload,
    RejectDossier,
)
from services.documents.content import DEFAULT_MAX_BYTES, RefusedFile, stage
from services.documents.events import Requirement
from services.documents.inbound import DocumentsRequired
from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import InvalidInput, NotFound, PermissionDenied
from shared.events import CommandContext, DomainEvent, Envelope
from shared.eventstore import EventStore
from shared.mail import Mailer, compose
from shared.telemetry import current_context_carrier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Key:
    candidate_id: UUID
    session: int
    specialty: str

    @property
    def stream(self) -> str:
        return f"dossier-{self.candidate_id}-{self.session}-{self.specialty}"


@dataclass(frozen=True)
class Dossier:
    state: domain.DossierState
    version: int
    history: list[Envelope]


async def record_requirements(store: EventStore, envelope: Envelope) -> None:
    """DocumentsRequired (registration topic) -> RecordRequirements on the dossier."""
    event = envelope.payload
    assert isinstance(event, DocumentsRequired)
    key = Key(event.candidate_id, event.session, event.specialty)
    history = await store.read_stream(key.stream)
    state = domain.replay([e.payload for e in history])
    command = RecordRequirements(
        registration_id=event.registration_id,
        candidate_id=event.candidate_id,
        academy=event.academy,
        session=event.session,
        specialty=event.specialty,
        requirements=tuple(Requirement(kind=d.kind, label=d.label, rule=d.rule) for d in event.documents),
        deadline=event.deadline,
        source_event_id=envelope.event_id,
    )
    events = domain.decide(state, command, domain.Facts(now=envelope.recorded_at, deadline=None))
    if events:
        context = CommandContext(
            academy=event.academy,
            actor="system:documents-intake",
            occurred_at=envelope.recorded_at,
            candidate_id=str(event.candidate_id),
            correlation_id=envelope.correlation_id,
            causation_id=envelope.event_id,
            trace_context=current_context_carrier(),
        )
        await store.append(key.stream, len(history), events, context)


class DocumentsHandlers:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        blobs: BlobStore,
        mailer: Mailer,
        *,
        staging: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.store = store
        self.clock = clock
        self.blobs = blobs
        self.mailer = mailer
        self.staging = staging
        self.max_bytes = max_bytes

    async def load(self, key: Key) -> Dossier:
        history = await self.store.read_stream(key.stream)
        return Dossier(domain.replay([e.payload for e in history]), len(history), history)

    async def get(self, principal: Principal, key: Key) -> Dossier:
        dossier = await self.load(key)
        academy = dossier.state.academy or principal.academy
        if not principal.may_read(str(key.candidate_id), academy) or (
            principal.role is not Role.CANDIDATE and not dossier.history
        ):
            raise NotFound("no such dossier (or not yours to see)")
        return dossier

    async def deadline(self, academy: str, session: int) -> datetime | None:
        deadline: datetime | None = await self.store.pool.fetchval(
            "SELECT documents_deadline FROM calendars WHERE academy = $1 AND session = $2", academy, session
        )
        return deadline

    async def upload(
        self, principal: Principal, key: Key, kind: str, filename: str, chunks: AsyncIterator[bytes]
    ) -> domain.Document:
        principal.require_writer()
        if principal.role is not Role.CANDIDATE or principal.subject != str(key.candidate_id):
            raise PermissionDenied("candidates upload their own documents, in their own space (R-18)")
        dossier = await self.load(key)
        facts = domain.Facts(now=self.clock(), deadline=await self.deadline(principal.academy, key.session))
        domain.check_upload(dossier.state, kind, facts)  # refused before a byte is read
        try:
            staged = await stage(chunks, self.staging, self.max_bytes)
        except RefusedFile as refusal:
            raise InvalidInput("file", refusal.reason) from None
        command = RegisterUpload(
            document_id=uuid4(),
            candidate_id=key.candidate_id,
            academy=principal.academy,
            kind=kind,
            sha256=staged.sha256,
            size=staged.size,
            content_type=staged.content_type.value,
            label=filename[:255],
        )
        try:
            events = domain.decide(dossier.state, command, facts)
        except Exception:
            staged.path.unlink(missing_ok=True)
            raise
        await self.blobs.put(staged)
        await self._append(principal, key, dossier, events)
        return domain.replay(events, dossier.state).documents[command.document_id]

    async def download(
        self, principal: Principal, key: Key, document_id: UUID
    ) -> tuple[domain.Document, AsyncIterator[bytes]]:
        dossier = await self.get(principal, key)
        document = dossier.state.documents.get(document_id)
        if document is None:
            raise NotFound("no such document in this dossier")
        return document, self.blobs.open(document.sha256)

    async def execute(self, principal: Principal, key: Key, command: Command) -> Dossier:
        """Staff review and dossier decisions (R-24)."""
        principal.require_writer()
        dossier = await self.load(key)
        if principal.role is not Role.STAFF or (dossier.state.academy and dossier.state.academy != principal.academy):
            raise PermissionDenied("only staff of the dossier's académie review it")
        facts = domain.Facts(now=self.clock(), deadline=None, staff=True)
        events = domain.decide(dossier.state, command, facts)
        if events:
            await self._append(principal, key, dossier, events)
            await self._notify_by_mail(key, command)
        return await self.load(key)

    async def list_dossiers(self, principal: Principal, session: int | None, state: str | None) -> list[Record]:
        if principal.role is Role.CANDIDATE:
            raise PermissionDenied("staff and auditors list dossiers")
        rows: list[Record] = await self.store.pool.fetch(
            "SELECT candidate_id, session, specialty, state, missing, pending_review FROM dossier_list"
            " WHERE academy = $1 AND ($2::int IS NULL OR session = $2) AND ($3::text IS NULL OR state = $3)"
            " ORDER BY session, specialty, candidate_id",
            principal.academy,
            session,
            state,
        )
        return rows

    async def _append(self, principal: Principal, key: Key, dossier: Dossier, events: list[DomainEvent]) -> None:
        context = CommandContext(
            academy=dossier.state.academy or principal.academy,
            actor=f"{principal.role.value}:{principal.subject}",
            occurred_at=self.clock(),
            candidate_id=str(key.candidate_id),
            trace_context=current_context_carrier(),
        )
        await self.store.append(key.stream, dossier.version, events, context)

    async def _notify_by_mail(self, key: Key, command: Command) -> None:
        """R-24: an incomplete or irregular dossier, or a rejected one, is announced by email."""
        if not isinstance(command, DeclareIncomplete | RejectDossier):
            return
        contact = await self.store.pool.fetchrow("SELECT * FROM candidates WHERE account_id = $1", key.candidate_id)
        if contact is None:
            log.warning("no email known for candidate %s", key.candidate_id)
            return
        if isinstance(command, RejectDossier):
            subject = "Votre dossier d'inscription au BTS est rejeté"
            body = (
                f"Votre dossier d'inscription (session {key.session}, {key.specialty}) est rejeté.\n\n"
                f"Motif : {command.reason}\n"
            )
        else:
            subject = "Votre dossier d'inscription au BTS est incomplet"
            lines = [f"- pièce manquante : {kind}" for kind in command.missing] + [
                f"- pièce non conforme : {kind}" for kind in command.wrong
            ]
            body = (
                f"Votre dossier d'inscription (session {key.session}, {key.specialty}) est incomplet ou irrégulier.\n\n"
                + "\n".join(lines)
                + f"\n\n{command.note}\n\nConsultez votre espace candidat.\n"
            )
        try:
            await self.mailer.send(
                compose(
                    "ne-pas-repondre@archipel.local",
                    contact["email"],
                    subject,
                    f"Bonjour {contact['first_names']} {contact['last_name']},\n\n{body}",
                )
            )
        except OSError:
            log.exception(
                "the email to %s could not be sent (the notification is in the candidate space)", contact["email"]
            )


def notifications(history: list[Envelope]) -> list[tuple[datetime, str, str]]:
    """What the candidate space shows, in French, from the dossier's events (R-24)."""
    shown: list[tuple[datetime, str, str]] = []
    for envelope in history:
        event = envelope.payload
        at = envelope.occurred_at
        text = None
        if event.event_type == "DocumentRejected":
            text = f"Pièce refusée ({getattr(event, 'kind', '')}) : {getattr(event, 'reason', '')}"
        elif event.event_type == "DossierIncomplete":
            missing = ", ".join(getattr(event, "missing", ())) or "aucune"
            wrong = ", ".join(getattr(event, "wrong", ())) or "aucune"
            note = getattr(event, "note", "")
            text = f"Dossier incomplet ou irrégulier. Pièces manquantes : {missing}. Non conformes : {wrong}. {note}"
        elif event.event_type == "DossierRejected":
            text = f"Dossier rejeté : {getattr(event, 'reason', '')}"
        elif event.event_type == "DossierComplete":
            text = "Dossier complet : toutes les pièces sont acceptées."
        if text:
            shown.append((at, event.event_type, text.strip()))
    return shown
