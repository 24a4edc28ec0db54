"""The documents service's pure parts around the domain: its stream ids (built and parsed in
services.documents.streams only), the facts each command gathers (with the in-memory read port),
the requirements intake's command and the email after a staff decision."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar, cast
from uuid import UUID

import pytest

from services.documents.blobstore import BlobStore
from services.documents.commands import DeclareIncomplete, RegisterUpload, RejectDossier
from services.documents.domain import DOSSIER, INITIAL, DossierState, Facts
from services.documents.facts import Contact, InMemoryDocumentsFacts
from services.documents.notify import mail_decision
from services.documents.queries import DocumentsQueries
from services.documents.service import (
    REQUIREMENTS_INTAKE,
    SERVICE,
    DocumentsPorts,
    dossier_scope,
    staff_facts,
    upload_facts,
)
from services.documents.streams import DossierKey, dossier_of, dossier_stream
from shared.auth import Principal, Role
from shared.contracts.documents import DocumentUploaded, DossierRejected, Requirement, RequirementsRecorded
from shared.contracts.registration import DocumentsRequired, RequiredDocument
from shared.errors import PermissionDenied, RuleViolation
from shared.events import DomainEvent, Envelope
from shared.pipeline import Call, Decision, Scope

CANDIDATE = UUID("0d0c0000-0000-4000-8000-000000000001")
ACADEMY = "aix-marseille"
SESSION = 2026
SPECIALTY = "SIO-SISR"
KEY = {"candidate_id": CANDIDATE, "session": SESSION, "specialty": SPECIALTY}
DEADLINE = datetime(2025, 11, 28, 16, 0, tzinfo=UTC)
NOW = DEADLINE - timedelta(days=3)
STAFF = Principal(subject="staff-1", role=Role.STAFF, academy=ACADEMY)
C = TypeVar("C")
ME = Principal(subject=str(CANDIDATE), role=Role.CANDIDATE, academy=ACADEMY)
SPECIALTIES = frozenset({"MCO", SPECIALTY})


class Outbox:
    def __init__(self, fail: bool = False) -> None:
        self.messages: list[EmailMessage] = []
        self.fail = fail

    async def send(self, message: EmailMessage) -> None:
        if self.fail:
            raise OSError("mail server down")
        self.messages.append(message)


def ports(facts: InMemoryDocumentsFacts, mailer: Outbox | None = None) -> DocumentsPorts:
    return DocumentsPorts(
        facts=facts,
        queries=cast(DocumentsQueries, None),  # the commands' facts and effects never read the API's port
        blobs=cast(BlobStore, None),
        mailer=mailer or Outbox(),
        staging=Path("/nonexistent"),
        max_bytes=1024,
        mail_from="ne-pas-repondre@archipel.local",
        specialties=SPECIALTIES,
    )


def opened(academy: str = ACADEMY) -> DossierState:
    """The dossier once the registration's requirements reached it, without a deadline of its own."""
    requirements = (Requirement(kind="identity", label="Pièce d'identité", rule="R-19"),)
    recorded = RequirementsRecorded(
        **KEY,
        registration_id="r",
        academy=academy,
        requirements=requirements,
        deadline=None,
        source_event_id=uuid.uuid4(),
    )
    return DOSSIER.evolve(INITIAL, recorded)


def call(command: C, principal: Principal | None, state: DossierState = INITIAL) -> Call[C, DossierState]:
    return Call(command, principal, "dossier-test", state, 0, NOW)


def register_upload(academy: str = ACADEMY) -> RegisterUpload:
    return RegisterUpload(
        **KEY,
        document_id=uuid.uuid4(),
        academy=academy,
        kind="identity",
        sha256="ab" * 32,
        size=10,
        content_type="application/pdf",
        label="cni.pdf",
        staged=Path("/staging/x"),
    )


# -- stream ids ------------------------------------------------------------------------------------


def test_the_dossier_stream_id_is_the_stored_string_and_parses_back() -> None:
    stream = dossier_stream(CANDIDATE, SESSION, SPECIALTY)
    assert stream == f"dossier-{CANDIDATE}-2026-SIO-SISR"
    assert dossier_of(stream) == DossierKey(CANDIDATE, SESSION, SPECIALTY)
    assert register_upload().dossier.stream == stream


@pytest.mark.parametrize(
    "stream", ["registration-x", f"account-{CANDIDATE}", "dossier-not-a-uuid-2026-MCO", f"dossier-{CANDIDATE}-MCO"]
)
def test_other_stream_ids_are_not_dossiers(stream: str) -> None:
    with pytest.raises(ValueError):
        dossier_of(stream)


def test_every_command_is_declared_once() -> None:
    names = [spec.name for spec in SERVICE.commands]
    assert sorted(names) == sorted(
        ["RecordRequirements", "RegisterUpload", "ReviewDocument", "DeclareIncomplete", "RejectDossier"]
    )


# -- facts ---------------------------------------------------------------------------------------------


