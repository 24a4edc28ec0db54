"""The composition root shared by the services: open the store (pool, migrations), run the gRPC
server, the relay or the projections until a signal asks to stop. Nothing here runs at import."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import grpc
from faststream.kafka import KafkaBroker
from grpc_health.v1.health import aio as health_aio
from kafka import KafkaProducer

from shared.clock import Clock, system_clock
from shared.consumers import subscribe_projection
from shared.db import Migration, create_pool, migrate
from shared.events import EventRegistry
from shared.eventstore import EventStore
from shared.kafka import producer_config
from shared.projections import Projection, ProjectionRunner
from shared.relay import Relay
from shared.rpc import mark_serving
from shared.settings import Settings
from shared.telemetry import setup_tracing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    registry: EventRegistry
    migrations: Callable[[], Sequence[Migration]]
    projections: Callable[[], Sequence[Projection]]
    projection_topics: Sequence[str]  # services whose topics feed this service's projections
    inbound: EventRegistry | None = None  # the other services' events its projections read

    @property
    def projection_registry(self) -> EventRegistry:
        return self.registry.merged(self.inbound) if self.inbound else self.registry


@contextlib.asynccontextmanager
async def open_store(
    settings: Settings, spec: ServiceSpec, clock: Clock = system_clock, *, max_size: int = 10
) -> AsyncIterator[EventStore]:
    pool = await create_pool(settings.resolved_database_url(), settings.db_schema(spec.name), max_size=max_size)
    try:
        await migrate(pool, spec.migrations())
        yield EventStore(pool, spec.registry, clock=clock)
    finally:
        await pool.close()


async def run_relay(settings: Settings, spec: ServiceSpec, stop: asyncio.Event) -> None:
    producer = KafkaProducer(**producer_config(settings.resolved_kafka()))
    try:
        async with open_store(settings, spec, max_size=3) as store:
            relay = Relay(store, producer, settings.topic(spec.name), name=f"{spec.name}-relay")
            log.info("relay of %s publishing to %s", spec.name, settings.topic(spec.name))
            await relay.run(stop)
    finally:
        producer.close(timeout=10)


async def run_projections(settings: Settings, spec: ServiceSpec, stop: asyncio.Event) -> None:
    registry = spec.projection_registry
    async with open_store(settings, spec) as store:
        broker = KafkaBroker(settings.resolved_kafka(), logger=log, log_level=logging.DEBUG, graceful_timeout=10)
        topics = [settings.topic(name) for name in spec.projection_topics]
        for projection in spec.projections():
            subscribe_projection(
                broker, ProjectionRunner(store.pool, registry, projection), topics, settings.db_schema_prefix
            )
        await broker.start()
        log.info("projections of %s consuming %s", spec.name, ", ".join(topics))
        try:
            await stop.wait()
        finally:
            await broker.stop()


ServerFactory = Callable[[EventStore], tuple[grpc.aio.Server, health_aio.HealthServicer]]


async def serve_grpc(
    settings: Settings,
    spec: ServiceSpec,
    service_names: Sequence[str],
    build: ServerFactory,
    *,
    stop: asyncio.Event,
    clock: Clock = system_clock,
) -> None:
    """Opens the store, serves the gRPC API on the service's port until `stop`, then drains."""
    async with open_store(settings, spec, clock) as store:
        server, health = build(store)
        address = f"{settings.grpc_host}:{settings.grpc_port(spec.name)}"
        server.add_insecure_port(address)
        await server.start()
        await mark_serving(health, service_names)
        log.info("%s gRPC listening on %s", spec.name, address)
        try:
            await stop.wait()
        finally:
            await server.stop(grace=5)


def service_main(
    spec: ServiceSpec, serve: Callable[[Settings, asyncio.Event], Awaitable[None]], argv: Sequence[str] | None = None
) -> int:
    """`python -m services.<name> [serve|relay|projections]`: one role per process."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{spec.name}")
    parser.add_argument("role", choices=("serve", "relay", "projections"), nargs="?", default="serve")
    role = parser.parse_args(argv).role
    settings = Settings()
    setup_tracing(f"{spec.name}-{role}")
    if role == "relay":
        return run_until_signal(lambda stop: run_relay(settings, spec, stop))
    if role == "projections":
        return run_until_signal(lambda stop: run_projections(settings, spec, stop))
    return run_until_signal(lambda stop: serve(settings, stop))


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
