"""Documents domain: a dossier per candidate, session and specialty (pure decide/evolve).

R-18: uploads only before the documents deadline of the session and académie, into a dossier the
candidate's registration opened: the specialty must exist (reference data) and the registration's
DocumentsRequired must have reached the dossier (RequirementsRecorded; issue 13: no dossier is made
out of an upload for a session or specialty the candidate is not registered in).
R-19 to R-25: the documents required come from the registration (RequirementsRecorded).
R-24: complete when every required document is accepted; staff may declare it incomplete or
irregular, or reject it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.documents.commands import (
    Command,
    DeclareIncomplete,
    RecordRequirements,
    RegisterUpload,
    RejectDossier,
    ReviewDocument,
)
from services.documents.quota import check_quota
from shared.clock import to_paris
from shared.contracts.documents import (
    DocumentAccepted,
    DocumentRejected,
    DocumentUploaded,
    DossierComplete,
    DossierIncomplete,
    DossierRejected,
    Requirement,
    RequirementsRecorded,
)
from shared.decider import Aggregate
from shared.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import DomainEvent

KNOWN_KINDS = frozenset(
    {
        "signed_summary",
        "identity",
        "training_certificate",
        "school_certificate_year1",
        "school_certificate_year2",
        "positionnement_decision",
        "work_certificates",
        "score_sheets",
        "exemption_proof",
        "vae_attestation",
        "r408_attestation",
        "rqth",
        "medical_certificate",
        "language_training_attestation",
        "amex_decision",
    }
)  # the kinds the registration service may require (its DocumentsRequired contract)


class Review(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Document(BaseModel):
    model_config = ConfigDict(frozen=True)

    document_id: UUID
    kind: str
    sha256: str
    size: int
    content_type: str
    label: str
    uploaded_at: datetime
    review: Review = Review.PENDING
    reason: str = ""


class DossierState(BaseModel):
    model_config = ConfigDict(frozen=True)

    candidate_id: UUID | None = None
    academy: str = ""
    session: int = 0
    specialty: str = ""
    requirements: tuple[Requirement, ...] | None = None
    deadline: datetime | None = None
    applied_sources: frozenset[UUID] = frozenset()
    documents: dict[UUID, Document] = {}
    latest: dict[str, UUID] = {}  # kind -> the document that counts
    complete: bool = False
    rejected: bool = False

    def missing(self) -> tuple[str, ...]:
        """Required kinds without an accepted document, in the requirements' order."""
        return tuple(r.kind for r in self.requirements or () if not self._accepted(r.kind))

    def _accepted(self, kind: str) -> bool:
        document_id = self.latest.get(kind)
        document = self.documents.get(document_id) if document_id else None
        return document is not None and document.review is Review.ACCEPTED

    def is_complete(self) -> bool:
        return self.requirements is not None and not self.missing()


class Facts(BaseModel):
    """What decide needs from outside the dossier's stream: the time, the calendar's documents
    deadline and the specialties of the reference data (uploads only) and whether the sender is
    rectorate staff (reviews)."""

    model_config = ConfigDict(frozen=True)

    now: datetime
    deadline: datetime | None  # the dossier's, else the calendar's documents deadline
    staff: bool = False
    specialties: frozenset[str] = frozenset()  # uploads: the reference data's (shared.reference)


INITIAL = DossierState()


def decide(command: Command, state: DossierState, facts: Facts) -> list[DomainEvent]:
    match command:
        case RecordRequirements():
            return _record(state, command)
        case RegisterUpload():
            return _upload(state, command, facts)
        case ReviewDocument():
            _staff_on(state, facts)
            return _review(state, command)
        case DeclareIncomplete():
            return _declare_incomplete(_staff_on(state, facts), command)
        case RejectDossier():
            candidate_id = _staff_on(state, facts)
            return [] if state.rejected else [DossierRejected(candidate_id=candidate_id, reason=command.reason)]
        case _:
            assert_never(command)


def _staff_on(state: DossierState, facts: Facts) -> UUID:
    """Staff decisions need staff, and a dossier: its candidate."""
    if not facts.staff:
        raise PermissionDenied("only rectorate staff review documents and dossiers")
    if state.candidate_id is None:
        raise NotFound("no dossier for this candidate, session and specialty")
    return state.candidate_id


def _declare_incomplete(candidate_id: UUID, command: DeclareIncomplete) -> list[DomainEvent]:
    unknown = sorted(set(command.missing + command.wrong) - KNOWN_KINDS)
    if unknown:
        raise InvalidInput("missing", f"unknown document kinds: {', '.join(unknown)}")
    return [
        DossierIncomplete(candidate_id=candidate_id, missing=command.missing, wrong=command.wrong, note=command.note)
    ]


def _record(state: DossierState, command: RecordRequirements) -> list[DomainEvent]:
    if command.source_event_id in state.applied_sources:
        return []  # a redelivered DocumentsRequired changes nothing
    recorded = RequirementsRecorded(
        registration_id=command.registration_id,
        candidate_id=command.candidate_id,
        academy=command.academy,
        session=command.session,
        specialty=command.specialty,
        requirements=tuple(Requirement.model_validate(r.model_dump()) for r in command.requirements),
        deadline=command.deadline,
        source_event_id=command.source_event_id,
    )
    return [recorded, *_completeness(state, evolve(state, recorded), "the documents required changed")]


