"""The documents service, declared once: its commands (the dossier decider, the facts each needs,
the blob stored before an upload's event, the email after a staff decision), the requirements
intake, its read models, the erasure of a forgotten candidate's files, its API.
`python -m services documents serve|relay|projections`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from services.documents.blobstore import BlobStore, blob_store_from
from services.documents.commands import (
    Command,
    DeclareIncomplete,
    RecordRequirements,
    RegisterUpload,
    RejectDossier,
    ReviewDocument,
)
from services.documents.content import ContentType, StagedFile
from services.documents.domain import DOSSIER, DossierState, Facts
from services.documents.facts import DocumentsFacts, PgDocumentsFacts
from services.documents.forgotten import FORGOTTEN_UPLOADS
from services.documents.notify import mail_decision
from services.documents.private import blob_in_place
from services.documents.projections import CalendarsReadModel, DossierListReadModel
from services.documents.queries import DocumentsQueries
from shared import known_accounts
from shared.auth import Role
from shared.contracts.documents import REGISTRY, Requirement
from shared.contracts.registration import CalendarSet, DocumentsRequired
from shared.errors import InvalidInput
from shared.events import Envelope, EventRegistry
from shared.eventstore import ExtraWrite
from shared.intake import Intake
from shared.mail import Mailer, mailer_from
from shared.pipeline import Call, CommandSpec, Decision, Pipeline, Scope
from shared.reference import load_reference
from shared.service import Api, Runtime, Service
from shared.settings import Settings


@dataclass(frozen=True)
class DocumentsPorts:
    facts: DocumentsFacts
    queries: DocumentsQueries
    blobs: BlobStore
    mailer: Mailer
    staging: Path  # where uploads wait while they are checked
    max_bytes: int
    mail_from: str
    specialties: frozenset[str]  # the reference data's: an upload names one of them


def blobs_from(settings: Settings) -> BlobStore:
    return blob_store_from(settings.home, settings.blob_s3_bucket, settings.blob_s3_prefix, settings.blob_s3_endpoint)


def ports(runtime: Runtime, mailer: Mailer | None = None, blobs: BlobStore | None = None) -> DocumentsPorts:
    settings = runtime.settings
    return DocumentsPorts(
        PgDocumentsFacts(runtime.store.pool),
        DocumentsQueries(runtime.store),
        blobs or blobs_from(settings),
        mailer or mailer_from(settings),
        settings.home / "staging",
        settings.upload_max_bytes,
        settings.mail_from,
        frozenset(load_reference().specialties()),
    )


async def deadline_facts(
    ports: DocumentsPorts, state: DossierState, academy: str, session: int, now: datetime
) -> Facts:
    """An upload's facts: the calendar's deadline, the fallback of a dossier without one, and the
    specialties an upload may name (R-18)."""
    deadline = await ports.facts.documents_deadline(academy, session)
    return Facts(now=now, deadline=deadline, specialties=ports.specialties)


async def upload_facts(ports: DocumentsPorts, call: Call[RegisterUpload, DossierState]) -> Facts:
    command = call.command
    return await deadline_facts(ports, call.state, command.academy, command.session, call.now)


async def staff_facts(ports: DocumentsPorts, call: Call[Any, DossierState]) -> Facts:
    return Facts(now=call.now, deadline=None, staff=call.principal is not None and call.principal.role is Role.STAFF)


async def intake_facts(ports: DocumentsPorts, call: Call[RecordRequirements, DossierState]) -> Facts:
    return Facts(now=call.now, deadline=None)


def requirements_scope(command: RecordRequirements, state: DossierState, facts: Facts) -> Scope:
    return Scope(command.academy, command.candidate_id)


def upload_scope(command: RegisterUpload, state: DossierState, facts: Facts) -> Scope:
    return Scope(state.academy or command.academy, command.candidate_id)


def dossier_scope(command: Any, state: DossierState, facts: Facts) -> Scope:
    """Staff of the dossier's académie decide on it; a dossier not known yet has none (not found)."""
    return Scope(state.academy or None, command.candidate_id)


