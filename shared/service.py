"""A service declared once (`Service`): its events, deciders' commands, ports, gRPC API,
projections, inbound subscriptions, intakes and private tables. Serving the API, the relay and
the projections, the supervisor of `archipel run` and the tests all derive from that declaration
(`python -m services <name> serve|relay|projections`). Nothing here runs at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from faststream.kafka import KafkaBroker
from kafka import KafkaProducer

from shared import eventstore, projections, relay
from shared.auth import TokenVerifier, TokenVersions
from shared.clock import Clock, system_clock
from shared.consumers import subscribe_projection
from shared.db import Migration, create_pool, migrate
from shared.dead_letter import dead_letter_topic
from shared.events import EventRegistry
from shared.eventstore import EventStore
from shared.intake import Intake, IntakeProjection
from shared.kafka import kafka_access, producer_config
from shared.keystore import ensure_keystore, keystore, keystore_ready
from shared.personal import KEYRING
from shared.pipeline import CommandSpec, Pipeline
from shared.projections import Projection, ProjectionRunner
from shared.reactions import Reaction, ReactionProjection
from shared.relay import Relay
from shared.settings import Settings

log = logging.getLogger(__name__)

P = TypeVar("P")


@dataclass(frozen=True)
class Runtime:
    """What a running process of a service has: built in its lifespan, passed in."""

    settings: Settings
    store: EventStore
    clock: Clock
    _verifiers: dict[str, TokenVerifier] = field(default_factory=dict, compare=False, repr=False)

    def verifier(self, audience: str) -> TokenVerifier:
        """The tokens the service `audience` accepts: the published key set, read once."""
        if audience not in self._verifiers:
            self._verifiers[audience] = TokenVerifier.from_file(audience, self.settings.token_keys_path())
        return self._verifiers[audience]


@dataclass(frozen=True)
class Api:
    """A service's typed gRPC API: its full service names, how to add its servicers to a server,
    and the methods callable without a token."""

    names: Sequence[str]
    register: Callable[[grpc.aio.Server], None]
    public_methods: Sequence[str] = ()


def _none() -> Sequence[Projection]:
    return ()


@dataclass(frozen=True)
class Service(Generic[P]):
    name: str
    registry: EventRegistry  # the events it publishes
    ports: Callable[[Runtime], P]  # its read ports and what its effects need, once per process
    commands: Sequence[CommandSpec[Any, Any, Any, P]] = ()
    api: Callable[[Runtime, Pipeline[P], P], Api] | None = None
    projections: Callable[[], Sequence[Projection]] = _none  # its read models
    projection_topics: Sequence[str] = ()  # the services whose topics feed its read models and intakes
    inbound: EventRegistry | None = None  # the other services' events it reads
    intakes: Sequence[Intake] = ()
    reactions: Sequence[Reaction[P]] = ()  # effects of consumed events through its ports (shared.reactions)
    tables: Sequence[Migration] = ()  # private tables written with the events
    on_start: Callable[[Pipeline[P]], Awaitable[None]] | None = None  # once, before serving
    # The accounts' token versions as this service knows them, checked on every call (a token
    # older than its account's version is refused): every service of SERVICES declares one.
    token_versions: Callable[[Runtime, Pipeline[P]], TokenVersions] | None = None

    @property
    def projection_registry(self) -> EventRegistry:
        return self.registry.merged(self.inbound) if self.inbound else self.registry

    def migrations(self) -> tuple[Migration, ...]:
        read_models = tuple(m for projection in self.projections() for m in projection.migrations)
        return (*eventstore.MIGRATIONS, *relay.MIGRATIONS, *projections.MIGRATIONS, *self.tables, *read_models)

    def pipeline(self, runtime: Runtime) -> Pipeline[P]:
        return Pipeline(runtime.store, self.ports(runtime), self.commands, runtime.clock)


@contextlib.asynccontextmanager
async def open_store(
    settings: Settings, service: Service[Any], clock: Clock = system_clock, *, max_size: int = 10
) -> AsyncIterator[EventStore]:
    dsn = settings.database_url_for(service.name)  # its own role, owner of its schema
    pool = await create_pool(dsn, settings.db_schema(service.name), max_size=max_size)
    try:
        await migrate(pool, service.migrations())
        # Personal fields are sealed with the key store's data keys (issue 13 part 7): made by
        # `infra up` (else here, once, as its owner); the readers' KEYRING reads the same store.
        keys = keystore(settings) if await keystore_ready(pool, settings) else await ensure_keystore(settings)
        KEYRING.source = keys
        yield EventStore(pool, service.registry, clock=clock, keys=keys)
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, service: Service[Any], clock: Clock = system_clock, *, max_size: int = 10
) -> AsyncIterator[Runtime]:
    async with open_store(settings, service, clock, max_size=max_size) as store:
        yield Runtime(settings, store, clock)


async def run_relay(settings: Settings, service: Service[Any], stop: asyncio.Event) -> None:
    access = kafka_access(settings, service.name)  # its own principal: it may write its topic only

    def new_producer() -> KafkaProducer:
        return KafkaProducer(**producer_config(access))

    relay: Relay | None = None
    try:
        async with open_store(settings, service, max_size=3) as store:
            topic = settings.topic(service.name)
            log.info("relay of %s publishing to %s", service.name, topic)
            relay = Relay(store, new_producer(), topic, name=f"{service.name}-relay", renew=new_producer)
            await relay.run(stop)
    finally:
        if relay is not None:
            relay.producer.close(timeout=10)


async def run_projections(
    settings: Settings, service: Service[Any], stop: asyncio.Event, clock: Clock = system_clock
) -> None:
    registry = service.projection_registry
    async with open_runtime(settings, service, clock) as runtime:
        access = kafka_access(settings, service.name)  # reads its topics, in its own groups
        broker = KafkaBroker(**access.faststream(), logger=log, log_level=logging.DEBUG, graceful_timeout=10)
        topics = [settings.topic(name) for name in service.projection_topics]
        pipeline = service.pipeline(runtime)
        consumers = [
            *service.projections(),
            *(IntakeProjection(intake, pipeline) for intake in service.intakes),
            *(ReactionProjection(reaction, pipeline.ports) for reaction in service.reactions),
        ]
        for projection in consumers:
            runner = ProjectionRunner(runtime.store.pool, registry, projection)
            subscribe_projection(
                broker, runner, topics, settings.db_schema_prefix, dead_letter_topic(settings.topic_prefix)
            )
        await broker.start()
        log.info("projections of %s consuming %s", service.name, ", ".join(topics))
        try:
            await stop.wait()
        finally:
            await broker.stop()


@dataclass(frozen=True)
class GrpcServer:
    server: grpc.aio.Server
    health: Any  # grpc_health's aio HealthServicer
    names: Sequence[str]
    pipeline: Pipeline[Any]


def build_grpc_server(service: Service[P], runtime: Runtime, ports: P | None = None) -> GrpcServer:
    """The service's gRPC server (its API, plus the generic Commands endpoint when it declares
    commands for it), not yet listening. Tests pass ports of their own (a mail outbox, say)."""
    from shared.command_rpc import SERVICE_NAME as COMMANDS  # noqa: PLC0415 (generated stubs)
    from shared.command_rpc import CommandsServicer  # noqa: PLC0415
    from shared.command_rpc import register as register_commands  # noqa: PLC0415
    from shared.rpc import build_server  # noqa: PLC0415

    ports = service.ports(runtime) if ports is None else ports
    pipeline = Pipeline(runtime.store, ports, service.commands, runtime.clock)
    api = service.api(runtime, pipeline, ports) if service.api else Api((), lambda server: None)
    generic = any(spec.rpc for spec in service.commands)
    names = [*api.names, *([COMMANDS] if generic else [])]
    verifier = runtime.verifier(service.name)
    versions = service.token_versions(runtime, pipeline) if service.token_versions else None

    def register(server: grpc.aio.Server) -> None:
        api.register(server)
        if generic:
            register_commands(server, CommandsServicer(pipeline, verifier, runtime.clock))

    server, health = build_server(
        verifier=verifier,
        clock=runtime.clock,
        public_methods=api.public_methods,
        service_names=names,
        register=register,
        versions=versions,
    )
    return GrpcServer(server, health, names, pipeline)


async def serve_grpc(
    settings: Settings, service: Service[Any], stop: asyncio.Event, clock: Clock = system_clock
) -> None:
    """Opens the store, serves the gRPC API on the service's port until `stop`, then drains."""
    from shared.grpc_tls import listen  # noqa: PLC0415
    from shared.rpc import mark_serving  # noqa: PLC0415

    async with open_runtime(settings, service, clock) as runtime:
        built = build_grpc_server(service, runtime)
        if service.on_start is not None:
            await service.on_start(built.pipeline)
        address = f"{settings.grpc_host}:{settings.grpc_port(service.name)}"
        listen(built.server, settings, address)  # mutual TLS (shared.grpc_tls) unless plaintext
        await built.server.start()
        await mark_serving(built.health, built.names)
        log.info("%s gRPC listening on %s", service.name, address)
        try:
            await stop.wait()
        finally:
            await built.server.stop(grace=5)


ROLES = ("serve", "relay", "projections")


def run_role(settings: Settings, service: Service[Any], role: str) -> int:
    """One role of a service in this process, until SIGINT or SIGTERM."""
    from shared.telemetry import setup_tracing  # noqa: PLC0415

    setup_tracing(f"{service.name}-{role}")
    if role == "relay":
        return run_until_signal(lambda stop: run_relay(settings, service, stop))
    if role == "projections":
        return run_until_signal(lambda stop: run_projections(settings, service, stop))
    return run_until_signal(lambda stop: serve_grpc(settings, service, stop))


def run_until_signal(main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Runs `main(stop)`; SIGINT or SIGTERM sets `stop` for a clean shutdown."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await main(stop)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(runner())
    return 0
