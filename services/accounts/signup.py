"""The accounts' public flows (no principal yet: creation, activation, a new link, login) and
the staff bootstrap. Each prepares its command (a fresh token, the password's hash, the account
a token or an email names) and sends it through the pipeline."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID, uuid4

from argon2.exceptions import VerificationError
from pydantic import SecretStr

from services.accounts.commands import ActivateAccount, CreateAccount, SendActivationLink
from services.accounts.domain import ACCOUNT, AccountState, AccountStatus
from services.accounts.service import AccountsPorts
from services.accounts.streams import account_stream
from shared.auth import Principal, Role, issue_token
from shared.contracts.accounts import AccountActivated, ActivationLinkSent
from shared.errors import InvalidInput, NotFound, RuleViolation, Unauthenticated
from shared.pipeline import Pipeline

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class CreatedAccount:
    account_id: UUID
    activation_expires_at: datetime | None


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal
    expires_at: datetime


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_account(
    pipeline: Pipeline[AccountsPorts],
    *,
    last_name: str,
    first_names: str,
    birth_date: date | None,
    email: str,
    password: str,
    academy: str,
    role: Role = Role.CANDIDATE,
    actor: str | None = None,
) -> CreatedAccount:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
    token = secrets.token_urlsafe(32)
    command = CreateAccount(
        account_id=uuid4(),
        role=role,
        last_name=last_name,
        first_names=first_names,
        birth_date=birth_date,
        email=email,
        academy=academy,
        now=pipeline.clock(),
        token_digest=digest(token) if role is Role.CANDIDATE else None,
        token=SecretStr(token) if role is Role.CANDIDATE else None,
    )
    hashed = await asyncio.to_thread(pipeline.ports.hasher.hash, password)
    command = command.model_copy(update={"password_hash": SecretStr(hashed)})
    outcome = await pipeline.execute_as_service(command, actor=actor or f"{role.value}:{command.account_id}")
    link = next((e for e in outcome.events if isinstance(e, ActivationLinkSent)), None)
    return CreatedAccount(command.account_id, link.expires_at if link else None)


async def activate(pipeline: Pipeline[AccountsPorts], token: str) -> AccountActivated:
    if not token.strip():
        raise InvalidInput("token", "is empty")
    token_digest = digest(token.strip())
    account_id = await pipeline.ports.facts.account_for_token(token_digest)
    if account_id is None:
        raise NotFound("unknown activation link: check that it was copied whole, or ask for a new one")
    command = ActivateAccount(account_id=account_id, token_digest=token_digest, now=pipeline.clock())
    outcome = await pipeline.execute_as_service(command, actor=f"candidate:{account_id}")
    activated = outcome.events[0]
    assert isinstance(activated, AccountActivated)
    return activated


async def resend_activation(pipeline: Pipeline[AccountsPorts], email: str) -> ActivationLinkSent:
    account_id = await pipeline.ports.facts.account_for_email(email.strip().lower())
    if account_id is None:
        raise NotFound("no account with this email")
    token = secrets.token_urlsafe(32)
    command = SendActivationLink(
        account_id=account_id, token_digest=digest(token), now=pipeline.clock(), token=SecretStr(token)
    )
    outcome = await pipeline.execute_as_service(command, actor=f"candidate:{account_id}")
    link = outcome.events[0]
    assert isinstance(link, ActivationLinkSent)
    return link


async def login(pipeline: Pipeline[AccountsPorts], email: str, password: str) -> Session:
    ports = pipeline.ports
    account_id = await ports.facts.account_for_email(email.strip().lower())
    password_hash = await ports.facts.password_hash(account_id) if account_id is not None else None
    if account_id is None or password_hash is None or not await _verify(ports, password_hash, password):
        raise Unauthenticated("wrong email or password")
    state, _ = await pipeline.load(ACCOUNT, account_stream(account_id))
    if state.status is not AccountStatus.ACTIVE:
        raise RuleViolation("R-04", "activate the account through the emailed link before logging in")
    principal = Principal(subject=str(account_id), role=state.role, academy=state.academy)
    now = pipeline.clock()
    ttl = ports.config.token_ttl
    return Session(issue_token(principal, ports.config.secret, now, ttl), principal, now + ttl)


async def load_account(pipeline: Pipeline[AccountsPorts], account_id: UUID) -> AccountState:
    state, _ = await pipeline.load(ACCOUNT, account_stream(account_id))
    return state


async def _verify(ports: AccountsPorts, password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(ports.hasher.verify, password_hash, password)
    except VerificationError:
        return False
