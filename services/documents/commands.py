"""Commands of the documents service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.documents.events import Requirement

Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RecordRequirements(Command):
    """From the registration topic's DocumentsRequired (a consumer turns it into this command)."""

    registration_id: str
    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    requirements: tuple[Requirement, ...]
    deadline: datetime | None
    source_event_id: UUID


class RegisterUpload(Command):
    document_id: UUID
    candidate_id: UUID
    academy: str
    kind: Kind
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: int
    content_type: str
    label: Annotated[str, StringConstraints(max_length=255)]


class ReviewDocument(Command):
    document_id: UUID
    accept: bool
    reason: str = ""


class DeclareIncomplete(Command):
    missing: tuple[Kind, ...] = ()
    wrong: tuple[Kind, ...] = ()
    note: Reason


class RejectDossier(Command):
    reason: Reason
