"""Sessions (issue 13 part 6): a login gives a short access token (15 min, signed by the accounts
service's key, for the services of the role) and a refresh token. A refresh token is a random
secret stored as a digest, used once: `refresh` marks it used and gives a new access token and a
new refresh token of the same family. A refresh token used twice (stolen, or replayed) revokes its
whole family; one issued before a password reset (an older token version), one of an account no
longer active, or an expired one is refused.

Staff, auditors and administrators log in with a second factor (TOTP, issue 13 part 5): once
enrolled, a login takes a valid code (the current 30-second step or either neighbour, each step once:
a code cannot be replayed), refused with the same answer as a wrong password, its attempts limited
per account beside the login's limits. Without an enrolled factor, their password gives a token
restricted to enrolment (audience `accounts-enrolment`, 10 minutes, no refresh token), which no
service accepts but the enrolment RPCs (services.accounts.second_factor): their first login after
the account's creation stays possible, and nothing else is."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from services.accounts.domain import AccountState, AccountStatus
from services.accounts.passwords import check_password_bound
from services.accounts.service import AccountsPorts
from services.accounts.signup import digest, load_account
from shared import totp
from shared.auth import ENROLMENT_AUDIENCE, SECOND_FACTOR_ROLES, Principal, issue_token
from shared.errors import RateLimited, Unauthenticated
from shared.pipeline import Pipeline

WRONG_CREDENTIALS = "wrong email, password or second-factor code, or an account not activated yet"
ENROLMENT_TTL = timedelta(minutes=10)
MAX_CODE = 16  # characters (a code is 6 digits)
REFRESH_REFUSED = "refresh token unknown, used, expired or revoked: log in again"
MAX_REFRESH_TOKEN = 128  # characters (a token is 43)


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime | None
    enrolment_only: bool = False


async def login(
    pipeline: Pipeline[AccountsPorts],
    email: str,
    password: str,
    code: str = "",
    guard: Callable[[str], Awaitable[None]] | None = None,
) -> Session:
    """One refusal whatever went wrong, in the same time: without a hash, a dummy one is verified.
    `code` is the second factor's (staff, auditors, administrators); `guard(account)` counts a code's
    attempt (services.accounts.limits, Action.TOTP), refused with the same answer when over."""
    check_password_bound(password)
    if len(code) > MAX_CODE:
        raise Unauthenticated(WRONG_CREDENTIALS)
    ports = pipeline.ports
    account_id = await ports.facts.account_for_email(email.strip().lower())
    password_hash = await ports.facts.password_hash(account_id) if account_id is not None else None
    if not await ports.passwords.verify(password_hash, password) or account_id is None:
        raise Unauthenticated(WRONG_CREDENTIALS)
    state = await load_account(pipeline, account_id)
    if state.status is not AccountStatus.ACTIVE:
        raise Unauthenticated(WRONG_CREDENTIALS)
    if state.role in SECOND_FACTOR_ROLES:
        if not state.second_factor:
            return enrolment_session(pipeline, account_id, state)
        await _check_code(pipeline, account_id, code, guard)
    return await open_session(pipeline, account_id, state, family=uuid4())


async def _check_code(
    pipeline: Pipeline[AccountsPorts], account_id: UUID, code: str, guard: Callable[[str], Awaitable[None]] | None
) -> None:
    """A valid code of the enrolled secret, of a step not used yet (recorded now), or the refusal."""
    try:
        if guard is not None:
            await guard(str(account_id))
    except RateLimited:
        raise Unauthenticated(WRONG_CREDENTIALS) from None  # over the limit: told like a wrong code
    factors = pipeline.ports.second_factors
    enrolled = await factors.enrolled(account_id)
    step = totp.matching_step(enrolled.secret, code, pipeline.clock(), after=enrolled.last_step) if enrolled else None
    if step is None or not await factors.use_step(account_id, step):
        raise Unauthenticated(WRONG_CREDENTIALS)


def enrolment_session(pipeline: Pipeline[AccountsPorts], account_id: UUID, state: AccountState) -> Session:
    """A token that serves only to enrol a second factor: no service but the enrolment RPCs takes it."""
    principal = Principal(
        subject=str(account_id), role=state.role, academy=state.academy, token_version=state.token_version
    )
    now = pipeline.clock()
    token = issue_token(principal, pipeline.ports.config.signing_key, now, ENROLMENT_TTL, [ENROLMENT_AUDIENCE])
    return Session(token, principal, now + ENROLMENT_TTL, "", None, enrolment_only=True)


async def refresh(pipeline: Pipeline[AccountsPorts], refresh_token: str) -> Session:
    token = refresh_token.strip()
    if not token or len(token) > MAX_REFRESH_TOKEN:
        raise Unauthenticated(REFRESH_REFUSED)
    now = pipeline.clock()
    used = await pipeline.ports.refresh_tokens.use(digest(token), now)
    if used is None or used.expires_at <= now:
        raise Unauthenticated(REFRESH_REFUSED)
    state = await load_account(pipeline, used.account_id)
    if state.status is not AccountStatus.ACTIVE or used.token_version < state.token_version:
        raise Unauthenticated(REFRESH_REFUSED)
    return await open_session(pipeline, used.account_id, state, family=used.family)


async def open_session(
    pipeline: Pipeline[AccountsPorts], account_id: UUID, state: AccountState, *, family: UUID
) -> Session:
    ports = pipeline.ports
    config = ports.config
    principal = Principal(
        subject=str(account_id), role=state.role, academy=state.academy, token_version=state.token_version
    )
    now = pipeline.clock()
    access = issue_token(principal, config.signing_key, now, config.token_ttl)
    refresh_token = secrets.token_urlsafe(32)
    refresh_expires_at = now + config.refresh_ttl
    await ports.refresh_tokens.store(
        digest(refresh_token),
        account_id=account_id,
        family=family,
        token_version=state.token_version,
        now=now,
        expires_at=refresh_expires_at,
    )
    return Session(access, principal, now + config.token_ttl, refresh_token, refresh_expires_at)
