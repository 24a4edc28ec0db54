"""The accounts gRPC server on a free port, in the test's event loop, over the real PostgreSQL
(schema of `isolated_settings`). Mail goes to a list; the clock is a FixedClock the test can move.
The read model is fed by applying the stored events through ProjectionRunner.handle_raw, as a
Kafka consumer would (the Kafka round trip itself is covered by tests/e2e and test_tracing)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import grpc
import pytest

from archipel.accounts.v1 import accounts_pb2 as pb
from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc
from services.accounts.projections import AccountsReadModel
from services.accounts.service import SERVICE, ports
from shared.auth import Principal, Role
from shared.chain_check import LocalChain
from shared.clock import FixedClock
from shared.contracts.accounts import REGISTRY
from shared.db import check_identifier
from shared.eventstore import EventStore
from shared.projections import ProjectionRunner
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from shared.token_keys import SigningKey
from tests.grpc_serving import serving
from tests.tokens import mint

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ACADEMY = "aix-marseille"
PASSWORD = "correct horse battery"
_CODE = re.compile(r"Code d'activation : (\S+)")


@dataclass
class ListMailer:
    messages: list[EmailMessage] = field(default_factory=list)

    async def send(self, message: EmailMessage) -> None:
        self.messages.append(message)

    def last_token(self, recipient: str) -> str:
        for message in reversed(self.messages):
            if message["To"] == recipient:
                found = _CODE.search(message.get_content())
                assert found, message.get_content()
                return found.group(1)
        raise AssertionError(f"no mail for {recipient}")


@dataclass
class AccountsServer:
    settings: Settings
    store: EventStore
    clock: FixedClock
    mailer: ListMailer
    channel: grpc.aio.Channel
    stub: pb_grpc.AccountsStub

    async def event_count(self, event_type: str | None = None) -> int:
        schema = check_identifier(self.settings.db_schema("accounts"))
        count: int = await self.store.pool.fetchval(
            f"SELECT count(*) FROM {schema}.events WHERE $1::text IS NULL OR event_type = $1", event_type
        )
        return count

    async def project(self) -> None:
        """Applies every stored event to the read model, stream by stream (redeliveries are no-ops).
        Streams are read directly rather than through the global log, whose horizon (the oldest
        transaction in flight on the whole server, other tests' included) may hide recent events."""
        runner = ProjectionRunner(self.store.pool, REGISTRY, AccountsReadModel())
        for row in await self.store.pool.fetch("SELECT DISTINCT stream_id FROM events ORDER BY 1"):
            for envelope in await self.store.read_stream(row["stream_id"]):
                await runner.handle_raw(*CHAIN.record(envelope))

    def token(self, principal: Principal, *, key: SigningKey | None = None, issued: datetime | None = None) -> str:
        issued_at = issued or self.clock()
        return mint(self.settings, principal, issued_at, timedelta(hours=1), key=key)

    async def create(self, email: str | None = None, password: str = PASSWORD, academy: str = ACADEMY) -> str:
        """A pending candidate account; returns its email."""
        email = email or f"c-{uuid.uuid4().hex[:12]}@example.fr"
        await self.stub.CreateAccount(create_request(email=email, password=password, academy=academy))
        return email

    async def create_active(self, academy: str = ACADEMY) -> tuple[str, str]:
        """An activated candidate account; returns (account id, email)."""
        email = await self.create(academy=academy)
        activated = await self.stub.ActivateAccount(
            pb.ActivateAccountRequest(token=self.mailer.last_token(email), password=PASSWORD)
        )
        return str(activated.account_id), email


def create_request(**fields: Any) -> pb.CreateAccountRequest:
    """A valid CreateAccount request, with `fields` replacing the defaults."""
    defaults: dict[str, Any] = {
        "last_name": "Martin",
        "first_names": "Léa Anne",
        "birth_date": date(2007, 5, 14).isoformat(),
        "email": f"c-{uuid.uuid4().hex[:12]}@example.fr",
        "password": PASSWORD,
        "academy": ACADEMY,
    }
    return pb.CreateAccountRequest(**{**defaults, **fields})


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def staff(academy: str) -> Principal:
    return Principal(subject=f"staff-{uuid.uuid4().hex[:8]}", role=Role.STAFF, academy=academy)


def candidate(account_id: str, academy: str = ACADEMY) -> Principal:
    return Principal(subject=account_id, role=Role.CANDIDATE, academy=academy)


@asynccontextmanager
async def serve_accounts(settings: Settings, clock: FixedClock, mailer: ListMailer) -> AsyncIterator[AccountsServer]:
    """One instance of the accounts service over `settings`' schema (several may share it)."""
    async with open_store(settings, SERVICE, clock) as store:
        runtime = Runtime(settings, store, clock)
        built = build_grpc_server(SERVICE, runtime, ports(runtime, mailer))
        async with serving(built, settings) as served:
            channel = served.channel
            yield AccountsServer(settings, store, clock, mailer, channel, pb_grpc.AccountsStub(channel))


@pytest.fixture(name="accounts")
async def accounts_server(isolated_settings: Settings) -> AsyncIterator[AccountsServer]:
    async with serve_accounts(isolated_settings, FixedClock(START), ListMailer()) as server:
        yield server
