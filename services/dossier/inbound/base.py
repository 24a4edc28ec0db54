"""The base of the dossier's copies of other services' published events: extra fields are
ignored, so a producer may add fields without breaking this consumer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent


class Inbound(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Part(BaseModel):
    """A value nested in an inbound event."""

    model_config = ConfigDict(frozen=True, extra="ignore")
