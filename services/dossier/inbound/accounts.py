"""The dossier's copies of archipel.accounts.events: the candidate's account (its identity and activation)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from services.dossier.inbound.base import Inbound


class AccountCreated(Inbound):
    event_type: ClassVar[str] = "AccountCreated"

    account_id: UUID
    role: str
    academy: str
    last_name: str = ""  # read by the convocation feed
    first_names: str = ""
    birth_date: date | None = None


class ActivationLinkSent(Inbound):
    event_type: ClassVar[str] = "ActivationLinkSent"

    sent_at: datetime
    expires_at: datetime


class AccountActivated(Inbound):
    event_type: ClassVar[str] = "AccountActivated"

    account_id: UUID
    activated_at: datetime


# The events of an account's stream; AccountCreated and AccountActivated name the account.
EVENTS: tuple[type[Inbound], ...] = (AccountCreated, ActivationLinkSent, AccountActivated)
