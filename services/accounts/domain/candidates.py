"""A candidate's account, pure decisions (services.accounts.domain decides).

R-04: an account is created, then activated within 48 hours through the emailed link.
R-05: an expired or already used link is refused with the reason; a new link can be asked for
(it replaces the older ones); an existing account is never recreated.
Issue 13: a pending account whose link expired can be expired (its email is free again); a
password reset link is valid one hour, once, and replaces the older ones; a reset raises the
account's token version, so every token issued before it is refused; a candidate is forgotten once
(part 7). Administrators and national auditors are created on the server (`bootstrap-staff`) by
`create` too.
"""

from __future__ import annotations

from datetime import date, datetime

from services.accounts.commands import (
    ActivateAccount,
    CreateAccount,
    ExpireAccount,
    ForgetCandidate,
    ResetPassword,
    SendActivationLink,
    SendResetLink,
)
from services.accounts.state import (
    ACTIVATION_LINK_VALIDITY,
    BOOTSTRAP_ROLES,
    RESET_LINK_VALIDITY,
    AccountFacts,
    AccountState,
    AccountStatus,
    evolve,
)
from shared.auth import Role
from shared.clock import to_paris
from shared.contracts.accounts import (
    AccountActivated,
    AccountCreated,
    AccountExpired,
    ActivationLinkSent,
    CandidateForgotten,
    PasswordReset,
    PasswordResetLinkSent,
)
from shared.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import DomainEvent
from shared.french import short_date_time


def create(state: AccountState, command: CreateAccount, facts: AccountFacts) -> list[DomainEvent]:
    if state.exists:
        raise RuleViolation("R-05", "this account exists already and is never recreated")
    if facts.email_taken:
        raise AlreadyExists(
            "an account exists already for this email and is reused across sessions (R-02, R-05): "
            "log in, or ask for a new activation link"
        )
    if command.role is Role.CANDIDATE:
        check_birth_date(command.birth_date, command.now)
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
        return [created, *send_link(evolve(state, created), link)]
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


def check_birth_date(birth_date: date | None, now: datetime) -> None:
    if birth_date is None:
        raise InvalidInput("birth_date", "required for a candidate")
    today = to_paris(now).date()
    if birth_date >= today:
        raise InvalidInput("birth_date", "must be in the past")
    if birth_date.year < today.year - 120:
        raise InvalidInput("birth_date", "is more than 120 years ago")


def send_link(state: AccountState, command: SendActivationLink) -> list[DomainEvent]:
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


def activate(state: AccountState, command: ActivateAccount) -> list[DomainEvent]:
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


def expire(state: AccountState, command: ExpireAccount) -> list[DomainEvent]:
    if not state.exists or state.account_id is None:
        raise NotFound("no such account")
    if state.status is not AccountStatus.PENDING:
        raise RuleViolation("R-04", "only an account pending activation expires")
    if state.link_expires_at is not None and command.now < state.link_expires_at:
        raise RuleViolation("R-04", "this account's activation link is still valid")
    return [AccountExpired(account_id=state.account_id, expired_at=command.now)]


def send_reset_link(state: AccountState, command: SendResetLink) -> list[DomainEvent]:
    if not state.exists:
        raise NotFound("no such account")
    if state.status is not AccountStatus.ACTIVE:
        raise RuleViolation("R-04", "only an active account resets its password: activate it first")
    expires_at = command.now + RESET_LINK_VALIDITY
    return [PasswordResetLinkSent(token_digest=command.token_digest, sent_at=command.now, expires_at=expires_at)]


def reset(state: AccountState, command: ResetPassword) -> list[DomainEvent]:
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


def forget(state: AccountState, command: ForgetCandidate) -> list[DomainEvent]:
    """A candidate's account is forgotten once (issue 13 part 7); again changes nothing, so that a
    forget stopped before its key was destroyed can be run again. Staff accounts are not erased
    this way: they are deactivated."""
    if not state.exists or state.role is not Role.CANDIDATE:
        raise NotFound("no candidate account has this id")
    if state.forgotten:
        return []
    return [CandidateForgotten(candidate_id=command.account_id, reason=command.reason, forgotten_at=command.now)]
