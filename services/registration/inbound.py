"""Events this service consumes from other services' topics. A service never imports another
service: these are the consumer's own copies of the published contract, reading only the fields
it needs and ignoring the rest (so producers may add fields within a schema version)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import ConfigDict

from shared import known_accounts
from shared.events import DomainEvent, EventRegistry


class Inbound(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class BenefitGranted(Inbound):
    """archipel.results.events: a carried grade granted by a deliberation (R-14, R-15)."""

    event_type: ClassVar[str] = "BenefitGranted"

    candidate_id: UUID
    specialty: str
    unit: str
    grade: Decimal
    session: int
    valid_through_session: int


# The accounts' events are read by the shared KnownAccounts read model, with its own copies.
INBOUND = EventRegistry([BenefitGranted]).merged(known_accounts.INBOUND)
