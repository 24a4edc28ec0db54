"""Wiring of the registration service."""

from __future__ import annotations

import asyncio
import logging

import grpc
from grpc_health.v1.health import aio as health_aio

from archipel.registration.v1 import registration_pb2_grpc as pb_grpc
from services.registration.api import SERVICE_NAME, RegistrationServicer
from services.registration.events import REGISTRY
from services.registration.handlers import RegistrationHandlers
from services.registration.inbound import INBOUND
from services.registration.projections import CandidatesView, RegistrationsView
from services.registration.schema import migrations
from shared.clock import Clock, system_clock
from shared.eventstore import EventStore
from shared.reference import ReferenceData, load_reference
from shared.rpc import build_server
from shared.service import ServiceSpec, open_store, serve_grpc
from shared.settings import Settings

log = logging.getLogger(__name__)

SPEC = ServiceSpec(
    name="registration",
    registry=REGISTRY,
    migrations=migrations,
    projections=lambda: [CandidatesView(), RegistrationsView()],
    projection_topics=("accounts", "registration", "results"),
    inbound=INBOUND,
)


def build_grpc_server(
    settings: Settings, store: EventStore, clock: Clock, reference: ReferenceData
) -> tuple[grpc.aio.Server, health_aio.HealthServicer]:
    servicer = RegistrationServicer(RegistrationHandlers(store, clock, reference), settings.secret(), clock)
    return build_server(
        secret=settings.secret(),
        clock=clock,
        public_methods=(),
        service_names=[SERVICE_NAME],
        register=lambda server: pb_grpc.add_RegistrationServicer_to_server(servicer, server),
    )


async def serve(settings: Settings, stop: asyncio.Event, clock: Clock = system_clock) -> None:
    reference = load_reference()
    async with open_store(settings, SPEC, clock) as store:
        seeded = await RegistrationHandlers(store, clock, reference).publish_seeded_calendars()
        log.info("registration: %d seeded calendars published", seeded)
    await serve_grpc(
        settings,
        SPEC,
        [SERVICE_NAME],
        lambda store: build_grpc_server(settings, store, clock, reference),
        stop=stop,
        clock=clock,
    )
