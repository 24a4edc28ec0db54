"""Events this service consumes from other services' topics. A service never imports another
service: these are the consumer's own copies of the published contract, reading only the fields
it needs and ignoring the rest (so producers may add fields within a schema version)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import ConfigDict

from shared.events import DomainEvent, EventRegistry


class Inbound(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AccountCreated(Inbound):
    """archipel.accounts.events"""

    event_type: ClassVar[str] = "AccountCreated"

    account_id: UUID
    role: str
    last_name: str
    first_names: str
    birth_date: date | None
    email: str
    academy: str


class AccountActivated(Inbound):
    event_type: ClassVar[str] = "AccountActivated"

    account_id: UUID
    academy: str
    activated_at: datetime


class BenefitGranted(Inbound):
    """archipel.results.events: a carried grade granted by a deliberation (R-14, R-15)."""

    event_type: ClassVar[str] = "BenefitGranted"

    candidate_id: UUID
    specialty: str
    unit: str
    grade: Decimal
    session: int
    valid_through_session: int


INBOUND = EventRegistry([AccountCreated, AccountActivated, BenefitGranted])
