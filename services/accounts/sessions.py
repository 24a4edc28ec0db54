"""Sessions (issue 13 part 6): a login gives a short access token (15 min, signed by the accounts
service's key, for the services of the role) and a refresh token. A refresh token is a random
secret stored as a digest, used once: `refresh` marks it used and gives a new access token and a
new refresh token of the same family. A refresh token used twice (stolen, or replayed) revokes its
whole family; one issued before a password reset (an older token version), one of an account no
longer active, or an expired one is refused."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from services.accounts.domain import AccountState, AccountStatus
from services.accounts.passwords import check_password_bound
from services.accounts.service import AccountsPorts
from services.accounts.signup import digest, load_account
from shared.auth import Principal, issue_token
from shared.errors import Unauthenticated
from shared.pipeline import Pipeline

WRONG_CREDENTIALS = "wrong email or password, or an account not activated yet"
REFRESH_REFUSED = "refresh token unknown, used, expired or revoked: log in again"
MAX_REFRESH_TOKEN = 128  # characters (a token is 43)


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


async def login(pipeline: Pipeline[AccountsPorts], email: str, password: str) -> Session:
    """One refusal whatever went wrong, in the same time: without a hash, a dummy one is verified."""
    check_password_bound(password)
    ports = pipeline.ports
    account_id = await ports.facts.account_for_email(email.strip().lower())
    password_hash = await ports.facts.password_hash(account_id) if account_id is not None else None
    if not await ports.passwords.verify(password_hash, password) or account_id is None:
        raise Unauthenticated(WRONG_CREDENTIALS)
    state = await load_account(pipeline, account_id)
    if state.status is not AccountStatus.ACTIVE:
        raise Unauthenticated(WRONG_CREDENTIALS)
    return await open_session(pipeline, account_id, state, family=uuid4())


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
