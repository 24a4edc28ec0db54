"""A realistic dossier's events, per topic, as the producers publish them (their own event models,
serialised as the relay does) and as the dossier consumer reads them back (its inbound registry).
Shared by tests/unit/test_dossier_fold.py and tests/integration/test_dossier_api.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from services.dossier.inbound import INBOUND
from shared.auth import Role
from shared.contracts import accounts, documents, registration, results
from shared.events import DomainEvent, Envelope
from shared.reference import ExamForm

SESSION = 2026
SPECIALTY = "SIO-SISR"
ACADEMY = "aix-marseille"
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
Topics = dict[str, list[Envelope]]


class Streams:
    """Envelopes numbered per stream, as the producers' stores number them."""

    def __init__(self, candidate: UUID, academy: str = ACADEMY) -> None:
        self.candidate = candidate
        self.academy = academy
        self.versions: dict[str, int] = {}
        self.clock = T0
        self.raw: dict[UUID, bytes] = {}  # event id -> the JSON the relay published

    def envelope(self, source: str, event: DomainEvent, specialty: str = SPECIALTY) -> Envelope:
        stream = (
            f"account-{self.candidate}" if source == "account" else f"{source}-{self.candidate}-{SESSION}-{specialty}"
        )
        self.versions[stream] = version = self.versions.get(stream, 0) + 1
        self.clock += timedelta(minutes=7)
        produced = Envelope(
            event_id=uuid.uuid4(),
            stream_id=stream,
            stream_version=version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=self.clock,
            recorded_at=self.clock,
            academy=self.academy,
            actor="test",
            candidate_id=str(self.candidate),
            correlation_id=uuid.uuid4(),
            causation_id=None,
            payload=event,
        )
        self.raw[produced.event_id] = produced.to_json()
        return INBOUND.decode_envelope(self.raw[produced.event_id])  # what the consumer reads


def account_events(s: Streams) -> list[Envelope]:
    created = accounts.AccountCreated(
        account_id=s.candidate,
        role=Role.CANDIDATE,
        last_name="Martin",
        first_names="Léa",
        birth_date=None,
        email="lea@example.fr",
        academy=s.academy,
    )
    sent = accounts.ActivationLinkSent(token_digest="0" * 64, sent_at=T0, expires_at=T0 + timedelta(hours=48))
    activated = accounts.AccountActivated(account_id=s.candidate, academy=s.academy, activated_at=T0)
    return [s.envelope("account", e) for e in (created, sent, activated)]


def registration_events(s: Streams, *, deadline: datetime | None = DEADLINE) -> list[Envelope]:
    key = {"candidate_id": s.candidate, "academy": s.academy, "session": SESSION, "specialty": SPECIALTY}
    rid = f"registration-{s.candidate}-{SESSION}-{SPECIALTY}"
    units = ("U1", "U2", "U3", "U4", "U5", "U6", "U7")
    return [
        s.envelope("registration", e)
        for e in (
            registration.RegistrationStarted(registration_id=rid, category=registration.Category.INDIVIDUAL, **key),
            registration.ExamFormChosen(form=ExamForm.GLOBALE, units=()),
            registration.RegistrationConfirmed(
                registration_id=rid,
                category=registration.Category.INDIVIDUAL,
                form=ExamForm.GLOBALE,
                units=units,
                optional_units=(),
                language="anglais",
                exempted_units=(),
                benefit_units=(),
                handicap=False,
                **key,
            ),
            registration.SummaryIssued(version=1, issued_at=T0),
            registration.DocumentsRequired(
                registration_id=rid,
                documents=(registration.RequiredDocument(kind="identity", label="Pièce d'identité", rule="R-19"),),
                deadline=deadline,
                **key,
            ),
        )
    ]


def documents_events(s: Streams, *, complete: bool = True) -> list[Envelope]:
    doc = uuid.uuid4()
    required = (documents.Requirement(kind="identity", label="Pièce d'identité", rule="R-19"),)
    produced: list[DomainEvent] = [
        documents.RequirementsRecorded(
            registration_id=f"registration-{s.candidate}-{SESSION}-{SPECIALTY}",
            candidate_id=s.candidate,
            academy=s.academy,
            session=SESSION,
            specialty=SPECIALTY,
            requirements=required,
            deadline=DEADLINE,
            source_event_id=uuid.uuid4(),
        ),
        documents.DocumentUploaded(
            document_id=doc,
            candidate_id=s.candidate,
            academy=s.academy,
            kind="identity",
            sha256="a" * 64,
            size=10,
            content_type="application/pdf",
            label="cni.pdf",
            uploaded_at=T0,
        ),
    ]
    if complete:
        produced += [
            documents.DocumentAccepted(document_id=doc, kind="identity"),
            documents.DossierComplete(candidate_id=s.candidate, session=SESSION, specialty=SPECIALTY),
        ]
    else:
        produced += [documents.DocumentRejected(document_id=doc, kind="identity", reason="illisible")]
    return [s.envelope("dossier", e) for e in produced]


def results_events(s: Streams) -> list[Envelope]:
    final = results.FinalResultPublished(
        candidate_id=s.candidate,
        academy=s.academy,
        session=SESSION,
        specialty=SPECIALTY,
        outcome="ADMIS",
        average=Decimal("12.5"),
        final_average=Decimal("12.5"),
    )
    noted = results.RegistrationNoted(  # a results stream's first event, naming whose it is
        candidate_id=s.candidate,
        academy=s.academy,
        session=SESSION,
        specialty=SPECIALTY,
        form=ExamForm.GLOBALE,
        units=("U1", "U2", "U3", "U4", "U5", "U6", "U7"),
        optional_units=(),
        exempted_units=(),
        benefits=(),
        source_event_id=uuid.uuid4(),
    )
    return [
        s.envelope("results", e)
        for e in (
            noted,
            results.GradesRecorded(unit="U1", grade=Decimal("12.5"), previous=None, reason=""),
            results.AbsenceRecorded(unit="U2", justified=True, previous=None, reason=""),
            final,
        )
    ]


def realistic(candidate: UUID | None = None) -> Topics:
    """One candidate's session, per topic: account 3, registration 5, documents 4, results 4 events."""
    s = Streams(candidate or uuid.uuid4())
    return {
        "accounts": account_events(s),
        "registration": registration_events(s),
        "documents": documents_events(s),
        "results": results_events(s),
    }
