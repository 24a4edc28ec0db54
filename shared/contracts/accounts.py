"""Public events of the accounts service (topic archipel.accounts.events). Passwords and
activation tokens never appear here: only a token's SHA-256 digest does."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from shared.auth import Role
from shared.events import DomainEvent, EventRegistry


class AccountCreated(DomainEvent):
    event_type: ClassVar[str] = "AccountCreated"

    account_id: UUID
    role: Role
    last_name: str
    first_names: str
    birth_date: date | None
    email: str
    academy: str


class ActivationLinkSent(DomainEvent):
    event_type: ClassVar[str] = "ActivationLinkSent"

    token_digest: str
    sent_at: datetime
    expires_at: datetime


class AccountActivated(DomainEvent):
    event_type: ClassVar[str] = "AccountActivated"

    account_id: UUID
    academy: str
    activated_at: datetime


REGISTRY = EventRegistry([AccountCreated, ActivationLinkSent, AccountActivated])
