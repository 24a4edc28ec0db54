"""Staff, auditor and administrator accounts, pure decisions (issue 13 part 5; services.accounts.domain
decides). An académie's administrator creates its académie's staff and auditor accounts (pending:
the owner chooses the password from the mailed link), deactivates them (raising the token version:
every token is refused at once) and resets their lost second factor (raising it too; the next login
enrols a new one); the server resets an administrator's or a national auditor's.
"""

from __future__ import annotations

from services.accounts.commands import (
    CreateStaff,
    DeactivateAccount,
    EnrolSecondFactor,
    ResetSecondFactor,
    SendActivationLink,
)
from services.accounts.domain.candidates import send_link
from services.accounts.state import (
    BOOTSTRAP_ROLES,
    STAFF_ROLES,
    AccountFacts,
    AccountState,
    AccountStatus,
    evolve,
)
from shared.auth import SECOND_FACTOR_ROLES
from shared.contracts.accounts import (
    AccountCreated,
    AccountDeactivated,
    SecondFactorEnrolled,
    SecondFactorReset,
)
from shared.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import DomainEvent


def create_staff(state: AccountState, command: CreateStaff, facts: AccountFacts) -> list[DomainEvent]:
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
    return [created, *send_link(evolve(state, created), link)]


def deactivate(state: AccountState, command: DeactivateAccount) -> list[DomainEvent]:
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


def enrol(state: AccountState, command: EnrolSecondFactor) -> list[DomainEvent]:
    if not state.exists or state.account_id is None or state.status is not AccountStatus.ACTIVE:
        raise NotFound("no such active account")
    if state.role not in SECOND_FACTOR_ROLES:
        raise PermissionDenied("a candidate's account has no second factor")
    if state.second_factor:
        raise AlreadyExists("a second factor is enrolled already for this account")
    return [SecondFactorEnrolled(account_id=state.account_id, enrolled_at=command.now)]


def reset_second_factor(state: AccountState, command: ResetSecondFactor) -> list[DomainEvent]:
    """An administrator (`command.by`) resets the second factor of a staff or auditor account (the
    pipeline checked that it is of the administrator's académie); the server resets an
    administrator's or a national auditor's too (`command.on_server`)."""
    if not state.exists or state.account_id is None:
        raise NotFound("no such account")
    if state.role not in (STAFF_ROLES | BOOTSTRAP_ROLES if command.on_server else STAFF_ROLES):
        raise PermissionDenied(
            "an académie's administrator resets the second factor of staff and auditor accounts only"
            " (an administrator's or a national auditor's is reset on the server)"
        )
    if state.status is not AccountStatus.ACTIVE:
        raise InvalidInput("account_id", "not an active account: only an active account's second factor is reset")
    if not state.second_factor:
        raise InvalidInput("account_id", "no second factor enrolled: the account's next login leads to enrolling one")
    return [
        SecondFactorReset(
            account_id=state.account_id,
            reset_at=command.now,
            by=command.by,
            reason=command.reason,
            token_version=state.token_version + 1,
        )
    ]
