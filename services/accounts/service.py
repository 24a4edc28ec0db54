"""The accounts service, declared once: its commands (decider, facts, private rows, mail after
the commit), its read model, its API. `python -m services accounts serve|relay|projections`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from services.accounts import mails
from services.accounts.commands import (
    ActivateAccount,
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
from services.accounts.domain import ACCOUNT, AccountFacts, AccountState
from services.accounts.facts import (
    AccountsFacts,
    AttemptCounter,
    PgAccountsFacts,
    PgAttemptCounter,
    PgRefreshTokens,
    RefreshTokens,
)
from services.accounts.limits import LIMITS, Action, Limits
from services.accounts.passwords import Passwords
from services.accounts.private import (
    TABLES,
    account_rows,
    credentials_row,
    forgotten_rows,
    release_rows,
    reset_token_row,
    token_row,
    totp_reset_rows,
    totp_row,
)
from services.accounts.projections import AccountsReadModel
from services.accounts.queries import AccountsQueries
from services.accounts.streams import account_stream
from services.accounts.totp_secrets import PgSecondFactors, SecondFactors, seal_clear_secrets, totp_sealer
from shared.auth import ENROLMENT_AUDIENCE, Role
from shared.contracts.accounts import REGISTRY, ActivationLinkSent, PasswordResetLinkSent
from shared.eventstore import ExtraWrite
from shared.mail import Mailer, mailer_from
from shared.pipeline import Call, CommandSpec, Decision, Pipeline, Scope, no_facts
from shared.service import Api, Runtime, Service
from shared.token_keys import SigningKey, load_signing_key


@dataclass(frozen=True)
class AccountsConfig:
    signing_key: SigningKey  # held by the accounts service only (issue 13 part 6)
    token_ttl: timedelta
    refresh_ttl: timedelta
    link_base: str
    mail_from: str
    limits: Mapping[Action, Limits] = field(default_factory=lambda: LIMITS)


@dataclass(frozen=True)
class AccountsPorts:
    facts: AccountsFacts
    queries: AccountsQueries
    mailer: Mailer
    config: AccountsConfig
    passwords: Passwords
    attempts: AttemptCounter
    refresh_tokens: RefreshTokens
    second_factors: SecondFactors


def ports(runtime: Runtime, mailer: Mailer | None = None, limits: Mapping[Action, Limits] = LIMITS) -> AccountsPorts:
    settings = runtime.settings
    config = AccountsConfig(
        signing_key=load_signing_key(settings.signing_key_path()),
        token_ttl=timedelta(minutes=settings.token_ttl_minutes),
        refresh_ttl=timedelta(hours=settings.refresh_ttl_hours),
        link_base=settings.activation_link_base,
        mail_from=settings.mail_from,
        limits=limits,
    )
    pool = runtime.store.pool
    return AccountsPorts(
        PgAccountsFacts(pool),
        AccountsQueries(pool),
        mailer or mailer_from(settings),
        config,
        Passwords(),
        PgAttemptCounter(pool),
        PgRefreshTokens(pool),
        PgSecondFactors(pool, totp_sealer(settings)),
    )


async def email_facts(ports: AccountsPorts, call: Call[CreateAccount | CreateStaff, AccountState]) -> AccountFacts:
    return AccountFacts(email_taken=await ports.facts.account_for_email(call.command.email) is not None)


def account_scope(command: object, state: AccountState, facts: object) -> Scope:
    candidate = state.account_id if state.role is Role.CANDIDATE else None
    return Scope(state.academy, candidate)


def new_account_scope(command: CreateAccount, state: AccountState, facts: object) -> Scope:
    """The stream is still empty: the account being created tells whose it is."""
    return Scope(command.academy, command.account_id if command.role is Role.CANDIDATE else None)


async def new_account_rows(ports: AccountsPorts, decision: Decision[CreateAccount, AccountState, Any]) -> ExtraWrite:
    command = decision.call.command
    password_hash = command.password_hash.get_secret_value() if command.password_hash else None
    digest = command.token_digest if command.role is Role.CANDIDATE else None
    return account_rows(command.account_id, command.email, password_hash, digest)


def staff_scope(command: CreateStaff, state: AccountState, facts: object) -> Scope:
    """A staff or auditor account is its académie's: its administrator's only."""
    return Scope(command.academy, None)


async def new_staff_rows(ports: AccountsPorts, decision: Decision[CreateStaff, AccountState, Any]) -> ExtraWrite:
    """The email taken and the link's digest; no password until its owner activates the account."""
    command = decision.call.command
    return account_rows(command.account_id, command.email, None, command.token_digest)


async def new_link_row(ports: AccountsPorts, decision: Decision[SendActivationLink, AccountState, Any]) -> ExtraWrite:
    assert decision.state.account_id is not None
    return token_row(decision.state.account_id, decision.call.command.token_digest)


async def new_reset_row(ports: AccountsPorts, decision: Decision[SendResetLink, AccountState, Any]) -> ExtraWrite:
    assert decision.state.account_id is not None
    return reset_token_row(decision.state.account_id, decision.call.command.token_digest)


async def new_credentials(
    ports: AccountsPorts, decision: Decision[ActivateAccount | ResetPassword, AccountState, Any]
) -> ExtraWrite | None:
    """Activation and reset bind the account to the password given with the link's token."""
    command = decision.call.command
    if command.password_hash is None:
        return None
    return credentials_row(command.account_id, command.password_hash.get_secret_value())


async def enrolled_secret(ports: AccountsPorts, decision: Decision[EnrolSecondFactor, AccountState, Any]) -> ExtraWrite:
    command = decision.call.command
    sealed = ports.second_factors.seal(command.account_id, command.secret.get_secret_value())
    return totp_row(command.account_id, sealed, command.step)


