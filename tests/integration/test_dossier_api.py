"""The dossier service through gRPC, on the real PostgreSQL: the events of the four topics are
applied through ProjectionRunner.handle_raw, exactly as its Kafka consumers would, in a shuffled
cross-topic order (each topic in its own order), redelivered once; then GetDossier and ListDossiers
per role (a candidate: their own; staff and auditors: their académie's)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import pytest

from archipel.dossier.v1 import dossier_pb2 as pb
from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc
from archipel_cli.main import main
from services.dossier.api import SERVICE_NAME
from services.dossier.fold import DossierSummary, fold
from services.dossier.projections import DossierReadModel
from services.dossier.service import SERVICE as SPEC
from shared.auth import Principal, Role
from shared.chain_check import LocalChain
from shared.clock import FixedClock
from shared.events import Envelope
from shared.projections import ProjectionRunner
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from tests.grpc_serving import serving
from tests.tokens import mint
from tests.unit.dossier_samples import (
    ACADEMY,
    DEADLINE,
    SESSION,
    Streams,
    account_events,
    documents_events,
    registration_events,
    results_events,
)

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

Metadata = tuple[tuple[str, str], ...]
OTHER = "lyon"


@dataclass
class DossierServer:
    settings: Settings
    clock: FixedClock
    runner: ProjectionRunner
    stub: pb_grpc.DossierStub
    target: str

    def auth(self, role: Role, academy: str = ACADEMY, subject: str | None = None) -> Metadata:
        principal = Principal(subject=subject or f"{role.value}-{uuid.uuid4().hex[:6]}", role=role, academy=academy)
        token = mint(self.settings, principal, self.clock(), timedelta(hours=1))
        return (("authorization", f"Bearer {token}"),)

    async def deliver(self, streams: list[Streams], topics: list[list[Envelope]], seed: int) -> int:
        """Applies the topics' events merged in a random order that keeps each topic's own."""
        raw = {k: v for s in streams for k, v in s.raw.items()}
        rng = random.Random(seed)
        order = [i for i, topic in enumerate(topics) for _ in topic]
        rng.shuffle(order)
        cursors = [0] * len(topics)
        applied = 0
        for i in order:
            envelope = topics[i][cursors[i]]
            cursors[i] += 1
            applied += await self.runner.handle_raw(*CHAIN.record(envelope, raw[envelope.event_id]))
        return applied


@pytest.fixture(name="dossier")
async def dossier_server(isolated_settings: Settings) -> AsyncIterator[DossierServer]:
    clock = FixedClock(DEADLINE + timedelta(days=1))
    async with open_store(isolated_settings, SPEC, clock) as store:
        built = build_grpc_server(SPEC, Runtime(isolated_settings, store, clock))
        runner = ProjectionRunner(store.pool, SPEC.projection_registry, DossierReadModel())
        async with serving(built, isolated_settings, [SERVICE_NAME]) as served:
            yield DossierServer(isolated_settings, clock, runner, pb_grpc.DossierStub(served.channel), served.target)


@dataclass
class Campaign:
    published: Streams  # everything, down to the final result
    late: Streams  # a rejected document, deadline passed
    early: Streams  # documents uploaded before the registration arrived: registration topic not read yet
    elsewhere: Streams  # another académie


async def _campaign(dossier: DossierServer, seed: int) -> Campaign:
    c = Campaign(Streams(uuid.uuid4()), Streams(uuid.uuid4()), Streams(uuid.uuid4()), Streams(uuid.uuid4(), OTHER))
    by_topic: dict[str, list[Envelope]] = {"accounts": [], "registration": [], "documents": [], "results": []}
    for s in (c.published, c.elsewhere):
        by_topic["accounts"] += account_events(s)
        by_topic["registration"] += registration_events(s)
        by_topic["documents"] += documents_events(s)
        by_topic["results"] += results_events(s)
    by_topic["accounts"] += account_events(c.late)
    by_topic["registration"] += registration_events(c.late)
    by_topic["documents"] += documents_events(c.late, complete=False)
    by_topic["accounts"] += account_events(c.early)
    by_topic["documents"] += documents_events(c.early)
    streams = [c.published, c.late, c.early, c.elsewhere]
    total = sum(len(t) for t in by_topic.values())
    assert await dossier.deliver(streams, list(by_topic.values()), seed) == total
    assert await dossier.deliver(streams, list(by_topic.values()), seed + 1) == 0  # redelivered: no-ops
    expected = fold(e for topic in by_topic.values() for e in topic)  # the pure fold, in topic order
    stored = await dossier.runner.pool.fetch("SELECT candidate_id, session, view FROM dossier_views")
    assert {
        (r["candidate_id"], r["session"]): DossierSummary.model_validate_json(r["view"]) for r in stored
    } == expected
    return c


async def _refused(call: Any, code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() is code, caught.value.details()


@pytest.mark.parametrize("seed", [1, 2])
async def test_dossiers_whatever_the_order_of_the_topics(dossier: DossierServer, seed: int) -> None:
    c = await _campaign(dossier, seed)
    staff = dossier.auth(Role.STAFF)

    view = await dossier.stub.GetDossier(pb.GetDossierRequest(candidate_id=str(c.published.candidate)), metadata=staff)
    assert (view.state, view.account_status, view.session, view.academy) == (
        "results_published",
        "active",
        SESSION,
        ACADEMY,
    )
    line = view.specialties[0]
    assert (line.form, list(line.accepted), line.outcome, line.final_average) == (
        "globale",
        ["identity"],
        "ADMIS",
        "12.50",
    )
    assert dict(line.marks) == {"U1": "12.50", "U2": "absent (justified)"}

    late = await dossier.stub.GetDossier(
        pb.GetDossierRequest(candidate_id=str(c.late.candidate), session=SESSION), metadata=staff
    )
    assert (late.state, late.incomplete_after_deadline, list(late.specialties[0].rejected)) == (
        "documents_incomplete",
        True,
        ["identity"],
    )
    assert [(n.kind, n.detail) for n in late.notifications] == [("document_rejected", "identity: illisible")]
    early = await dossier.stub.GetDossier(pb.GetDossierRequest(candidate_id=str(c.early.candidate)), metadata=staff)
    assert (early.state, list(early.specialties[0].accepted)) == ("waiting_registration", ["identity"])

    listed = await dossier.stub.ListDossiers(pb.ListDossiersRequest(session=SESSION), metadata=staff)
    assert {d.candidate_id for d in listed.dossiers} == {str(s.candidate) for s in (c.published, c.late, c.early)}
    assert dict(listed.counts) == {"results_published": 1, "documents_incomplete": 1, "waiting_registration": 1}
    overdue = await dossier.stub.ListDossiers(
        pb.ListDossiersRequest(session=SESSION, incomplete_after_deadline=True), metadata=dossier.auth(Role.AUDITOR)
    )
    assert [(d.candidate_id, list(d.missing)) for d in overdue.dossiers] == [(str(c.late.candidate), ["identity"])]
    published = await dossier.stub.ListDossiers(
        pb.ListDossiersRequest(session=SESSION, state="results_published"), metadata=staff
    )
    assert [d.candidate_id for d in published.dossiers] == [str(c.published.candidate)]
    dossier.clock.now = DEADLINE - timedelta(days=1)  # before the deadline: nothing overdue
    before = await dossier.stub.ListDossiers(
        pb.ListDossiersRequest(session=SESSION, incomplete_after_deadline=True), metadata=staff
    )
    assert list(before.dossiers) == []


async def test_who_reads_what(dossier: DossierServer) -> None:
    c = await _campaign(dossier, 3)
    me = dossier.auth(Role.CANDIDATE, subject=str(c.late.candidate))
    own = await dossier.stub.GetDossier(pb.GetDossierRequest(), metadata=me)
    assert own.candidate_id == str(c.late.candidate)
    other = pb.GetDossierRequest(candidate_id=str(c.published.candidate))
    await _refused(dossier.stub.GetDossier(other, metadata=me), grpc.StatusCode.PERMISSION_DENIED)
    await _refused(
        dossier.stub.ListDossiers(pb.ListDossiersRequest(session=SESSION), metadata=me),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    auditor = await dossier.stub.GetDossier(other, metadata=dossier.auth(Role.AUDITOR))
    assert auditor.state == "results_published"
    lyon = dossier.auth(Role.STAFF, OTHER)
    await _refused(dossier.stub.GetDossier(other, metadata=lyon), grpc.StatusCode.NOT_FOUND)
    theirs = await dossier.stub.ListDossiers(pb.ListDossiersRequest(session=SESSION), metadata=lyon)
    assert [d.candidate_id for d in theirs.dossiers] == [str(c.elsewhere.candidate)]
    national = dossier.auth(Role.NATIONAL_AUDITOR, "national")  # every académie's dossiers
    every = await dossier.stub.ListDossiers(pb.ListDossiersRequest(session=SESSION), metadata=national)
    assert {d.candidate_id for d in every.dossiers} == {
        str(s.candidate) for s in (c.published, c.late, c.early, c.elsewhere)
    }
    assert (await dossier.stub.GetDossier(other, metadata=national)).state == "results_published"
    await _refused(dossier.stub.GetDossier(other), grpc.StatusCode.UNAUTHENTICATED)
    staff = dossier.auth(Role.STAFF)
    await _refused(dossier.stub.GetDossier(pb.GetDossierRequest(), metadata=staff), grpc.StatusCode.INVALID_ARGUMENT)
    await _refused(
        dossier.stub.GetDossier(pb.GetDossierRequest(candidate_id="nope"), metadata=staff),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await _refused(
        dossier.stub.GetDossier(pb.GetDossierRequest(candidate_id=str(c.late.candidate), session=2025), metadata=staff),
        grpc.StatusCode.NOT_FOUND,
    )
    for request in (pb.ListDossiersRequest(session=12), pb.ListDossiersRequest(session=SESSION, state="done")):
        await _refused(dossier.stub.ListDossiers(request, metadata=staff), grpc.StatusCode.INVALID_ARGUMENT)


async def test_the_cli(dossier: DossierServer, capsys: pytest.CaptureFixture[str]) -> None:
    c = await _campaign(dossier, 4)
    token = dossier.auth(Role.STAFF)[0][1].removeprefix("Bearer ")
    connection = ["--target", dossier.target, "--token", token]
    code = await asyncio.to_thread(
        main, ["dossier", "show", str(c.late.candidate), "--session", str(SESSION), *connection]
    )
    shown = json.loads(capsys.readouterr().out)
    assert code == 0 and shown["state"] == "documents_incomplete"
    argv = ["dossier", "list", "--session", str(SESSION), "--incomplete-after-deadline", *connection]
    code = await asyncio.to_thread(main, argv)
    listed = json.loads(capsys.readouterr().out)
    assert code == 0 and [d["candidate_id"] for d in listed["dossiers"]] == [str(c.late.candidate)]
    code = await asyncio.to_thread(main, ["dossier", "list", "--session", "12", *connection])
    assert code == 2 and "INVALID_ARGUMENT" in capsys.readouterr().err


@pytest.mark.parametrize("batch", [1, 4, 1000])
async def test_batches_applied_at_once_give_the_views_of_the_fold(dossier: DossierServer, batch: int) -> None:
    """A rebuild hands the projection whole batches (apply_many): the views must be those of the
    pure fold, whatever the batch size, with a candidate's account arriving after its parts, and
    with every event delivered twice."""
    c = [Streams(uuid.uuid4()), Streams(uuid.uuid4(), OTHER), Streams(uuid.uuid4())]
    topics = [
        [*registration_events(c[0]), *registration_events(c[1]), *registration_events(c[2])],
        [*documents_events(c[0]), *documents_events(c[1]), *documents_events(c[2], complete=False)],
        [*results_events(c[0]), *results_events(c[1])],
        [*account_events(c[0]), *account_events(c[1]), *account_events(c[2])],  # the accounts last
    ]
    events = [e for topic in topics for e in topic]
    projection = DossierReadModel()
    async with dossier.runner.pool.acquire() as connection, connection.transaction():
        for delivery in (events, events):
            for start in range(0, len(delivery), batch):
                await projection.apply_many(connection, delivery[start : start + batch])

    stored = await dossier.runner.pool.fetch("SELECT candidate_id, session, view FROM dossier_views")
    views = {(r["candidate_id"], r["session"]): DossierSummary.model_validate_json(r["view"]) for r in stored}
    assert views == fold(events)
    assert {candidate for candidate, _ in views} == {s.candidate for s in c}
    assert views[(c[0].candidate, SESSION)].account_status == "active"  # the account came last, and shows
