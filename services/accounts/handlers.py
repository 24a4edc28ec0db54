"""Accounts command handlers: load -> decide -> append, then the side effect (the email)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from services.accounts.commands import ActivateAccount, CreateAccount, SendActivationLink
from services.accounts.domain import INITIAL, AccountState, AccountStatus, decide, replay
from services.accounts.events import AccountActivated, ActivationLinkSent
from shared.auth import Principal, Role, issue_token
from shared.clock import Clock
from shared.db import Connection
from shared.errors import AlreadyExists, InvalidInput, NotFound, RuleViolation, Unauthenticated
from shared.events import CommandContext, DomainEvent
from shared.eventstore import EventStore
from shared.french import short_date_time
from shared.mail import Mailer, compose
from shared.telemetry import current_context_carrier

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class AccountsConfig:
    secret: str
    token_ttl: timedelta
    link_base: str
    mail_from: str


@dataclass(frozen=True)
class CreatedAccount:
    account_id: UUID
    activation_expires_at: datetime | None


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal
    expires_at: datetime


def stream_of(account_id: UUID) -> str:
    return f"account-{account_id}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountsHandlers:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        mailer: Mailer,
        config: AccountsConfig,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.mailer = mailer
        self.config = config
        self.hasher = hasher or PasswordHasher()

    async def load(self, account_id: UUID) -> tuple[AccountState, int]:
        envelopes = await self.store.read_stream(stream_of(account_id))
        return replay([e.payload for e in envelopes]), len(envelopes)

    def _context(self, state: AccountState, actor: str) -> CommandContext:
        candidate = str(state.account_id) if state.role is Role.CANDIDATE else None
        return CommandContext(
            academy=state.academy,
            actor=actor,
            occurred_at=self.clock(),
            candidate_id=candidate,
            trace_context=current_context_carrier(),
        )

    async def create_account(
        self,
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
        command = CreateAccount(
            account_id=uuid4(),
            role=role,
            last_name=last_name,
            first_names=first_names,
            birth_date=birth_date,
            email=email,
            academy=academy,
            now=self.clock(),
        )
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")
        if await self._account_for_email(command.email) is not None:
            raise AlreadyExists(
                "an account exists already for this email and is reused across sessions (R-02, R-05): "
                "log in, or ask for a new activation link"
            )
        events: list[DomainEvent] = decide(INITIAL, command)
        state = replay(events)
        token = secrets.token_urlsafe(32)
        if role is Role.CANDIDATE:
            events += decide(state, SendActivationLink(token_digest=digest(token), now=command.now))
        password_hash = await asyncio.to_thread(self.hasher.hash, password)

        async def private_rows(connection: Connection) -> None:
            await connection.execute(
                "INSERT INTO account_emails (email, account_id) VALUES ($1, $2)",
                command.email,
                command.account_id,
            )
            await connection.execute(
                "INSERT INTO credentials (account_id, password_hash) VALUES ($1, $2)",
                command.account_id,
                password_hash,
            )
            if role is Role.CANDIDATE:
                await connection.execute(
                    "INSERT INTO activation_tokens (token_digest, account_id) VALUES ($1, $2)",
                    digest(token),
                    command.account_id,
                )

        actor = actor or f"{role.value}:{command.account_id}"
        try:
            await self.store.append(
                stream_of(command.account_id), 0, events, self._context(state, actor), extra=private_rows
            )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "account_emails_pkey":
                raise AlreadyExists("an account exists already for this email (R-05)") from None
            raise
        link = next((e for e in events if isinstance(e, ActivationLinkSent)), None)
        if link is not None:
            await self._mail_link(replay(events), token, link)
        return CreatedAccount(command.account_id, link.expires_at if link else None)

    async def activate(self, token: str) -> AccountActivated:
        if not token.strip():
            raise InvalidInput("token", "is empty")
        token_digest = digest(token.strip())
        account_id = await self.store.pool.fetchval(
            "SELECT account_id FROM activation_tokens WHERE token_digest = $1", token_digest
        )
        if account_id is None:
            raise NotFound("unknown activation link: check that it was copied whole, or ask for a new one")
        state, version = await self.load(account_id)
        events = decide(state, ActivateAccount(token_digest=token_digest, now=self.clock()))
        await self.store.append(stream_of(account_id), version, events, self._context(state, f"candidate:{account_id}"))
        activated = events[0]
        assert isinstance(activated, AccountActivated)
        return activated

    async def resend_activation(self, email: str) -> ActivationLinkSent:
        account_id = await self._account_for_email(email.strip().lower())
        if account_id is None:
            raise NotFound("no account with this email")
        state, version = await self.load(account_id)
        token = secrets.token_urlsafe(32)
        events = decide(state, SendActivationLink(token_digest=digest(token), now=self.clock()))

        async def token_row(connection: Connection) -> None:
            await connection.execute(
                "INSERT INTO activation_tokens (token_digest, account_id) VALUES ($1, $2)",
                digest(token),
                account_id,
            )

        await self.store.append(
            stream_of(account_id),
            version,
            events,
            self._context(state, f"candidate:{account_id}"),
            extra=token_row,
        )
        link = events[0]
        assert isinstance(link, ActivationLinkSent)
        await self._mail_link(state, token, link)
        return link

    async def login(self, email: str, password: str) -> Session:
        account_id = await self._account_for_email(email.strip().lower())
        password_hash = None
        if account_id is not None:
            password_hash = await self.store.pool.fetchval(
                "SELECT password_hash FROM credentials WHERE account_id = $1", account_id
            )
        if account_id is None or password_hash is None or not await self._verify(password_hash, password):
            raise Unauthenticated("wrong email or password")
        state, _ = await self.load(account_id)
        if state.status is not AccountStatus.ACTIVE:
            raise RuleViolation("R-04", "activate the account through the emailed link before logging in")
        principal = Principal(subject=str(account_id), role=state.role, academy=state.academy)
        now = self.clock()
        token = issue_token(principal, self.config.secret, now, self.config.token_ttl)
        return Session(token, principal, now + self.config.token_ttl)

    async def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self.hasher.verify, password_hash, password)
        except VerificationError:
            return False

    async def _account_for_email(self, email: str) -> UUID | None:
        account_id: UUID | None = await self.store.pool.fetchval(
            "SELECT account_id FROM account_emails WHERE email = $1", email
        )
        return account_id

    async def _mail_link(self, state: AccountState, token: str, link: ActivationLinkSent) -> None:
        deadline = short_date_time(link.expires_at)
        body = (
            f"Bonjour {state.first_names} {state.last_name},\n\n"
            f"Votre compte candidat a été créé pour l'académie {state.academy}.\n"
            f"Activez-le dans les 48 heures, avant le {deadline} (heure de Paris), en ouvrant ce lien :\n\n"
            f"{self.config.link_base}?jeton={token}\n\n"
            f"Code d'activation : {token}\n\n"
            "Passé ce délai, demandez un nouveau lien depuis la page de connexion.\n"
        )
        message = compose(self.config.mail_from, state.email, "Activez votre compte Archipel", body)
        try:
            await self.mailer.send(message)
        except OSError:
            # The account exists; the candidate asks for a new link. Nothing is lost.
            log.exception("the activation email to %s could not be sent", state.email)
