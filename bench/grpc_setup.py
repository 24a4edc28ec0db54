"""The gRPC servers of measurement 1 (registration and accounts, in this process, on free ports, over
the sandbox's schemas, with a FixedClock inside the registration window), the académies' calendars set
by staff, and candidates made known and activated to the registration service by applying inbound
AccountCreated / AccountActivated envelopes to its KnownAccounts read model, as its Kafka consumer would."""

from __future__ import annotations

import asyncio
import random
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from archipel.accounts.v1 import accounts_pb2_grpc as apb_grpc
from archipel.registration.v1 import registration_pb2 as pb
from archipel.registration.v1 import registration_pb2_grpc as pb_grpc
from bench.common import Config, Sandbox
from bench.profiles import CATEGORIES, SESSION, SPECIALTIES
from bench.tools import BenchMailer
from services.accounts import service as accounts_service
from services.registration.service import SERVICE as REGISTRATION
from shared.auth import Principal, Role, issue_token
from shared.chain_check import LocalChain
from shared.clock import FixedClock
from shared.contracts.accounts import AccountActivated, AccountCreated
from shared.events import DomainEvent, Envelope
from shared.eventstore import EventStore
from shared.grpc_tls import aio_channel, ensure_local_certificates, listen
from shared.known_accounts import KnownAccounts
from shared.projections import ProjectionRunner
from shared.reference import load_reference
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from shared.token_keys import ensure_keys, load_signing_key

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

INSIDE = datetime(2025, 10, 20, 10, 0, tzinfo=UTC)
Metadata = tuple[tuple[str, str], ...]


@dataclass
class Who:
    id: str
    academy: str
    specialty: str
    category: str
    optional: str | None
    auth: Metadata


@dataclass
class Servers:
    registration: pb_grpc.RegistrationStub
    accounts: apb_grpc.AccountsStub
    store: EventStore
    settings: Settings
    clock: FixedClock
    mailer: BenchMailer


@asynccontextmanager
async def servers(config: Config, box: Sandbox) -> AsyncIterator[Servers]:
    settings = Settings().model_copy(
        update={
            "database_url": config.dsn,
            "kafka_bootstrap_servers": config.kafka.bootstrap_servers,
            "db_schema_prefix": f"{box.prefix}_",
            "topic_prefix": box.prefix,
            "home": Path(tempfile.mkdtemp()),
        }
    )
    ensure_keys(settings.signing_key_path().parent)  # the token keys of this run
    ensure_local_certificates(settings)  # and its gRPC certificates, when its secrets are its own
    for service in ("registration", "accounts"):
        box.adopt(settings.db_schema(service))
    clock, mailer = FixedClock(INSIDE), BenchMailer()
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(open_store(settings, REGISTRATION, clock, max_size=20))
        accounts = await stack.enter_async_context(open_store(settings, accounts_service.SERVICE, clock, max_size=20))
        accounts_runtime = Runtime(settings, accounts, clock)
        built = [
            build_grpc_server(REGISTRATION, Runtime(settings, store, clock)).server,
            build_grpc_server(
                accounts_service.SERVICE, accounts_runtime, accounts_service.ports(accounts_runtime, mailer, limits={})
            ).server,
        ]
        channels = []
        for server in built:
            port = listen(server, settings, "127.0.0.1:0")  # mutual TLS, as the services serve
            await server.start()
            stack.push_async_callback(server.stop, None)
            channel = aio_channel(settings, target=f"127.0.0.1:{port}")
            stack.push_async_callback(channel.close)
            channels.append(channel)
        yield Servers(
            pb_grpc.RegistrationStub(channels[0]), apb_grpc.AccountsStub(channels[1]), store, settings, clock, mailer
        )


def bearer(s: Servers, principal: Principal) -> Metadata:
    token = issue_token(principal, load_signing_key(s.settings.signing_key_path()), s.clock(), timedelta(days=30))
    return (("authorization", f"Bearer {token}"),)


async def provision(s: Servers, academies: list[str], count: int, rng: random.Random) -> list[Who]:
    """Calendars for every académie, then `count` activated candidates known to the registration service."""
    for academy in academies:
        staff = bearer(s, Principal(subject=f"staff-{academy}", role=Role.STAFF, academy=academy))
        calendar = pb.SetCalendarRequest(
            academy=academy,
            session=SESSION,
            registration_opens="2025-10-01T08:00",
            registration_closes="2025-12-01T17:00",
            documents_deadline="2025-12-15T17:00",
            reason="bench calendar",
        )
        await s.registration.SetCalendar(calendar, metadata=staff)
    reference = load_reference()
    runner = ProjectionRunner(s.store.pool, REGISTRATION.projection_registry, KnownAccounts("registration"))

    async def inbound(stream: str, version: int, event: DomainEvent, academy: str, account: uuid.UUID) -> None:
        now = s.clock()
        envelope = Envelope(
            event_id=uuid.uuid4(),
            stream_id=stream,
            stream_version=version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=now,
            recorded_at=now,
            academy=academy,
            actor="accounts",
            candidate_id=str(account),
            correlation_id=uuid.uuid4(),
            causation_id=None,
            payload=event,
        )
        await runner.handle_raw(*CHAIN.record(envelope))

    async def one(index: int) -> Who:
        account, academy = uuid.uuid4(), academies[index % len(academies)]
        specialty = rng.choices([n for n, _ in SPECIALTIES], [w for _, w in SPECIALTIES])[0]
        category = rng.choices([c.value for c, _ in CATEGORIES], [w for _, w in CATEGORIES])[0]
        created = AccountCreated(
            account_id=account,
            role="candidate",
            last_name="Martin",
            first_names="Léa",
            birth_date=date(2004, 5, 14),
            email=f"{account.hex[:16]}@example.fr",
            academy=academy,
        )
        await inbound(f"account-{account}", 1, created, academy, account)
        activated = AccountActivated(account_id=account, academy=academy, activated_at=s.clock())
        await inbound(f"account-{account}", 2, activated, academy, account)
        optional = reference.regulation(specialty, SESSION).optional_units
        auth = bearer(s, Principal(subject=str(account), role=Role.CANDIDATE, academy=academy))
        return Who(str(account), academy, specialty, category, optional[0].code if optional else None, auth)

    made: list[Who] = []
    for start in range(0, count, 16):
        made += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 16))))
    return made
