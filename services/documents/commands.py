"""Commands of the documents service. Each names its dossier (candidate, session, specialty),
which tells the pipeline the stream it goes to (services.documents.streams)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.documents.streams import DossierKey
from shared.contracts.documents import Requirement

# Every string and list a command carries is bounded here, once (issue 13): a command over a bound
# is refused at the gRPC edge with INVALID_ARGUMENT naming the field, and no event can outgrow a
# Kafka record. tests/unit/test_command_bounds.py walks every command and fails on an unbounded one.
Kind = Annotated[str, StringConstraints(max_length=41, pattern=r"^[a-z][a-z0-9_]{1,40}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
OptionalReason = Annotated[str, StringConstraints(max_length=500)]
Academy = Annotated[str, StringConstraints(max_length=60)]
Specialty = Annotated[str, StringConstraints(min_length=1, max_length=60)]
Session = Annotated[int, Field(ge=2000, le=2100)]
MAX_KINDS = 50  # more than every kind a dossier may need (services.documents.domain.KNOWN_KINDS)
MAX_FILE_BYTES = 1024 * 1024 * 1024  # a ceiling above any configured upload limit (settings.upload_max_bytes)


class RequirementInput(Requirement):
    """A required document as a command carries it: the contract's Requirement, bounded (it is
    built from the registration topic's DocumentsRequired, whose kinds and labels are reference data)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    kind: Kind
    label: Annotated[str, StringConstraints(max_length=300)]
    rule: Annotated[str, StringConstraints(max_length=40)]


class _OnDossier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    candidate_id: UUID
    session: Session
    specialty: Specialty

    @property
    def dossier(self) -> DossierKey:
        return DossierKey(self.candidate_id, self.session, self.specialty)


class DossierAddress(_OnDossier):
    """The dossier an upload names, checked against the bounds before anything is read."""


class RecordRequirements(_OnDossier):
    """From the registration topic's DocumentsRequired (the requirements intake sends it)."""

    registration_id: Annotated[str, StringConstraints(max_length=200)]
    academy: Academy
    requirements: tuple[RequirementInput, ...] = Field(max_length=MAX_KINDS)
    deadline: datetime | None
    source_event_id: UUID


class RegisterUpload(_OnDossier):
    """A file checked by content and staged (services.documents.upload): `staged` is where it
    waits; it is moved into the blob store once the upload is decided, before the event naming it
    is appended. The path never reaches an event."""

    document_id: UUID
    academy: Academy
    kind: Kind
    sha256: Annotated[str, StringConstraints(max_length=64, pattern=r"^[0-9a-f]{64}$")]
    size: int = Field(ge=1, le=MAX_FILE_BYTES)
    content_type: Annotated[str, StringConstraints(max_length=100)]
    label: Annotated[str, StringConstraints(max_length=255)]
    staged: Path | None = Field(default=None, exclude=True, repr=False)


class ReviewDocument(_OnDossier):
    document_id: UUID
    accept: bool
    reason: OptionalReason = ""


class DeclareIncomplete(_OnDossier):
    missing: tuple[Kind, ...] = Field(default=(), max_length=MAX_KINDS)
    wrong: tuple[Kind, ...] = Field(default=(), max_length=MAX_KINDS)
    note: Reason


class RejectDossier(_OnDossier):
    reason: Reason


Command = RecordRequirements | RegisterUpload | ReviewDocument | DeclareIncomplete | RejectDossier
