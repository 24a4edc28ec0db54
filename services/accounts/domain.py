"""Accounts domain: pure decide/evolve (DESIGN rule 1).

R-04: an account is created, then activated within 48 hours through the emailed link.
R-05: an expired or already used link is refused with the reason; a new link can be asked for
(it replaces the older ones); an existing account is never recreated.
Issue 13: a pending account whose link expired can be expired (its email is free again); a
password reset link is valid one hour, once, and replaces the older ones; a reset raises the
account's token version, so every token issued before it is refused. An académie's administrator
creates its académie's staff and auditor accounts (pending: the owner chooses the password from the
mailed link) and deactivates them (raising the token version: every token is refused at once);
administrators and national auditors are created on the server (`bootstrap-staff`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import assert_never
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.accounts.commands import (
    ActivateAccount,
    Command,
    CreateAccount,
    CreateStaff,
    DeactivateAccount,
    ExpireAccount,
    ResetPassword,
    SendActivationLink,
    SendResetLink,
)
from shared.auth import Role
from shared.clock import to_paris
from shared.contracts.accounts import (
    AccountActivated,
    AccountCreated,
    AccountDeactivated,
    AccountExpired,
    ActivationLinkSent,
    PasswordReset,
    PasswordResetLinkSent,
)
from shared.decider import Aggregate
from shared.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import DomainEvent
from shared.french import short_date_time

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

    @property
    def exists(self) -> bool:
        return self.account_id is not None


INITIAL = AccountState()


class AccountFacts(BaseModel):
    """What decide needs from outside the account's stream: whether the email is taken (R-05)."""

    model_config = ConfigDict(frozen=True)

    email_taken: bool = False


NO_FACTS = AccountFacts()


def decide(command: Command, state: AccountState, facts: AccountFacts = NO_FACTS) -> list[DomainEvent]:
    match command:
        case CreateAccount():
            return _create(state, command, facts)
        case SendActivationLink():
            return _send_link(state, command)
        case ActivateAccount():
            return _activate(state, command)
        case ExpireAccount():
            return _expire(state, command)
        case SendResetLink():
            return _send_reset_link(state, command)
        case ResetPassword():
            return _reset(state, command)
        case CreateStaff():
            return _create_staff(state, command, facts)
        case DeactivateAccount():
            return _deactivate(state, command)
        case _:
            assert_never(command)


def _create(state: AccountState, command: CreateAccount, facts: AccountFacts) -> list[DomainEvent]:
    if state.exists:
        raise RuleViolation("R-05", "this account exists already and is never recreated")
    if facts.email_taken:
        raise AlreadyExists(
            "an account exists already for this email and is reused across sessions (R-02, R-05): "
            "log in, or ask for a new activation link"
        )
    if command.role is Role.CANDIDATE:
        _check_birth_date(command.birth_date, command.now)
    created = AccountCreated(
        account_id=command.account_id,
        role=command.role,
        last_name=command.last_name,
        first_names=command.first_names,
        birth_date=command.birth_date,
        email=command.email,
        academy=command.academy,
    )
    if command.role is Role.CANDIDATE:
        if command.token_digest is None:
            return [created]
        link = SendActivationLink(account_id=command.account_id, token_digest=command.token_digest, now=command.now)
        return [created, *_send_link(evolve(state, created), link)]
    if command.role not in BOOTSTRAP_ROLES:
        raise PermissionDenied(
            f"a {command.role.value} account is created by its académie's administrator "
            "(archipel accounts create-staff)"
        )
    # Administrators and national auditors are created on the server (bootstrap), active at once.
    return [
        created,
        AccountActivated(account_id=command.account_id, academy=command.academy, activated_at=command.now),
    ]


def _create_staff(state: AccountState, command: CreateStaff, facts: AccountFacts) -> list[DomainEvent]:
    if state.exists:
        raise RuleViolation("R-05", "this account exists already and is never recreated")
    if facts.email_taken:
        raise AlreadyExists("an account exists already for this email")
    created = AccountCreated(
        account_id=command.account_id,
        role=command.role,
        last_name=command.last_name,
        first_names=command.first_names,
        birth_date=None,
        email=command.email,
        academy=command.academy,
    )
    link = SendActivationLink(account_id=command.account_id, token_digest=command.token_digest, now=command.now)
    return [created, *_send_link(evolve(state, created), link)]


