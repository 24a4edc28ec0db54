"""The accounts service, declared once: its commands (decider, facts, private rows, mail after
the commit), its read model, its API. `python -m services accounts serve|relay|projections`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher

from services.accounts.commands import ActivateAccount, CreateAccount, SendActivationLink
from services.accounts.domain import ACCOUNT, AccountFacts, AccountState
from services.accounts.facts import AccountsFacts, PgAccountsFacts
from services.accounts.private import TABLES, account_rows, token_row
from services.accounts.projections import AccountsReadModel
from services.accounts.queries import AccountsQueries
from services.accounts.streams import account_stream
from shared.auth import Role
from shared.contracts.accounts import REGISTRY, ActivationLinkSent
from shared.eventstore import ExtraWrite
from shared.french import short_date_time
from shared.mail import Mailer, compose, mailer_from
from shared.pipeline import Call, CommandSpec, Decision, Pipeline, Scope, no_facts
from shared.service import Api, Runtime, Service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountsConfig:
    secret: str
    token_ttl: timedelta
    link_base: str
    mail_from: str


@dataclass(frozen=True)
class AccountsPorts:
    facts: AccountsFacts
    queries: AccountsQueries
    mailer: Mailer
    config: AccountsConfig
    hasher: PasswordHasher


def ports(runtime: Runtime, mailer: Mailer | None = None) -> AccountsPorts:
    settings = runtime.settings
    config = AccountsConfig(
        secret=settings.secret(),
        token_ttl=timedelta(minutes=settings.token_ttl_minutes),
        link_base=settings.activation_link_base,
        mail_from=settings.mail_from,
    )
    pool = runtime.store.pool
    return AccountsPorts(
        PgAccountsFacts(pool), AccountsQueries(pool), mailer or mailer_from(settings), config, PasswordHasher()
    )


async def email_facts(ports: AccountsPorts, call: Call[CreateAccount, AccountState]) -> AccountFacts:
    return AccountFacts(email_taken=await ports.facts.account_for_email(call.command.email) is not None)


def account_scope(command: object, state: AccountState, facts: object) -> Scope:
    candidate = state.account_id if state.role is Role.CANDIDATE else None
    return Scope(state.academy, candidate)


def new_account_scope(command: CreateAccount, state: AccountState, facts: object) -> Scope:
    """The stream is still empty: the account being created tells whose it is."""
    return Scope(command.academy, command.account_id if command.role is Role.CANDIDATE else None)


async def new_account_rows(ports: AccountsPorts, decision: Decision[CreateAccount, AccountState, Any]) -> ExtraWrite:
    command = decision.call.command
    assert command.password_hash is not None, "the password is hashed before the command is sent"
    digest = command.token_digest if command.role is Role.CANDIDATE else None
    return account_rows(command.account_id, command.email, command.password_hash.get_secret_value(), digest)


async def new_link_row(ports: AccountsPorts, decision: Decision[SendActivationLink, AccountState, Any]) -> ExtraWrite:
    assert decision.state.account_id is not None
    return token_row(decision.state.account_id, decision.call.command.token_digest)


async def mail_link(
    ports: AccountsPorts, decision: Decision[CreateAccount | SendActivationLink, AccountState, Any]
) -> None:
    """After the commit: the link by email. If the mail server is down the account exists and the
    candidate asks for a new link (R-05); nothing is lost."""
    link = next((e for e in decision.events if isinstance(e, ActivationLinkSent)), None)
    token = decision.call.command.token
    if link is None or token is None:
        return
    state = decision.state
    body = (
        f"Bonjour {state.first_names} {state.last_name},\n\n"
        f"Votre compte candidat a été créé pour l'académie {state.academy}.\n"
        f"Activez-le dans les 48 heures, avant le {short_date_time(link.expires_at)} (heure de Paris), "
        "en ouvrant ce lien :\n\n"
        f"{ports.config.link_base}?jeton={token.get_secret_value()}\n\n"
        f"Code d'activation : {token.get_secret_value()}\n\n"
        "Passé ce délai, demandez un nouveau lien depuis la page de connexion.\n"
    )
    message = compose(ports.config.mail_from, state.email, "Activez votre compte Archipel", body)
    try:
        await ports.mailer.send(message)
    except OSError:
        log.exception("the activation email to %s could not be sent", state.email)


# Sent through the public flows of services.accounts.signup (no principal yet): roles are empty.
COMMANDS: tuple[CommandSpec[Any, Any, Any, AccountsPorts], ...] = (
    CommandSpec(
        CreateAccount,
        ACCOUNT,
        lambda c: account_stream(c.account_id),
        email_facts,
        new_account_scope,
        roles=frozenset(),
        writes=new_account_rows,
        effects=mail_link,
    ),
    CommandSpec(
        SendActivationLink,
        ACCOUNT,
        lambda c: account_stream(c.account_id),
        no_facts,
        account_scope,
        roles=frozenset(),
        writes=new_link_row,
        effects=mail_link,
    ),
    CommandSpec(
        ActivateAccount, ACCOUNT, lambda c: account_stream(c.account_id), no_facts, account_scope, roles=frozenset()
    ),
)


def api(runtime: Runtime, pipeline: Pipeline[AccountsPorts], ports: AccountsPorts) -> Api:
    from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc  # noqa: PLC0415 (generated stubs)
    from services.accounts.api import PUBLIC_METHODS, SERVICE_NAME, AccountsServicer  # noqa: PLC0415

    servicer = AccountsServicer(pipeline, ports, runtime.clock)
    return Api([SERVICE_NAME], lambda server: pb_grpc.add_AccountsServicer_to_server(servicer, server), PUBLIC_METHODS)


SERVICE = Service(
    name="accounts",
    registry=REGISTRY,
    ports=ports,
    commands=COMMANDS,
    api=api,
    projections=lambda: [AccountsReadModel()],
    projection_topics=("accounts",),
    tables=TABLES,
)
