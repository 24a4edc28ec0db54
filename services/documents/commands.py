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

Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class _OnDossier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    candidate_id: UUID
    session: int
    specialty: str

    @property
    def dossier(self) -> DossierKey:
        return DossierKey(self.candidate_id, self.session, self.specialty)


class RecordRequirements(_OnDossier):
    """From the registration topic's DocumentsRequired (the requirements intake sends it)."""

    registration_id: str
    academy: str
    requirements: tuple[Requirement, ...]
    deadline: datetime | None
    source_event_id: UUID


class RegisterUpload(_OnDossier):
    """A file checked by content and staged (services.documents.upload): `staged` is where it
    waits; it is moved into the blob store once the upload is decided, before the event naming it
    is appended. The path never reaches an event."""

    document_id: UUID
    academy: str
    kind: Kind
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: int
    content_type: str
    label: Annotated[str, StringConstraints(max_length=255)]
    staged: Path | None = Field(default=None, exclude=True, repr=False)


class ReviewDocument(_OnDossier):
    document_id: UUID
    accept: bool
    reason: str = ""


class DeclareIncomplete(_OnDossier):
    missing: tuple[Kind, ...] = ()
    wrong: tuple[Kind, ...] = ()
    note: Reason


class RejectDossier(_OnDossier):
    reason: Reason


Command = RecordRequirements | RegisterUpload | ReviewDocument | DeclareIncomplete | RejectDossier