async def test_an_upload_gathers_the_calendar_deadline_of_its_academy_and_session() -> None:
    facts = InMemoryDocumentsFacts(deadlines={(ACADEMY, SESSION): DEADLINE, ("lyon", SESSION): NOW})
    command = register_upload()
    gathered = await upload_facts(ports(facts), call(command, ME))
    assert gathered == Facts(now=NOW, deadline=DEADLINE, specialties=SPECIALTIES)
    [event] = DOSSIER.decide(command, opened(), gathered)
    assert isinstance(event, DocumentUploaded) and event.uploaded_at == NOW
    closed = await upload_facts(ports(facts), call(register_upload("lyon"), ME))
    with pytest.raises(RuleViolation, match="uploads are closed"):
        DOSSIER.decide(register_upload("lyon"), opened("lyon"), closed)
    unknown = await upload_facts(ports(InMemoryDocumentsFacts()), call(command, ME))
    with pytest.raises(RuleViolation, match="no documents deadline"):
        DOSSIER.decide(command, opened(), unknown)
    with pytest.raises(RuleViolation, match="no dossier"):
        DOSSIER.decide(command, INITIAL, gathered)


async def test_staff_facts_say_whether_the_sender_is_staff() -> None:
    command = RejectDossier(**KEY, reason="fraude")
    assert (await staff_facts(ports(InMemoryDocumentsFacts()), call(command, STAFF))).staff
    assert not (await staff_facts(ports(InMemoryDocumentsFacts()), call(command, ME))).staff
    assert not (await staff_facts(ports(InMemoryDocumentsFacts()), call(command, None))).staff
    with pytest.raises(PermissionDenied):
        DOSSIER.decide(command, INITIAL, await staff_facts(ports(InMemoryDocumentsFacts()), call(command, ME)))


def test_a_dossier_not_known_yet_has_no_academy_to_check() -> None:
    command = RejectDossier(**KEY, reason="fraude")
    assert dossier_scope(command, INITIAL, Facts(now=NOW, deadline=None)) == Scope(None, CANDIDATE)
    known = INITIAL.model_copy(update={"academy": ACADEMY, "candidate_id": CANDIDATE})
    assert dossier_scope(command, known, Facts(now=NOW, deadline=None)) == Scope(ACADEMY, CANDIDATE)


# -- the requirements intake -------------------------------------------------------------------------


def test_documents_required_becomes_record_requirements_with_its_source_event() -> None:
    event = DocumentsRequired(
        registration_id="REG-1",
        candidate_id=CANDIDATE,
        academy=ACADEMY,
        session=SESSION,
        specialty=SPECIALTY,
        documents=(RequiredDocument(kind="identity", label="Pièce d'identité", rule="R-19"),),
        deadline=DEADLINE,
    )
    envelope = Envelope(
        event_id=uuid.uuid4(),
        stream_id=f"registration-{CANDIDATE}-{SESSION}-{SPECIALTY}",
        stream_version=1,
        event_type=event.event_type,
        schema_version=1,
        occurred_at=NOW,
        recorded_at=NOW,
        academy=ACADEMY,
        actor="candidate:x",
        candidate_id=str(CANDIDATE),
        correlation_id=uuid.uuid4(),
        causation_id=None,
        payload=event,
    )
    command = REQUIREMENTS_INTAKE.command(envelope)
    assert command.dossier == DossierKey(CANDIDATE, SESSION, SPECIALTY)
    assert command.source_event_id == envelope.event_id
    assert [(r.kind, r.rule) for r in command.requirements] == [("identity", "R-19")]
    assert REQUIREMENTS_INTAKE.event_type == "DocumentsRequired"


# -- the email after a staff decision ---------------------------------------------------------------


def decision(
    command: DeclareIncomplete | RejectDossier, events: tuple[DomainEvent, ...]
) -> Decision[DeclareIncomplete | RejectDossier, DossierState, Facts]:
    return Decision(call(command, STAFF), Facts(now=NOW, deadline=None, staff=True), events, INITIAL, Scope(ACADEMY))


LEA = Contact("lea@example.fr", "Léa", "Martin")


async def test_a_rejected_dossier_is_mailed_to_the_candidate_known_from_the_accounts() -> None:
    outbox = Outbox()
    command = RejectDossier(**KEY, reason="Candidature hors délai")
    await mail_decision(
        ports(InMemoryDocumentsFacts(contacts={CANDIDATE: LEA}), outbox),
        decision(command, (DossierRejected(candidate_id=CANDIDATE, reason=command.reason),)),
    )
    [mail] = outbox.messages
    assert mail["To"] == LEA.email and "rejeté" in mail["Subject"]
    assert "Bonjour Léa Martin" in mail.get_content() and "Motif : Candidature hors délai" in mail.get_content()
    assert "session 2026, SIO-SISR" in mail.get_content()


async def test_an_incomplete_dossier_lists_what_is_missing_or_wrong() -> None:
    outbox = Outbox()
    command = DeclareIncomplete(**KEY, missing=("identity",), wrong=("signed_summary",), note="Signez-le.")
    await mail_decision(ports(InMemoryDocumentsFacts(contacts={CANDIDATE: LEA}), outbox), decision(command, ()))
    content = outbox.messages[0].get_content()
    assert "pièce manquante : identity" in content and "pièce non conforme : signed_summary" in content
    assert "Signez-le." in content and "incomplet" in outbox.messages[0]["Subject"]


async def test_without_a_known_address_or_a_mail_server_nothing_fails() -> None:
    command = RejectDossier(**KEY, reason="x")
    outbox = Outbox()
    await mail_decision(ports(InMemoryDocumentsFacts(), outbox), decision(command, ()))
    assert outbox.messages == []
    await mail_decision(
        ports(InMemoryDocumentsFacts(contacts={CANDIDATE: LEA}), Outbox(fail=True)), decision(command, ())
    )
