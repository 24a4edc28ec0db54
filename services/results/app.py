"""Wiring of the results service."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1.health import aio as health_aio

from archipel.results.v1 import results_pb2_grpc as pb_grpc
from services.results.api import SERVICE_NAME, ResultsServicer
from services.results.events import REGISTRY
from services.results.handlers import ResultsHandlers
from services.results.inbound import INBOUND
from services.results.projections import CandidatesView, OutcomesView, registration_intake
from services.results.schema import migrations
from shared.clock import Clock, system_clock
from shared.eventstore import EventStore
from shared.reference import load_reference
from shared.rpc import build_server
from shared.service import ServiceSpec, serve_grpc
from shared.settings import Settings

SPEC = ServiceSpec(
    name="results",
    registry=REGISTRY,
    migrations=migrations,
    projections=lambda: [CandidatesView(), OutcomesView(), registration_intake()],
    projection_topics=("accounts", "registration", "results"),
    inbound=INBOUND,
)


def build_grpc_server(
    settings: Settings, store: EventStore, clock: Clock
) -> tuple[grpc.aio.Server, health_aio.HealthServicer]:
    servicer = ResultsServicer(ResultsHandlers(store, clock, load_reference().regulations), settings.secret(), clock)
    return build_server(
        secret=settings.secret(),
        clock=clock,
        public_methods=(),
        service_names=[SERVICE_NAME],
        register=lambda server: pb_grpc.add_ResultsServicer_to_server(servicer, server),
    )


async def serve(settings: Settings, stop: asyncio.Event, clock: Clock = system_clock) -> None:
    await serve_grpc(
        settings, SPEC, [SERVICE_NAME], lambda store: build_grpc_server(settings, store, clock), stop=stop, clock=clock
    )
