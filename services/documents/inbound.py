"""Events the documents service consumes (its own copies of the published contract); the
accounts it must know about come from the shared known accounts read model."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared import known_accounts
from shared.events import DomainEvent, EventRegistry


class Inbound(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RequiredDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str
    label: str
    rule: str


class DocumentsRequired(Inbound):
    """archipel.registration.events"""

    event_type: ClassVar[str] = "DocumentsRequired"

    registration_id: str
    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    documents: tuple[RequiredDocument, ...]
    deadline: datetime | None


class CalendarSet(Inbound):
    """archipel.registration.events: the documents deadline of each académie and session (R-18)."""

    event_type: ClassVar[str] = "CalendarSet"

    academy: str
    session: int
    documents_deadline: datetime | None
    convocations_from: date | None = None


INBOUND = EventRegistry([DocumentsRequired, CalendarSet]).merged(known_accounts.INBOUND)
