"""A lost second factor reset by the académie's administrator (issue 13), and the sealing of the
TOTP secrets at rest (shared.kek): "given events, when command, then events (or this error)"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from pydantic import ValidationError

from services.accounts.commands import ResetSecondFactor
from services.accounts.domain import ACCOUNT, decide
from shared.auth import Role
from shared.contracts.accounts import (
    AccountActivated,
    AccountCreated,
    AccountDeactivated,
    PasswordReset,
    SecondFactorEnrolled,
    SecondFactorReset,
)
from shared.decider import replay
from shared.errors import InvalidInput, NotFound, PermissionDenied
from shared.events import DomainEvent
from shared.kek import Sealer, Unsealable

ACCOUNT_ID = UUID("6f1c2a3e-0000-4000-8000-0000000000c1")
ADMIN_ID = "6f1c2a3e-0000-4000-8000-0000000000a1"
T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=3)


def account(role: Role = Role.STAFF, *, enrolled: bool = True) -> list[DomainEvent]:
    events: list[DomainEvent] = [
        AccountCreated(
            account_id=ACCOUNT_ID, role=role, last_name="A", first_names="B", birth_date=None,
            email="a@b.fr", academy="lyon",
        ),
        AccountActivated(account_id=ACCOUNT_ID, academy="lyon", activated_at=T0),
    ]  # fmt: skip
    if enrolled:
        events.append(SecondFactorEnrolled(account_id=ACCOUNT_ID, enrolled_at=T0))
    return events


def reset(reason: str = "téléphone perdu") -> ResetSecondFactor:
    return ResetSecondFactor(account_id=ACCOUNT_ID, by=ADMIN_ID, reason=reason, now=LATER)


@pytest.mark.parametrize("role", [Role.STAFF, Role.AUDITOR])
def test_given_an_enrolled_staff_when_reset_then_its_factor_is_gone_and_its_sessions_end(role: Role) -> None:
    given = [*account(role), PasswordReset(account_id=ACCOUNT_ID, reset_at=T0, token_version=1)]
    events = decide(reset(), replay(ACCOUNT, given))
    assert events == [
        SecondFactorReset(account_id=ACCOUNT_ID, reset_at=LATER, by=ADMIN_ID, reason="téléphone perdu", token_version=2)
    ]
    state = replay(ACCOUNT, [*given, *events])
    assert not state.second_factor and state.token_version == 2
    # Then it enrols again, and may be reset again.
    again = replay(ACCOUNT, [*given, *events, SecondFactorEnrolled(account_id=ACCOUNT_ID, enrolled_at=LATER)])
    assert decide(reset(), again)[0].token_version == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", [Role.ACADEMY_ADMIN, Role.NATIONAL_AUDITOR, Role.CANDIDATE])
def test_given_an_account_not_staff_when_reset_then_permission_denied(role: Role) -> None:
    with pytest.raises(PermissionDenied):
        decide(reset(), replay(ACCOUNT, account(role)))


@pytest.mark.parametrize("role", [Role.ACADEMY_ADMIN, Role.NATIONAL_AUDITOR])
def test_given_an_enrolled_administrator_when_reset_on_the_server_then_its_factor_is_gone(role: Role) -> None:
    on_server = reset().model_copy(update={"on_server": True, "by": "server:dpo"})
    assert decide(on_server, replay(ACCOUNT, account(role))) == [
        SecondFactorReset(
            account_id=ACCOUNT_ID, reset_at=LATER, by="server:dpo", reason="téléphone perdu", token_version=1
        )
    ]


def test_a_candidate_has_no_second_factor_to_reset_even_on_the_server() -> None:
    on_server = reset().model_copy(update={"on_server": True})
    with pytest.raises(PermissionDenied):
        decide(on_server, replay(ACCOUNT, account(Role.CANDIDATE, enrolled=False)))


def test_given_no_account_when_reset_then_not_found() -> None:
    with pytest.raises(NotFound):
        decide(reset(), replay(ACCOUNT, []))


def test_given_no_factor_or_a_deactivated_account_when_reset_then_refused_naming_the_account() -> None:
    with pytest.raises(InvalidInput, match="account_id"):
        decide(reset(), replay(ACCOUNT, account(enrolled=False)))
    deactivated = AccountDeactivated(account_id=ACCOUNT_ID, deactivated_at=T0, by=ADMIN_ID, reason="x", token_version=1)
    with pytest.raises(InvalidInput, match="account_id"):
        decide(reset(), replay(ACCOUNT, [*account(), deactivated]))


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_reset_needs_a_bounded_reason(reason: str) -> None:
    with pytest.raises(ValidationError, match="reason"):
        reset(reason)


def test_a_sealed_secret_opens_only_under_its_key_and_for_its_own_context() -> None:
    sealer = Sealer(b"k" * 32)
    sealed = sealer.seal("archipel-totp:a", b"JBSWY3DPEHPK3PXP")
    assert b"JBSWY3DPEHPK3PXP" not in sealed
    assert sealer.open("archipel-totp:a", sealed) == b"JBSWY3DPEHPK3PXP"
    assert sealer.seal("archipel-totp:a", b"JBSWY3DPEHPK3PXP") != sealed  # a fresh nonce each time
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for context, value, key in [
        ("archipel-totp:b", sealed, b"k" * 32),  # moved to another account
        ("archipel-totp:a", tampered, b"k" * 32),  # altered
        ("archipel-totp:a", sealed, b"o" * 32),  # another key
        ("archipel-totp:a", b"short", b"k" * 32),
    ]:
        with pytest.raises(Unsealable):
            Sealer(key).open(context, value)