def _completeness(before: DossierState, after: DossierState, note: str) -> list[DomainEvent]:
    assert after.candidate_id is not None
    if after.is_complete() and not before.complete:
        return [DossierComplete(candidate_id=after.candidate_id, session=after.session, specialty=after.specialty)]
    if before.complete and not after.is_complete():
        return [DossierIncomplete(candidate_id=after.candidate_id, missing=after.missing(), wrong=(), note=note)]
    return []


def check_upload(state: DossierState, specialty: str, session: int, kind: str, facts: Facts) -> None:
    """Every refusal that does not depend on the file: checked before a byte is read. `state` is
    the dossier of the candidate, `session` and `specialty` the upload names."""
    if specialty not in facts.specialties:
        raise InvalidInput(
            "specialty", f"not a specialty of the reference data: {', '.join(sorted(facts.specialties))}"
        )
    if state.requirements is None:
        raise RuleViolation(
            "R-18",
            f"you have no dossier for {specialty} in session {session}: documents go to the dossier your"
            " registration opened (if you have just confirmed it, try again in a moment)",
        )
    deadline = state.deadline or facts.deadline
    if deadline is None:
        raise RuleViolation("R-18", "no documents deadline is known for this session and académie yet")
    if facts.now >= deadline:
        raise RuleViolation(
            "R-18", f"documents were to be uploaded before {_paris(deadline)} (Europe/Paris); uploads are closed"
        )
    if state.rejected:
        raise RuleViolation("R-24", "this dossier was rejected; contact the rectorate")
    allowed = {r.kind for r in state.requirements}
    if kind not in allowed:
        raise InvalidInput("kind", f"{kind!r} is not a document this dossier needs: {', '.join(sorted(allowed))}")
    current = state.documents.get(state.latest[kind]) if kind in state.latest else None
    if current is not None and current.review is Review.ACCEPTED:
        raise RuleViolation("R-24", f"the {kind} document is already accepted; it cannot be replaced")
    check_quota([d.size for d in state.documents.values()], 0)


def _upload(state: DossierState, command: RegisterUpload, facts: Facts) -> list[DomainEvent]:
    check_upload(state, command.specialty, command.session, command.kind, facts)
    check_quota([d.size for d in state.documents.values()], command.size)
    return [
        DocumentUploaded(
            document_id=command.document_id,
            candidate_id=command.candidate_id,
            academy=command.academy,
            kind=command.kind,
            sha256=command.sha256,
            size=command.size,
            content_type=command.content_type,
            label=command.label,
            uploaded_at=facts.now,
        )
    ]


def _review(state: DossierState, command: ReviewDocument) -> list[DomainEvent]:
    document = state.documents.get(command.document_id)
    if document is None:
        raise NotFound("no such document in this dossier")
    if state.latest.get(document.kind) != document.document_id:
        raise RuleViolation("R-24", "this document was replaced by a newer upload: review that one")
    if document.review is not Review.PENDING:
        raise RuleViolation("R-24", f"this document is already {document.review.value}")
    if command.accept:
        accepted = DocumentAccepted(document_id=document.document_id, kind=document.kind)
        return [accepted, *_completeness(state, evolve(state, accepted), "")]
    if not command.reason.strip():
        raise InvalidInput("reason", "a rejection needs its reason, shown to the candidate")
    return [DocumentRejected(document_id=document.document_id, kind=document.kind, reason=command.reason.strip())]


def _paris(moment: datetime) -> str:
    return to_paris(moment).strftime("%d/%m/%Y %H:%M")


def evolve(state: DossierState, event: DomainEvent) -> DossierState:
    match event:
        case RequirementsRecorded():
            return state.model_copy(
                update={
                    "candidate_id": event.candidate_id,
                    "academy": event.academy,  # the registration's académie: staff of it review the dossier
                    "session": event.session,
                    "specialty": event.specialty,
                    "requirements": event.requirements,
                    "deadline": event.deadline,
                    "applied_sources": state.applied_sources | {event.source_event_id},
                }
            )
        case DocumentUploaded():
            document = Document(
                document_id=event.document_id,
                kind=event.kind,
                sha256=event.sha256,
                size=event.size,
                content_type=event.content_type,
                label=event.label,
                uploaded_at=event.uploaded_at,
            )
            return state.model_copy(
                update={
                    "candidate_id": state.candidate_id or event.candidate_id,
                    "academy": state.academy or event.academy,
                    "documents": {**state.documents, event.document_id: document},
                    "latest": {**state.latest, event.kind: event.document_id},
                }
            )
        case DocumentAccepted() | DocumentRejected():
            review = Review.ACCEPTED if isinstance(event, DocumentAccepted) else Review.REJECTED
            reason = event.reason if isinstance(event, DocumentRejected) else ""
            document = state.documents[event.document_id].model_copy(update={"review": review, "reason": reason})
            return state.model_copy(update={"documents": {**state.documents, event.document_id: document}})
        case DossierComplete():
            return state.model_copy(update={"complete": True})
        case DossierIncomplete():
            return state.model_copy(update={"complete": False})
        case DossierRejected():
            return state.model_copy(update={"rejected": True})
    return state


DOSSIER = Aggregate("dossier", INITIAL, evolve, decide)
