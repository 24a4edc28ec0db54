"""Wiring of the accounts service: its spec, its handlers and its gRPC server."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import grpc
from grpc_health.v1.health import aio as health_aio

from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc
from services.accounts.api import PUBLIC_METHODS, SERVICE_NAME, AccountsServicer
from services.accounts.events import REGISTRY
from services.accounts.handlers import AccountsConfig, AccountsHandlers
from services.accounts.projections import AccountsReadModel
from services.accounts.schema import migrations
from shared.clock import Clock, system_clock
from shared.eventstore import EventStore
from shared.mail import Mailer, mailer_from
from shared.rpc import build_server
from shared.service import ServiceSpec, serve_grpc
from shared.settings import Settings

log = logging.getLogger(__name__)

SPEC = ServiceSpec(
    name="accounts",
    registry=REGISTRY,
    migrations=migrations,
    projections=lambda: [AccountsReadModel()],
    projection_topics=("accounts",),
)


def handlers_for(settings: Settings, store: EventStore, clock: Clock, mailer: Mailer) -> AccountsHandlers:
    config = AccountsConfig(
        secret=settings.secret(),
        token_ttl=timedelta(minutes=settings.token_ttl_minutes),
        link_base=settings.activation_link_base,
        mail_from=settings.mail_from,
    )
    return AccountsHandlers(store, clock, mailer, config)


def build_grpc_server(
    settings: Settings, store: EventStore, clock: Clock, mailer: Mailer
) -> tuple[grpc.aio.Server, health_aio.HealthServicer]:
    servicer = AccountsServicer(handlers_for(settings, store, clock, mailer), store.pool, settings.secret(), clock)
    return build_server(
        secret=settings.secret(),
        clock=clock,
        public_methods=PUBLIC_METHODS,
        service_names=[SERVICE_NAME],
        register=lambda server: pb_grpc.add_AccountsServicer_to_server(servicer, server),
    )


async def serve(settings: Settings, stop: asyncio.Event, clock: Clock = system_clock) -> None:
    mailer = mailer_from(settings)
    await serve_grpc(
        settings,
        SPEC,
        [SERVICE_NAME],
        lambda store: build_grpc_server(settings, store, clock, mailer),
        stop=stop,
        clock=clock,
    )
