"""Public events of the accounts service (topic archipel.accounts.events). Passwords and
activation tokens never appear here: only a token's SHA-256 digest does."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from shared.auth import Role
from shared.events import DomainEvent, EventRegistry


class AccountCreated(DomainEvent):
    """An account was created: a candidate's at sign-up, staff's and auditors' by their académie's
    administrator, administrators' and national auditors' on the server. Version 2: `role` may be
    `national_auditor` (issue 13 part 8); version 3: `role` may be `academy_admin` (issue 13 part 5).
    A version-1 payload reads as a version-2 one, a version-2 one as a version-3 one."""

    event_type: ClassVar[str] = "AccountCreated"
    schema_version: ClassVar[int] = 3

    # Sealed under the candidate's data key (shared.personal); read as these once it is destroyed.
    personal: ClassVar[dict[str, object]] = {"last_name": "", "first_names": "", "birth_date": None, "email": ""}

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


class AccountExpired(DomainEvent):
    """A pending account whose activation link expired (R-04): its email is free again."""

    event_type: ClassVar[str] = "AccountExpired"

    account_id: UUID
    expired_at: datetime


class PasswordResetLinkSent(DomainEvent):
    """A password reset link was mailed: only its SHA-256 digest is recorded; it replaces the older ones."""

    event_type: ClassVar[str] = "PasswordResetLinkSent"

    token_digest: str
    sent_at: datetime
    expires_at: datetime


class PasswordReset(DomainEvent):
    """The password was replaced through a reset link; every token issued before (an older
    `token_version`) is refused from then on."""

    event_type: ClassVar[str] = "PasswordReset"

    account_id: UUID
    reset_at: datetime
    token_version: int


class AccountDeactivated(DomainEvent):
    """A staff or auditor account was deactivated by its académie's administrator (`by`, an
    account id), for `reason`: its `token_version` is raised, so every token issued before is
    refused by every service, and it cannot log in any more."""

    event_type: ClassVar[str] = "AccountDeactivated"

    account_id: UUID
    deactivated_at: datetime
    by: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    token_version: int


class SecondFactorEnrolled(DomainEvent):
    """A staff, auditor or administrator account enrolled its second factor (TOTP, RFC 6238): from
    now on its login takes a code. The secret never appears in an event: it is in the accounts
    service's private table, written in this event's transaction."""

    event_type: ClassVar[str] = "SecondFactorEnrolled"

    account_id: UUID
    enrolled_at: datetime
    method: str = Field(default="totp", max_length=20)


class SecondFactorReset(DomainEvent):
    """An académie's administrator (`by`, an account id) reset the second factor of a staff or
    auditor account of its académie (a lost phone), for `reason`: the secret is deleted in this
    event's transaction, never written here; `token_version` is raised, so every session of the
    account ends, and its next login gets a token restricted to enrolling a new one."""

    event_type: ClassVar[str] = "SecondFactorReset"

    account_id: UUID
    reset_at: datetime
    by: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    token_version: int


def with_upcasters(registry: EventRegistry) -> EventRegistry:
    """`registry` (this one, or a consumer's subset of it) reading the older schema versions."""
    registry.register_upcaster("AccountCreated", 1, dict)  # v2 only adds a role: a v1 payload is a v2 one
    registry.register_upcaster("AccountCreated", 2, dict)  # v3 only adds a role: a v2 payload is a v3 one
    return registry


REGISTRY = with_upcasters(
    EventRegistry(
        [
            AccountCreated,
            ActivationLinkSent,
            AccountActivated,
            AccountExpired,
            PasswordResetLinkSent,
            PasswordReset,
            AccountDeactivated,
            SecondFactorEnrolled,
            SecondFactorReset,
        ]
    )
)


class CandidateForgotten(DomainEvent):
    """A candidate's personal data was erased (`archipel privacy forget`, issue 13 part 7): the data
    key that sealed it is destroyed, so every event of the candidate reads with its personal fields
    erased; the read models write those erased values. The operator is the envelope's actor."""

    event_type: ClassVar[str] = "CandidateForgotten"

    candidate_id: UUID
    reason: str
    forgotten_at: datetime


REGISTRY.register(CandidateForgotten)
