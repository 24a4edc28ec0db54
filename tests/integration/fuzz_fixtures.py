"""Every Archipel gRPC server, built from its service declaration, on a real port in the test's event
loop, over the real PostgreSQL (the schemas of `isolated_settings`), for the fuzzer: the methods of
each server are discovered from the proto descriptors of the services it registers, and the events of
every service schema are counted in one query. Mail goes to a list; uploads are capped at 64 KiB so
an oversized stream stays small."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor

from shared.auth import Principal, Role
from shared.clock import Clock, system_clock
from shared.eventstore import EventStore
from shared.launch import load_service
from shared.names import SERVICES
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from shared.token_keys import SigningKey
from tests.grpc_serving import serving
from tests.integration.grpc_fixtures import ListMailer
from tests.tokens import mint

ACADEMY = "aix-marseille"
UPLOAD_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class Endpoint:
    """One RPC of one running server."""

    service: str
    channel: grpc.aio.Channel
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"


@dataclass
class Fleet:
    settings: Settings
    stores: dict[str, EventStore]
    endpoints: list[Endpoint]
    clock: Clock
    mailer: ListMailer

    async def event_count(self) -> int:
        """The events of every service, each counted through its own store (a service's database
        role reads its own schema only)."""
        total = 0
        for store in self.stores.values():
            count: int = await store.pool.fetchval("SELECT count(*) FROM events")
            total += count
        return total

    def token(self, role: Role, subject: str, academy: str = ACADEMY, *, key: SigningKey | None = None) -> str:
        principal = Principal(subject=subject, role=role, academy=academy)
        return mint(self.settings, principal, self.clock(), timedelta(hours=1), key=key)

    def expired_token(self, subject: str) -> str:
        principal = Principal(subject=subject, role=Role.STAFF, academy=ACADEMY)
        return mint(self.settings, principal, self.clock() - timedelta(hours=3), timedelta(hours=1))


def _ports(name: str, runtime: Runtime, mailer: ListMailer) -> object:
    """The service's ports, with the list mailer where its ports take one."""
    service = load_service(f"services.{name}.service")
    if "mailer" in inspect.signature(service.ports).parameters:
        return service.ports(runtime, mailer)  # type: ignore[call-arg]
    return service.ports(runtime)


@pytest.fixture(name="fleet")
async def fleet_of_servers(isolated_settings: Settings) -> AsyncIterator[Fleet]:
    settings = isolated_settings.model_copy(update={"upload_max_bytes": UPLOAD_MAX_BYTES})
    mailer = ListMailer()
    async with contextlib.AsyncExitStack() as stack:
        stores: dict[str, EventStore] = {}
        endpoints: list[Endpoint] = []
        for name in SERVICES:
            service = load_service(f"services.{name}.service")
            store = await stack.enter_async_context(open_store(settings, service, system_clock))
            stores[name] = store
            runtime = Runtime(settings, store, system_clock)
            built = build_grpc_server(service, runtime, _ports(name, runtime, mailer))
            channel = (await stack.enter_async_context(serving(built, settings))).channel
            for full_name in built.names:
                described = descriptor_pool.Default().FindServiceByName(full_name)
                endpoints += [Endpoint(name, channel, method) for method in described.methods]
        yield Fleet(settings, stores, endpoints, system_clock, mailer)
