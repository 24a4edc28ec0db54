"""Accounts domain: pure decide/evolve (DESIGN rule 1): the candidates' accounts
(services.accounts.domain.candidates), staff, auditors and administrators
(services.accounts.domain.staff); the state and evolve in services.accounts.state.
"""

from __future__ import annotations

from typing import assert_never

from services.accounts.commands import (
    ActivateAccount,
    Command,
    CreateAccount,
    CreateStaff,
    DeactivateAccount,
    EnrolSecondFactor,
    ExpireAccount,
    ForgetCandidate,
    ResetPassword,
    ResetSecondFactor,
    SendActivationLink,
    SendResetLink,
)
from services.accounts.domain.candidates import (
    activate,
    create,
    expire,
    forget,
    reset,
    send_link,
    send_reset_link,
)
from services.accounts.domain.staff import create_staff, deactivate, enrol, reset_second_factor
from services.accounts.state import (
    ACTIVATION_LINK_VALIDITY,
    BOOTSTRAP_ROLES,
    INITIAL,
    NO_FACTS,
    RESET_LINK_VALIDITY,
    STAFF_ROLES,
    AccountFacts,
    AccountState,
    AccountStatus,
    evolve,
)
from shared.decider import Aggregate
from shared.events import DomainEvent


def decide(command: Command, state: AccountState, facts: AccountFacts = NO_FACTS) -> list[DomainEvent]:
    match command:
        case CreateAccount():
            return create(state, command, facts)
        case SendActivationLink():
            return send_link(state, command)
        case ActivateAccount():
            return activate(state, command)
        case ExpireAccount():
            return expire(state, command)
        case SendResetLink():
            return send_reset_link(state, command)
        case ResetPassword():
            return reset(state, command)
        case CreateStaff():
            return create_staff(state, command, facts)
        case DeactivateAccount():
            return deactivate(state, command)
        case EnrolSecondFactor():
            return enrol(state, command)
        case ResetSecondFactor():
            return reset_second_factor(state, command)
        case ForgetCandidate():
            return forget(state, command)
        case _:
            assert_never(command)


ACCOUNT = Aggregate("account", INITIAL, evolve, decide)

__all__ = [
    "ACCOUNT",
    "ACTIVATION_LINK_VALIDITY",
    "BOOTSTRAP_ROLES",
    "INITIAL",
    "NO_FACTS",
    "RESET_LINK_VALIDITY",
    "STAFF_ROLES",
    "AccountFacts",
    "AccountState",
    "AccountStatus",
    "decide",
    "evolve",
]
