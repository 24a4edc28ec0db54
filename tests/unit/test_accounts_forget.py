"""A candidate forgotten (issue 13 part 7), pure decide/evolve: "given events, when ForgetCandidate,
then events (or this error)". The key's destruction and the private rows are the integration
tests' (tests/integration/test_personal_data.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest
from pydantic import ValidationError

from services.accounts.commands import ForgetCandidate
from services.accounts.domain import ACCOUNT, decide
from services.accounts.service import COMMANDS
from shared.auth import Role
from shared.contracts.accounts import AccountActivated, AccountCreated, CandidateForgotten
from shared.decider import replay
from shared.errors import NotFound
from shared.events import DomainEvent

CANDIDATE = UUID("0b5e1c3d-0000-4000-8000-00000000f0f0")
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def created(role: Role = Role.CANDIDATE) -> list[DomainEvent]:
    return [
        AccountCreated(
            account_id=CANDIDATE,
            role=role,
            last_name="Durand",
            first_names="Marie",
            birth_date=date(2001, 4, 2) if role is Role.CANDIDATE else None,
            email="marie@example.org",
            academy="aix-marseille",
        ),
        AccountActivated(account_id=CANDIDATE, academy="aix-marseille", activated_at=T0),
    ]


def forget(reason: str = "demande RGPD") -> ForgetCandidate:
    return ForgetCandidate(account_id=CANDIDATE, reason=reason, now=T0)


def test_given_a_candidate_when_forgotten_then_candidate_forgotten_with_the_reason() -> None:
    state = replay(ACCOUNT, created())
    assert decide(forget(), state) == [
        CandidateForgotten(candidate_id=CANDIDATE, reason="demande RGPD", forgotten_at=T0)
    ]


def test_given_a_forgotten_candidate_when_forgotten_again_then_nothing_and_its_state_holds_no_identity() -> None:
    state = replay(ACCOUNT, [*created(), *decide(forget(), replay(ACCOUNT, created()))])
    assert state.forgotten and (state.email, state.first_names, state.last_name) == ("", "", "")
    assert decide(forget("encore"), state) == []


@pytest.mark.parametrize(
    "events", [[], created(Role.STAFF), created(Role.ACADEMY_ADMIN)], ids=["none", "staff", "admin"]
)
def test_only_a_candidates_account_is_forgotten(events: list[DomainEvent]) -> None:
    with pytest.raises(NotFound, match="no candidate account"):
        decide(forget(), replay(ACCOUNT, events))


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_forget_needs_a_bounded_reason(reason: str) -> None:
    with pytest.raises(ValidationError, match="reason"):
        forget(reason)


def test_no_principal_may_send_it_it_runs_on_the_server_only() -> None:
    (spec,) = [s for s in COMMANDS if s.command is ForgetCandidate]
    assert spec.roles == frozenset() and spec.writes is not None