async def reset_secret(ports: AccountsPorts, decision: Decision[ResetSecondFactor, AccountState, Any]) -> ExtraWrite:
    return totp_reset_rows(decision.call.command.account_id)


async def forgotten(ports: AccountsPorts, decision: Decision[ForgetCandidate, AccountState, Any]) -> ExtraWrite:
    return forgotten_rows(decision.call.command.account_id)


async def released(ports: AccountsPorts, decision: Decision[ExpireAccount, AccountState, Any]) -> ExtraWrite:
    return release_rows(decision.call.command.account_id)


async def mail_link(
    ports: AccountsPorts, decision: Decision[CreateAccount | CreateStaff | SendActivationLink, AccountState, Any]
) -> None:
    """After the commit: the link by email. If the mail server is down the account exists and the
    candidate asks for a new link (R-05); nothing is lost."""
    link = next((e for e in decision.events if isinstance(e, ActivationLinkSent)), None)
    token = decision.call.command.token
    if link is None or token is None:
        return
    state, config = decision.state, ports.config
    name = f"{state.first_names} {state.last_name}"
    message = mails.activation(
        config.mail_from,
        state.email,
        name=name,
        academy=state.academy,
        link=config.link_base,
        token=token.get_secret_value(),
        expires_at=link.expires_at,
    )
    await mails.send(ports.mailer, message)


async def mail_reset_link(ports: AccountsPorts, decision: Decision[SendResetLink, AccountState, Any]) -> None:
    link = next((e for e in decision.events if isinstance(e, PasswordResetLinkSent)), None)
    token = decision.call.command.token
    if link is None or token is None:
        return
    state, config = decision.state, ports.config
    name = f"{state.first_names} {state.last_name}"
    message = mails.reset(
        config.mail_from, state.email, name, config.link_base, token.get_secret_value(), link.expires_at
    )
    await mails.send(ports.mailer, message)


def _on_account(
    command: type[Any],
    *,
    writes: Callable[[AccountsPorts, Decision[Any, AccountState, Any]], Awaitable[ExtraWrite | None]] | None = None,
    effects: Callable[[AccountsPorts, Decision[Any, AccountState, Any]], Awaitable[None]] | None = None,
    facts: Callable[[AccountsPorts, Call[Any, AccountState]], Awaitable[Any]] = no_facts,
    scope: Callable[[Any, AccountState, Any], Scope] = account_scope,
    roles: frozenset[Role] = frozenset(),
) -> CommandSpec[Any, Any, Any, AccountsPorts]:
    """A command on the account its `account_id` names, sent through the public flows of
    services.accounts.signup, sessions and reset (no principal yet: no role may send it), or by an
    académie's administrator (`roles`, services.accounts.staff)."""
    return CommandSpec(
        command,
        ACCOUNT,
        lambda c: account_stream(c.account_id),
        facts,
        scope,
        roles=roles,
        writes=writes,
        effects=effects,
    )


ADMINS = frozenset({Role.ACADEMY_ADMIN})

COMMANDS: tuple[CommandSpec[Any, Any, Any, AccountsPorts], ...] = (
    _on_account(CreateAccount, writes=new_account_rows, effects=mail_link, facts=email_facts, scope=new_account_scope),
    _on_account(SendActivationLink, writes=new_link_row, effects=mail_link),
    _on_account(ActivateAccount, writes=new_credentials),
    _on_account(ExpireAccount, writes=released),
    _on_account(SendResetLink, writes=new_reset_row, effects=mail_reset_link),
    _on_account(ResetPassword, writes=new_credentials),
    _on_account(
        CreateStaff, writes=new_staff_rows, effects=mail_link, facts=email_facts, scope=staff_scope, roles=ADMINS
    ),
    _on_account(DeactivateAccount, roles=ADMINS),
    _on_account(ResetSecondFactor, writes=reset_secret, roles=ADMINS),
    _on_account(EnrolSecondFactor, writes=enrolled_secret),
    _on_account(ForgetCandidate, writes=forgotten),  # `archipel privacy forget`, on the server
)


def api(runtime: Runtime, pipeline: Pipeline[AccountsPorts], ports: AccountsPorts) -> Api:
    from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc  # noqa: PLC0415 (generated stubs)
    from services.accounts.api import PUBLIC_METHODS, SERVICE_NAME, AccountsServicer  # noqa: PLC0415

    verifier, enrolment = runtime.verifier("accounts"), runtime.verifier(ENROLMENT_AUDIENCE)
    servicer = AccountsServicer(pipeline, ports, verifier, runtime.clock, enrolment)
    return Api([SERVICE_NAME], lambda server: pb_grpc.add_AccountsServicer_to_server(servicer, server), PUBLIC_METHODS)


async def on_start(pipeline: Pipeline[AccountsPorts]) -> None:
    """Before serving: the TOTP secrets stored in clear before they were sealed are sealed, once."""
    factors = pipeline.ports.second_factors
    if isinstance(factors, PgSecondFactors):
        await seal_clear_secrets(factors.pool, factors.sealer)


class StreamVersions:
    """The accounts' token versions from their own streams: the accounts service knows at once."""

    def __init__(self, pipeline: Pipeline[AccountsPorts]) -> None:
        self.pipeline = pipeline

    async def current(self, account: UUID) -> int | None:
        state, version = await self.pipeline.load(ACCOUNT, account_stream(account))
        return state.token_version if version else None


SERVICE = Service(
    name="accounts",
    registry=REGISTRY,
    ports=ports,
    commands=COMMANDS,
    api=api,
    projections=lambda: [AccountsReadModel()],
    projection_topics=("accounts",),
    tables=TABLES,
    token_versions=lambda runtime, pipeline: StreamVersions(pipeline),
    on_start=on_start,
)
