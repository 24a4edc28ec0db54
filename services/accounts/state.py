"""The state of an account, folded from its events (pure `evolve`), and what its deciders need
from outside its stream (services.accounts.domain decides)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.auth import Role
from shared.contracts.accounts import (
    AccountActivated,
    AccountCreated,
    AccountDeactivated,
    AccountExpired,
    ActivationLinkSent,
    CandidateForgotten,
    PasswordReset,
    PasswordResetLinkSent,
    SecondFactorEnrolled,
    SecondFactorReset,
)
from shared.events import DomainEvent

ACTIVATION_LINK_VALIDITY = timedelta(hours=48)
RESET_LINK_VALIDITY = timedelta(hours=1)


class AccountStatus(StrEnum):
    PENDING = "pending_activation"
    ACTIVE = "active"
    EXPIRED = "expired"
    DEACTIVATED = "deactivated"


# The roles an académie's administrator creates and deactivates; the others are created on the
# server (`archipel accounts bootstrap-staff`), a candidate at sign-up.
STAFF_ROLES = frozenset({Role.STAFF, Role.AUDITOR})
BOOTSTRAP_ROLES = frozenset({Role.ACADEMY_ADMIN, Role.NATIONAL_AUDITOR})


class AccountState(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: UUID | None = None
    role: Role = Role.CANDIDATE
    academy: str = ""
    email: str = ""
    first_names: str = ""
    last_name: str = ""
    status: AccountStatus | None = None
    link_digest: str | None = None
    link_expires_at: datetime | None = None
    replaced_digests: frozenset[str] = frozenset()
    used_digest: str | None = None
    reset_digest: str | None = None
    reset_expires_at: datetime | None = None
    spent_reset_digests: frozenset[str] = frozenset()  # replaced or used
    token_version: int = 0
    second_factor: bool = False  # a TOTP secret enrolled (staff, auditors, administrators)
    forgotten: bool = False  # a candidate's personal data erased (issue 13 part 7)

    @property
    def exists(self) -> bool:
        return self.account_id is not None


INITIAL = AccountState()


class AccountFacts(BaseModel):
    """What decide needs from outside the account's stream: whether the email is taken (R-05)."""

    model_config = ConfigDict(frozen=True)

    email_taken: bool = False


NO_FACTS = AccountFacts()


def evolve(state: AccountState, event: DomainEvent) -> AccountState:
    if isinstance(event, AccountCreated):
        return state.model_copy(
            update={
                "account_id": event.account_id,
                "role": event.role,
                "academy": event.academy,
                "email": event.email,
                "first_names": event.first_names,
                "last_name": event.last_name,
                "status": AccountStatus.PENDING,
            }
        )
    if isinstance(event, ActivationLinkSent):
        replaced = state.replaced_digests | ({state.link_digest} if state.link_digest else set())
        return state.model_copy(
            update={
                "link_digest": event.token_digest,
                "link_expires_at": event.expires_at,
                "replaced_digests": frozenset(replaced),
            }
        )
    if isinstance(event, AccountActivated):
        return state.model_copy(update={"status": AccountStatus.ACTIVE, "used_digest": state.link_digest})
    if isinstance(event, AccountExpired):
        return state.model_copy(update={"status": AccountStatus.EXPIRED})
    if isinstance(event, PasswordResetLinkSent):
        spent = state.spent_reset_digests | ({state.reset_digest} if state.reset_digest else set())
        return state.model_copy(
            update={
                "reset_digest": event.token_digest,
                "reset_expires_at": event.expires_at,
                "spent_reset_digests": frozenset(spent),
            }
        )
    if isinstance(event, PasswordReset):
        spent = state.spent_reset_digests | ({state.reset_digest} if state.reset_digest else set())
        return state.model_copy(
            update={
                "reset_digest": None,
                "reset_expires_at": None,
                "spent_reset_digests": frozenset(spent),
                "token_version": event.token_version,
            }
        )
    if isinstance(event, SecondFactorEnrolled):
        return state.model_copy(update={"second_factor": True})
    if isinstance(event, SecondFactorReset):
        return state.model_copy(update={"second_factor": False, "token_version": event.token_version})
    if isinstance(event, CandidateForgotten):
        return state.model_copy(update={"forgotten": True, "email": "", "first_names": "", "last_name": ""})
    if isinstance(event, AccountDeactivated):
        return state.model_copy(update={"status": AccountStatus.DEACTIVATED, "token_version": event.token_version})
    return state
