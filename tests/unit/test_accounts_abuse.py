"""Accounts that resist abuse, the pure parts (issue 13 part 5): the bound on argon2 computations
at once (a hasher double counts who is inside), the dummy verification, the rate limits' windows
and keys over the in-memory counter, and the expiry and password reset decisions."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.accounts.commands import ExpireAccount, ResetPassword, SendResetLink
from services.accounts.domain import ACCOUNT, NO_FACTS, RESET_LINK_VALIDITY, AccountStatus, decide
from services.accounts.facts import InMemoryAttemptCounter
from services.accounts.limits import LIMITS, Action, Limit, Limits, check, client_address
from services.accounts.passwords import Passwords
from shared.auth import Role
from shared.contracts.accounts import (
    AccountActivated,
    AccountCreated,
    AccountExpired,
    ActivationLinkSent,
    PasswordReset,
    PasswordResetLinkSent,
)
from shared.decider import replay
from shared.errors import RateLimited, RuleViolation

ID = UUID("6f1c2a3e-0000-4000-8000-000000000002")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
D1, D2 = "1" * 64, "2" * 64


class BlockingHasher:
    """A hasher double: each call waits for `release` and records how many calls are inside."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.calls = 0

    def _enter(self) -> None:
        with self.lock:
            self.inside += 1
            self.calls += 1
            self.most = max(self.most, self.inside)
        self.release.wait(timeout=10)
        with self.lock:
            self.inside -= 1

    def hash(self, password: str) -> str:
        self._enter()
        return f"hashed:{password}"

    def verify(self, hash: str, password: str) -> bool:
        self._enter()
        return hash == f"hashed:{password}"


async def test_no_more_than_the_bound_of_argon2_computations_run_at_once() -> None:
    hasher = BlockingHasher()
    passwords = Passwords(hasher, at_once=4)
    storm = [asyncio.create_task(passwords.verify("hashed:x", "x")) for _ in range(12)]
    while hasher.inside < 4:  # noqa: ASYNC110 (the count is kept by worker threads)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # time for more to enter, were the bound missing
    assert (hasher.inside, hasher.calls) == (4, 4)
    hasher.release.set()
    assert await asyncio.gather(*storm) == [True] * 12
    assert (hasher.most, hasher.calls) == (4, 12)


async def test_without_a_hash_a_dummy_one_is_verified_and_the_answer_is_no() -> None:
    hasher = BlockingHasher()
    hasher.release.set()
    passwords = Passwords(hasher)
    assert await passwords.verify(None, "anything") is False
    assert hasher.calls == 2  # the dummy hash made once, then verified
    assert await passwords.verify(None, "anything") is False
    assert hasher.calls == 3  # every unknown email costs one verification, as a known one does


async def test_the_eleventh_attempt_in_a_window_is_refused_with_the_seconds_left() -> None:
    counter = InMemoryAttemptCounter()
    at = T0 + timedelta(seconds=15)
    for _ in range(10):
        await check(counter, LIMITS, Action.LOGIN, email="a@b.fr", client="ipv4:10.0.0.1", now=at)
    with pytest.raises(RateLimited) as caught:
        await check(counter, LIMITS, Action.LOGIN, email=" A@B.fr ", client="ipv4:10.0.0.2", now=at)
    assert caught.value.retry_after == 45
    assert "retry after 45 s" in caught.value.message
    await check(counter, LIMITS, Action.LOGIN, email="c@b.fr", client="ipv4:10.0.0.1", now=at)  # other email
    await check(counter, LIMITS, Action.LOGIN, email="a@b.fr", client="ipv4:10.0.0.1", now=T0 + timedelta(minutes=1))
    assert not [key for (_, key, _) in counter.attempts if "a@b.fr" in key]  # emails counted by digest


