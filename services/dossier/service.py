"""The dossier service, declared once: a read side with no commands and no events of its own. Its
two read models are fed by the four services' topics; its API reads them through its queries.
`python -m services dossier serve|relay|projections`."""

from __future__ import annotations

from dataclasses import dataclass

from services.dossier.convocations import ConvocationFeedReadModel
from services.dossier.inbound import INBOUND
from services.dossier.projections import DossierReadModel
from services.dossier.queries import DossierQueries
from shared import known_accounts
from shared.events import EventRegistry
from shared.pipeline import Pipeline
from shared.service import Api, Runtime, Service


@dataclass(frozen=True)
class DossierPorts:
    queries: DossierQueries


def ports(runtime: Runtime) -> DossierPorts:
    return DossierPorts(DossierQueries(runtime.store.pool))


def api(runtime: Runtime, pipeline: Pipeline[DossierPorts], ports: DossierPorts) -> Api:
    from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc  # noqa: PLC0415 (generated stubs)
    from services.dossier.api import SERVICE_NAME, DossierServicer  # noqa: PLC0415

    servicer = DossierServicer(ports.queries, runtime.verifier("dossier"), runtime.clock)
    return Api([SERVICE_NAME], lambda server: pb_grpc.add_DossierServicer_to_server(servicer, server))


SERVICE = Service(
    name="dossier",
    registry=EventRegistry(),  # no events of its own
    ports=ports,
    api=api,
    projections=lambda: [DossierReadModel(), ConvocationFeedReadModel(), known_accounts.KnownAccounts("dossier")],
    token_versions=known_accounts.versions,
    projection_topics=("accounts", "registration", "documents", "results"),
    inbound=INBOUND,
)
