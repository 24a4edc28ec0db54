"""Public events of the documents service (topic archipel.documents.events). Files never travel
in events: only their kind, SHA-256, size and type."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent, EventRegistry


class Requirement(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    label: str
    rule: str


class RequirementsRecorded(DomainEvent):
    """The documents a dossier needs, as the registration service published them (R-19 to R-25)."""

    event_type: ClassVar[str] = "RequirementsRecorded"

    registration_id: str
    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    requirements: tuple[Requirement, ...]
    deadline: datetime | None
    source_event_id: UUID


class DocumentUploaded(DomainEvent):
    event_type: ClassVar[str] = "DocumentUploaded"
    # The original file name may name the candidate: sealed (shared.personal), "" once erased.
    personal: ClassVar[dict[str, object]] = {"label": ""}

    document_id: UUID
    candidate_id: UUID
    academy: str
    kind: str
    sha256: str
    size: int
    content_type: str
    label: str  # the original file name, kept as a label only
    uploaded_at: datetime


class DocumentAccepted(DomainEvent):
    event_type: ClassVar[str] = "DocumentAccepted"

    document_id: UUID
    kind: str


class DocumentRejected(DomainEvent):
    event_type: ClassVar[str] = "DocumentRejected"

    document_id: UUID
    kind: str
    reason: str


class DossierComplete(DomainEvent):
    """Every required document is accepted."""

    event_type: ClassVar[str] = "DossierComplete"

    candidate_id: UUID
    session: int
    specialty: str


class DossierIncomplete(DomainEvent):
    """Staff declared the dossier incomplete or irregular, or the requirements grew (R-24)."""

    event_type: ClassVar[str] = "DossierIncomplete"

    candidate_id: UUID
    missing: tuple[str, ...]
    wrong: tuple[str, ...]
    note: str


class DossierRejected(DomainEvent):
    event_type: ClassVar[str] = "DossierRejected"

    candidate_id: UUID
    reason: str


REGISTRY = EventRegistry(
    [
        RequirementsRecorded,
        DocumentUploaded,
        DocumentAccepted,
        DocumentRejected,
        DossierComplete,
        DossierIncomplete,
        DossierRejected,
    ]
)
