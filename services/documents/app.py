"""Wiring of the documents service."""

from __future__ import annotations

import asyncio
import logging

import grpc
from grpc_health.v1.health import aio as health_aio

from archipel.documents.v1 import documents_pb2_grpc as pb_grpc
from services.documents.api import SERVICE_NAME, DocumentsServicer
from services.documents.blobstore import BlobStore, blob_store_from
from services.documents.events import REGISTRY
from services.documents.handlers import DocumentsHandlers
from services.documents.inbound import INBOUND
from services.documents.projections import ContactsView, DossiersView, requirements_intake
from services.documents.schema import migrations
from shared.clock import Clock, system_clock
from shared.eventstore import EventStore
from shared.mail import Mailer, mailer_from
from shared.rpc import build_server
from shared.service import ServiceSpec, serve_grpc
from shared.settings import Settings

log = logging.getLogger(__name__)

SPEC = ServiceSpec(
    name="documents",
    registry=REGISTRY,
    migrations=migrations,
    projections=lambda: [ContactsView(), DossiersView(), requirements_intake()],
    projection_topics=("accounts", "registration", "documents"),
    inbound=INBOUND,
)


def blobs_from(settings: Settings) -> BlobStore:
    return blob_store_from(settings.home, settings.blob_s3_bucket, settings.blob_s3_prefix, settings.blob_s3_endpoint)


def build_grpc_server(
    settings: Settings, store: EventStore, clock: Clock, blobs: BlobStore, mailer: Mailer
) -> tuple[grpc.aio.Server, health_aio.HealthServicer]:
    handlers = DocumentsHandlers(
        store, clock, blobs, mailer, staging=settings.home / "staging", max_bytes=settings.upload_max_bytes
    )
    servicer = DocumentsServicer(handlers, settings.secret(), clock)
    return build_server(
        secret=settings.secret(),
        clock=clock,
        public_methods=(),
        service_names=[SERVICE_NAME],
        register=lambda server: pb_grpc.add_DocumentsServicer_to_server(servicer, server),
    )


async def serve(settings: Settings, stop: asyncio.Event, clock: Clock = system_clock) -> None:
    blobs, mailer = blobs_from(settings), mailer_from(settings)
    await serve_grpc(
        settings,
        SPEC,
        [SERVICE_NAME],
        lambda store: build_grpc_server(settings, store, clock, blobs, mailer),
        stop=stop,
        clock=clock,
    )
