"""Wiring of the dossier service: a read side fed by the four topics, publishing nothing."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1.health import aio as health_aio

from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc
from services.dossier.api import SERVICE_NAME, DossierServicer
from services.dossier.convocations import ConvocationFeed
from services.dossier.inbound import INBOUND
from services.dossier.projections import DossierProjection
from services.dossier.schema import migrations
from shared.clock import Clock, system_clock
from shared.events import EventRegistry
from shared.eventstore import EventStore
from shared.rpc import build_server
from shared.service import ServiceSpec, serve_grpc
from shared.settings import Settings

REGISTRY = EventRegistry()  # no events of its own

SPEC = ServiceSpec(
    name="dossier",
    registry=REGISTRY,
    migrations=migrations,
    projections=lambda: [DossierProjection(), ConvocationFeed()],
    projection_topics=("accounts", "registration", "documents", "results"),
    inbound=INBOUND,
)


def build_grpc_server(
    settings: Settings, store: EventStore, clock: Clock
) -> tuple[grpc.aio.Server, health_aio.HealthServicer]:
    servicer = DossierServicer(store.pool, settings.secret(), clock)
    return build_server(
        secret=settings.secret(),
        clock=clock,
        public_methods=(),
        service_names=[SERVICE_NAME],
        register=lambda server: pb_grpc.add_DossierServicer_to_server(servicer, server),
    )


async def serve(settings: Settings, stop: asyncio.Event, clock: Clock = system_clock) -> None:
    await serve_grpc(
        settings, SPEC, [SERVICE_NAME], lambda store: build_grpc_server(settings, store, clock), stop=stop, clock=clock
    )
