"""The accounts' public flows (no principal yet: creation, activation, a new link) and the staff
bootstrap (login and refresh: services.accounts.sessions). Each prepares its command (a fresh
token, the password's hash, the account a token or an email names) and sends it through the
pipeline.

Issue 13 (accounts that resist abuse): a candidate's password is chosen at activation, by whoever
opens the link mailed to the address; `create`, `resend` and `login` answer the same whether the
email has an account or not (a creation for a taken email re-sends the link of a pending account,
or warns the owner of an active one; a login without a hash to check verifies a dummy one)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID, uuid4

from pydantic import SecretStr

from services.accounts import mails
from services.accounts.commands import ActivateAccount, CreateAccount, ExpireAccount, SendActivationLink
from services.accounts.domain import (
    ACCOUNT,
    ACTIVATION_LINK_VALIDITY,
    INITIAL,
    NO_FACTS,
    AccountState,
    AccountStatus,
)
from services.accounts.passwords import check_new_password
from services.accounts.service import AccountsPorts
from services.accounts.streams import account_stream
from shared.auth import Role
from shared.contracts.accounts import AccountActivated, ActivationLinkSent
from shared.errors import AlreadyExists, InvalidInput, NotFound
from shared.pipeline import Pipeline


@dataclass(frozen=True)
class CreatedAccount:
    account_id: UUID
    activation_expires_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_account(
    pipeline: Pipeline[AccountsPorts],
    *,
    last_name: str,
    first_names: str,
    birth_date: date | None,
    email: str,
    password: str | None,
    academy: str,
    role: Role = Role.CANDIDATE,
    actor: str | None = None,
    guard: Callable[[str], Awaitable[None]] | None = None,
) -> CreatedAccount:
    """A candidate's account (`password` None: it is chosen at activation); whatever the email,
    the caller gets a new account's answer. Staff and auditors (the bootstrap, server side) get
    their password at once and ALREADY_EXISTS for a taken email. `guard` (the rate limits) is
    given the valid request's email: bad input is refused without counting."""
    candidate = role is Role.CANDIDATE
    if not candidate:
        if password is None:
            raise InvalidInput("password", "required for a staff or auditor account")
        check_new_password(password)
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
        token_digest=digest(token) if candidate else None,
        token=SecretStr(token) if candidate else None,
    )
    if not candidate:
        assert password is not None
        hashed = await pipeline.ports.passwords.hash(password)
        command = command.model_copy(update={"password_hash": SecretStr(hashed)})
        await pipeline.execute_as_service(command, actor=actor or f"{role.value}:{command.account_id}")
        return CreatedAccount(command.account_id, None)
    ACCOUNT.decide(command, INITIAL, NO_FACTS)  # bad input is refused whatever the email (pure: writes nothing)
    if guard is not None:
        await guard(command.email)
    existing = await pipeline.ports.facts.account_for_email(command.email)
    if existing is not None and await _expired(pipeline, existing):
        existing = None
    if existing is None:
        try:
            outcome = await pipeline.execute_as_service(command, actor=actor or f"candidate:{command.account_id}")
        except AlreadyExists:  # a concurrent creation took the email first: answered as a taken email
            existing = await pipeline.ports.facts.account_for_email(command.email)
        else:
            link = next((e for e in outcome.events if isinstance(e, ActivationLinkSent)), None)
            return CreatedAccount(command.account_id, link.expires_at if link else None)
    if existing is not None:
        await _taken(pipeline, existing)
    # The same answer as a new account's: an id that names nothing, the usual expiry.
    return CreatedAccount(uuid4(), command.now + ACTIVATION_LINK_VALIDITY)


async def _expired(pipeline: Pipeline[AccountsPorts], account_id: UUID) -> bool:
    """A pending account whose link expired (R-04) is expired now, and its email freed."""
    state = await load_account(pipeline, account_id)
    now = pipeline.clock()
    if state.status is not AccountStatus.PENDING or state.link_expires_at is None or now < state.link_expires_at:
        return False
    await pipeline.execute_as_service(ExpireAccount(account_id=account_id, now=now), actor="system:accounts")
    return True


async def _taken(pipeline: Pipeline[AccountsPorts], account_id: UUID) -> None:
    """A creation for a taken email: a pending account gets a new link (older ones replaced), an
    active one a warning to its owner. The caller learns nothing of it."""
    state = await load_account(pipeline, account_id)
    if state.status is AccountStatus.PENDING:
        await _send_link(pipeline, account_id)
    elif state.status is AccountStatus.ACTIVE:
        config = pipeline.ports.config
        await mails.send(pipeline.ports.mailer, mails.creation_attempt(config.mail_from, state.email))


async def _send_link(pipeline: Pipeline[AccountsPorts], account_id: UUID) -> ActivationLinkSent:
    token = secrets.token_urlsafe(32)
    command = SendActivationLink(
        account_id=account_id, token_digest=digest(token), now=pipeline.clock(), token=SecretStr(token)
    )
    outcome = await pipeline.execute_as_service(command, actor=f"candidate:{account_id}")
    link = outcome.events[0]
    assert isinstance(link, ActivationLinkSent)
    return link


async def activate(pipeline: Pipeline[AccountsPorts], token: str, password: str) -> AccountActivated:
    """The account named by the link's token is bound to `password` (its hash written with the
    activation): the password that counts is the one of whoever reads the mail."""
    if not token.strip():
        raise InvalidInput("token", "is empty")
    check_new_password(password)
    token_digest = digest(token.strip())
    account_id = await pipeline.ports.facts.account_for_token(token_digest)
    if account_id is None:
        raise NotFound("unknown activation link: check that it was copied whole, or ask for a new one")
    command = ActivateAccount(account_id=account_id, token_digest=token_digest, now=pipeline.clock())
    ACCOUNT.decide(command, await load_account(pipeline, account_id), NO_FACTS)  # a refused link costs no hash
    hashed = await pipeline.ports.passwords.hash(password)
    command = command.model_copy(update={"password_hash": SecretStr(hashed)})
    outcome = await pipeline.execute_as_service(command, actor=f"candidate:{account_id}")
    activated = outcome.events[0]
    assert isinstance(activated, AccountActivated)
    return activated


async def resend_activation(pipeline: Pipeline[AccountsPorts], email: str) -> datetime:
    """A new link for a pending account; for any other email (unknown, active, expired) nothing is
    sent, and the answer is the same: the expiry a new link would have."""
    now = pipeline.clock()
    account_id = await pipeline.ports.facts.account_for_email(email.strip().lower())
    if account_id is not None and (await load_account(pipeline, account_id)).status is AccountStatus.PENDING:
        return (await _send_link(pipeline, account_id)).expires_at
    return now + ACTIVATION_LINK_VALIDITY


async def load_account(pipeline: Pipeline[AccountsPorts], account_id: UUID) -> AccountState:
    state, _ = await pipeline.load(ACCOUNT, account_stream(account_id))
    return state