async def store_blob(ports: DocumentsPorts, decision: Decision[RegisterUpload, DossierState, Facts]) -> ExtraWrite:
    """The staged file goes into the blob store once the upload is decided, before the event that
    names it is appended (a reader of the event always finds the bytes), which checks under the
    hash's lock that the erasure of a forgotten candidate's same bytes did not take them meanwhile."""
    command = decision.call.command
    if command.staged is None:
        raise InvalidInput("file", "no staged file for this upload")
    await ports.blobs.put(StagedFile(command.staged, command.size, command.sha256, ContentType(command.content_type)))
    return blob_in_place(command.sha256, ports.blobs.exists)  # not erased meanwhile (issue 13 part 7)


def requirements_command(envelope: Envelope) -> RecordRequirements:
    """DocumentsRequired (registration topic) -> RecordRequirements on the dossier."""
    event = envelope.payload
    assert isinstance(event, DocumentsRequired)
    return RecordRequirements(
        registration_id=event.registration_id,
        candidate_id=event.candidate_id,
        academy=event.academy,
        session=event.session,
        specialty=event.specialty,
        requirements=tuple(Requirement(kind=d.kind, label=d.label, rule=d.rule) for d in event.documents),
        deadline=event.deadline,
        source_event_id=envelope.event_id,
    )


# The other services' events it reads (the published contract); the accounts' feed the shared known
# accounts read model.
INBOUND = EventRegistry([DocumentsRequired, CalendarSet]).merged(known_accounts.INBOUND)

REQUIREMENTS_INTAKE = Intake(
    "documents_requirements_intake", DocumentsRequired.event_type, requirements_command, "system:documents-intake"
)
STAFF = frozenset({Role.STAFF})


def _stream(command: Command) -> str:
    return command.dossier.stream


COMMANDS: tuple[CommandSpec[Any, Any, Any, DocumentsPorts], ...] = (
    CommandSpec(RecordRequirements, DOSSIER, _stream, intake_facts, requirements_scope, roles=frozenset()),
    CommandSpec(
        RegisterUpload,
        DOSSIER,
        _stream,
        upload_facts,
        upload_scope,
        roles=frozenset({Role.CANDIDATE}),
        writes=store_blob,
    ),
    CommandSpec(ReviewDocument, DOSSIER, _stream, staff_facts, dossier_scope, roles=STAFF),
    CommandSpec(DeclareIncomplete, DOSSIER, _stream, staff_facts, dossier_scope, roles=STAFF, effects=mail_decision),
    CommandSpec(RejectDossier, DOSSIER, _stream, staff_facts, dossier_scope, roles=STAFF, effects=mail_decision),
)


def api(runtime: Runtime, pipeline: Pipeline[DocumentsPorts], ports: DocumentsPorts) -> Api:
    from archipel.documents.v1 import documents_pb2_grpc as pb_grpc  # noqa: PLC0415 (generated stubs)
    from services.documents.api import SERVICE_NAME, DocumentsServicer  # noqa: PLC0415

    servicer = DocumentsServicer(pipeline, ports, runtime.verifier("documents"), runtime.clock)
    return Api([SERVICE_NAME], lambda server: pb_grpc.add_DocumentsServicer_to_server(servicer, server))


SERVICE = Service(
    name="documents",
    registry=REGISTRY,
    ports=ports,
    commands=COMMANDS,
    api=api,
    token_versions=known_accounts.versions,
    projections=lambda: [known_accounts.KnownAccounts("documents"), CalendarsReadModel(), DossierListReadModel()],
    projection_topics=("accounts", "registration", "documents"),
    inbound=INBOUND,
    intakes=(REQUIREMENTS_INTAKE,),
    reactions=(FORGOTTEN_UPLOADS,),  # a forgotten candidate's files leave the blob store
)