async def test_a_client_address_is_limited_whatever_the_emails() -> None:
    counter = InMemoryAttemptCounter()
    limits = {Action.RESET: Limits(per_email=Limit(100, timedelta(hours=1)), per_client=Limit(3, timedelta(minutes=1)))}
    for index in range(3):
        await check(counter, limits, Action.RESET, email=f"{index}@b.fr", client="ipv4:10.0.0.9", now=T0)
    with pytest.raises(RateLimited):
        await check(counter, limits, Action.RESET, email="x@b.fr", client="ipv4:10.0.0.9", now=T0)
    await check(counter, limits, Action.RESET, email="x@b.fr", client="ipv4:10.0.0.8", now=T0)


@pytest.mark.parametrize(
    ("peer", "address"),
    [("ipv4:10.0.0.7:51234", "ipv4:10.0.0.7"), ("ipv6:[::1]:4242", "ipv6:[::1]"), ("unix:/tmp/s", "unix:/tmp/s")],
)
def test_a_client_is_its_address_without_the_port(peer: str, address: str) -> None:
    assert client_address(peer) == address


CREATED = AccountCreated(
    account_id=ID, role=Role.CANDIDATE, last_name="L", first_names="A", birth_date=None, email="a@b.fr", academy="x"
)
LINK = ActivationLinkSent(token_digest=D1, sent_at=T0, expires_at=T0 + timedelta(hours=48))
ACTIVE = (CREATED, LINK, AccountActivated(account_id=ID, academy="x", activated_at=T0))


def test_r04_a_pending_account_expires_only_once_its_link_expired() -> None:
    state = replay(ACCOUNT, [CREATED, LINK])
    with pytest.raises(RuleViolation):
        decide(ExpireAccount(account_id=ID, now=T0 + timedelta(hours=47)), state, NO_FACTS)
    events = decide(ExpireAccount(account_id=ID, now=T0 + timedelta(hours=48)), state, NO_FACTS)
    assert events == [AccountExpired(account_id=ID, expired_at=T0 + timedelta(hours=48))]
    assert replay(ACCOUNT, events, state).status is AccountStatus.EXPIRED
    with pytest.raises(RuleViolation):
        decide(ExpireAccount(account_id=ID, now=T0 + timedelta(days=9)), replay(ACCOUNT, list(ACTIVE)), NO_FACTS)


def test_a_reset_link_serves_once_within_the_hour_and_raises_the_token_version() -> None:
    sent = PasswordResetLinkSent(token_digest=D1, sent_at=T0, expires_at=T0 + RESET_LINK_VALIDITY)
    assert decide(SendResetLink(account_id=ID, token_digest=D1, now=T0), replay(ACCOUNT, list(ACTIVE)), NO_FACTS) == [
        sent
    ]
    state = replay(ACCOUNT, [*ACTIVE, sent])
    with pytest.raises(RuleViolation, match="expired"):
        decide(ResetPassword(account_id=ID, token_digest=D1, now=T0 + RESET_LINK_VALIDITY), state, NO_FACTS)
    events = decide(ResetPassword(account_id=ID, token_digest=D1, now=T0), state, NO_FACTS)
    assert events == [PasswordReset(account_id=ID, reset_at=T0, token_version=1)]
    after = replay(ACCOUNT, events, state)
    assert after.token_version == 1
    with pytest.raises(RuleViolation, match="already used"):
        decide(ResetPassword(account_id=ID, token_digest=D1, now=T0), after, NO_FACTS)


def test_a_newer_reset_link_replaces_the_older_and_a_pending_account_gets_none() -> None:
    first = PasswordResetLinkSent(token_digest=D1, sent_at=T0, expires_at=T0 + RESET_LINK_VALIDITY)
    second = PasswordResetLinkSent(token_digest=D2, sent_at=T0, expires_at=T0 + RESET_LINK_VALIDITY)
    state = replay(ACCOUNT, [*ACTIVE, first, second])
    with pytest.raises(RuleViolation, match="replaced"):
        decide(ResetPassword(account_id=ID, token_digest=D1, now=T0), state, NO_FACTS)
    with pytest.raises(RuleViolation):
        decide(SendResetLink(account_id=ID, token_digest=D1, now=T0), replay(ACCOUNT, [CREATED, LINK]), NO_FACTS)