def _deactivate(state: AccountState, command: DeactivateAccount) -> list[DomainEvent]:
    """An administrator (`command.by`) deactivates a staff or auditor account (the pipeline checked
    that it is of the administrator's académie); once is enough: again changes nothing."""
    if not state.exists or state.account_id is None:
        raise NotFound("no such account")
    if state.role not in STAFF_ROLES:
        raise PermissionDenied("an académie's administrator deactivates staff and auditor accounts only")
    if state.status is AccountStatus.DEACTIVATED:
        return []
    return [
        AccountDeactivated(
            account_id=state.account_id,
            deactivated_at=command.now,
            by=command.by,
            reason=command.reason,
            token_version=state.token_version + 1,
        )
    ]


def _check_birth_date(birth_date: date | None, now: datetime) -> None:
    if birth_date is None:
        raise InvalidInput("birth_date", "required for a candidate")
    today = to_paris(now).date()
    if birth_date >= today:
        raise InvalidInput("birth_date", "must be in the past")
    if birth_date.year < today.year - 120:
        raise InvalidInput("birth_date", "is more than 120 years ago")


def _send_link(state: AccountState, command: SendActivationLink) -> list[DomainEvent]:
    if not state.exists:
        raise NotFound("no such account")
    if state.status is AccountStatus.ACTIVE:
        raise RuleViolation("R-05", "this account is already activated: log in instead")
    if state.status is AccountStatus.EXPIRED:
        raise RuleViolation("R-04", "this account expired unactivated: create it again")
    return [
        ActivationLinkSent(
            token_digest=command.token_digest,
            sent_at=command.now,
            expires_at=command.now + ACTIVATION_LINK_VALIDITY,
        )
    ]


def _activate(state: AccountState, command: ActivateAccount) -> list[DomainEvent]:
    if not state.exists or state.account_id is None:
        raise NotFound("unknown activation link")
    digest = command.token_digest
    if digest == state.used_digest:
        raise RuleViolation("R-05", "this activation link was already used: the account is active, log in")
    if state.status is AccountStatus.ACTIVE:
        raise RuleViolation("R-05", "this account is already activated: log in")
    if state.status is AccountStatus.EXPIRED:
        raise RuleViolation("R-04", "this account expired unactivated: create it again")
    if digest in state.replaced_digests:
        raise RuleViolation(
            "R-05", "this activation link was replaced by a newer one: use the link of the latest email"
        )
    if digest != state.link_digest or state.link_expires_at is None:
        raise NotFound("unknown activation link")
    if command.now >= state.link_expires_at:
        expired = short_date_time(state.link_expires_at)
        raise RuleViolation(
            "R-05",
            f"this activation link expired on {expired} (Europe/Paris), 48 hours after it was sent: ask for a new link",
        )
    return [AccountActivated(account_id=state.account_id, academy=state.academy, activated_at=command.now)]


def _expire(state: AccountState, command: ExpireAccount) -> list[DomainEvent]:
    if not state.exists or state.account_id is None:
        raise NotFound("no such account")
    if state.status is not AccountStatus.PENDING:
        raise RuleViolation("R-04", "only an account pending activation expires")
    if state.link_expires_at is not None and command.now < state.link_expires_at:
        raise RuleViolation("R-04", "this account's activation link is still valid")
    return [AccountExpired(account_id=state.account_id, expired_at=command.now)]


def _send_reset_link(state: AccountState, command: SendResetLink) -> list[DomainEvent]:
    if not state.exists:
        raise NotFound("no such account")
    if state.status is not AccountStatus.ACTIVE:
        raise RuleViolation("R-04", "only an active account resets its password: activate it first")
    expires_at = command.now + RESET_LINK_VALIDITY
    return [PasswordResetLinkSent(token_digest=command.token_digest, sent_at=command.now, expires_at=expires_at)]


def _reset(state: AccountState, command: ResetPassword) -> list[DomainEvent]:
    if not state.exists or state.account_id is None:
        raise NotFound("unknown password reset link")
    digest = command.token_digest
    if digest in state.spent_reset_digests:
        raise RuleViolation(
            "R-05", "this password reset link was already used or replaced by a newer one: ask for a new link"
        )
    if digest != state.reset_digest or state.reset_expires_at is None:
        raise NotFound("unknown password reset link")
    if command.now >= state.reset_expires_at:
        expired = short_date_time(state.reset_expires_at)
        raise RuleViolation(
            "R-05", f"this password reset link expired on {expired} (Europe/Paris), one hour after it was sent"
        )
    return [PasswordReset(account_id=state.account_id, reset_at=command.now, token_version=state.token_version + 1)]


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
    if isinstance(event, AccountDeactivated):
        return state.model_copy(update={"status": AccountStatus.DEACTIVATED, "token_version": event.token_version})
    return state


ACCOUNT = Aggregate("account", INITIAL, evolve, decide)
