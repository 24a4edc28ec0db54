"""The dossier's copies of archipel.documents.events: the documents service's stream of a candidate, session and
specialty (the documents sent and their review)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from services.dossier.inbound.base import Inbound
from services.dossier.inbound.registration import RequiredDocument


class RequirementsRecorded(Inbound):
    event_type: ClassVar[str] = "RequirementsRecorded"

    candidate_id: UUID | None = None
    session: int | None = None
    specialty: str | None = None
    requirements: tuple[RequiredDocument, ...]
    deadline: datetime | None


class DocumentUploaded(Inbound):
    event_type: ClassVar[str] = "DocumentUploaded"

    candidate_id: UUID | None = None
    document_id: UUID
    kind: str
    label: str
    uploaded_at: datetime


class DocumentAccepted(Inbound):
    event_type: ClassVar[str] = "DocumentAccepted"

    document_id: UUID
    kind: str


class DocumentRejected(Inbound):
    event_type: ClassVar[str] = "DocumentRejected"

    document_id: UUID
    kind: str
    reason: str


class DossierComplete(Inbound):
    event_type: ClassVar[str] = "DossierComplete"

    candidate_id: UUID | None = None
    session: int | None = None
    specialty: str | None = None


class DossierIncomplete(Inbound):
    event_type: ClassVar[str] = "DossierIncomplete"

    candidate_id: UUID | None = None
    missing: tuple[str, ...]
    wrong: tuple[str, ...]
    note: str


class DossierRejected(Inbound):
    event_type: ClassVar[str] = "DossierRejected"

    candidate_id: UUID | None = None
    reason: str


# The events of the documents service's stream, and those that name its session and specialty
# (RequirementsRecorded, its first event but when a document is uploaded before the requirements).
EVENTS: tuple[type[Inbound], ...] = (
    RequirementsRecorded,
    DocumentUploaded,
    DocumentAccepted,
    DocumentRejected,
    DossierComplete,
    DossierIncomplete,
    DossierRejected,
)
KEYED = frozenset({RequirementsRecorded.event_type, DossierComplete.event_type})
