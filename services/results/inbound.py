"""Events the results service consumes (its own copies of the published contract); the accounts it
must know about (the candidates' names on the score sheet) come from the shared known accounts read
model."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared import known_accounts
from shared.events import DomainEvent, EventRegistry


class Inbound(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ConfirmedBenefit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    unit: str
    grade: Decimal
    session_obtained: int


class RegistrationConfirmed(Inbound):
    """archipel.registration.events: the form, the units sat, exemptions and kept bénéfices."""

    event_type: ClassVar[str] = "RegistrationConfirmed"

    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    form: str
    units: tuple[str, ...]
    optional_units: tuple[str, ...]
    exempted_units: tuple[str, ...]
    benefits: tuple[ConfirmedBenefit, ...] = ()


INBOUND = EventRegistry([RegistrationConfirmed]).merged(known_accounts.INBOUND)
