"""The convocation feed on the real PostgreSQL: the envelopes of the registration, documents and
accounts topics applied through ProjectionRunner.handle_raw in shuffled orders (redeliveries
included) give the pure fold's feed; ListConvocations per role and per day (partial before
convocations_from, full after); the reference consumer `archipel convocations generate`, run against
the in-process dossier server, writes the PDFs once, then nothing, then replaces a newer version."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from archipel.dossier.v1 import dossier_pb2 as pb
from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc
from archipel_cli.main import main
from services.dossier.api import SERVICE_NAME
from services.dossier.convocations import Convocation, ConvocationFeedReadModel, fold
from services.dossier.projections import DossierReadModel
from services.dossier.service import SERVICE as SPEC
from shared.auth import Principal, Role
from shared.chain_check import LocalChain
from shared.clock import FixedClock
from shared.contracts import accounts
from shared.events import Envelope
from shared.projections import ProjectionRunner
from shared.reference import ExamForm
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from tests.grpc_serving import serving
from tests.integration.registration_fixtures import pdf_text
from tests.tokens import mint
from tests.unit.convocation_samples import ACADEMY, SESSION, SPECIALTY, Publisher

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

Metadata = tuple[tuple[str, str], ...]
BEFORE_APRIL = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


@dataclass
class FeedServer:
    settings: Settings
    clock: FixedClock
    runners: list[ProjectionRunner]
    stub: pb_grpc.DossierStub
    target: str

    def auth(self, role: Role, academy: str = ACADEMY) -> Metadata:
        principal = Principal(subject=f"{role.value}-{uuid.uuid4().hex[:6]}", role=role, academy=academy)
        token = mint(self.settings, principal, self.clock(), timedelta(days=100))
        return (("authorization", f"Bearer {token}"),)

    async def deliver(self, publisher: Publisher, seed: int) -> int:
        applied = 0
        for envelope in publisher.interleaved(seed):
            for runner in self.runners:
                raw = publisher.raw[envelope.event_id]
                applied += await runner.handle_raw(*CHAIN.record(envelope, raw))
        return applied


@pytest.fixture(name="feed")
async def feed_server(isolated_settings: Settings) -> AsyncIterator[FeedServer]:
    clock = FixedClock(BEFORE_APRIL)
    async with open_store(isolated_settings, SPEC, clock) as store:
        built = build_grpc_server(SPEC, Runtime(isolated_settings, store, clock))
        runners = [
            ProjectionRunner(store.pool, SPEC.projection_registry, projection)
            for projection in (ConvocationFeedReadModel(), DossierReadModel())
        ]
        async with serving(built, isolated_settings, [SERVICE_NAME]) as served:
            yield FeedServer(isolated_settings, clock, runners, pb_grpc.DossierStub(served.channel), served.target)


def _campaign() -> tuple[Publisher, dict[str, uuid.UUID]]:
    p = Publisher()
    who = {
        "full": p.candidate(),
        "exempted": p.candidate(exempted=("U3",), benefits=("U4",), language="arabe", handicap=True),
        "progressive": p.candidate(form=ExamForm.PROGRESSIVE, units=("U5", "U6")),
        "incomplete": p.candidate(dossier="incomplete"),
        "rejected": p.candidate(dossier="rejected"),
        "non_inscrit": p.candidate(not_registered=True),
        "elsewhere": p.candidate(academy="lyon"),
    }
    p.schedule()
    p.schedule(academy="lyon")
    return p, who


async def _stored(feed: FeedServer) -> dict[tuple[uuid.UUID, int, str], tuple[Convocation, ...]]:
    rows = await feed.runners[0].pool.fetch(
        "SELECT candidate_id, session, specialty, entry FROM convocation_feed ORDER BY candidate_id, partial DESC"
    )
    stored: dict[tuple[uuid.UUID, int, str], tuple[Convocation, ...]] = {}
    for r in rows:
        key = (r["candidate_id"], r["session"], r["specialty"])
        stored[key] = (*stored.get(key, ()), Convocation.model_validate_json(r["entry"]))
    return stored


@pytest.mark.parametrize("seed", [11, 12])
async def test_the_feed_whatever_the_order(feed: FeedServer, seed: int) -> None:
    p, who = _campaign()
    assert await feed.deliver(p, seed) > 0
    assert await feed.deliver(p, seed + 100) == 0  # redelivered: no-ops
    expected = fold(e for events in p.streams.values() for e in events)
    assert {tuple(k): v for k, v in expected.items()} == await _stored(feed)

    staff = feed.auth(Role.STAFF)
    listed = await feed.stub.ListConvocations(pb.ListConvocationsRequest(session=SESSION), metadata=staff)
    shown = {c.candidate_id: c for c in listed.convocations}
    assert set(shown) == {str(who["full"]), str(who["exempted"])}  # 1 April: the partial ones only
    assert all(c.partial and [t.unit for t in c.tests] == ["U2"] for c in shown.values())
    assert shown[str(who["exempted"])].handicap and shown[str(who["exempted"])].tests[0].starts_at.startswith(
        "2026-02-10T14:00"
    )

    feed.clock.advance(timedelta(days=14))  # 15 April (Paris): the full convocations
    request = pb.ListConvocationsRequest(session=SESSION, academy=ACADEMY)
    listed = await feed.stub.ListConvocations(request, metadata=feed.auth(Role.AUDITOR))
    shown = {c.candidate_id: c for c in listed.convocations}
    assert set(shown) == {str(who[n]) for n in ("full", "exempted", "progressive")}
    assert [t.unit for t in shown[str(who["exempted"])].tests] == ["U2", "U1", "U5", "U6"]
    assert list(shown[str(who["full"])].unscheduled) == ["U7"]
    national = feed.auth(Role.NATIONAL_AUDITOR, "national")  # the académie asked, or every académie's
    for asked, wanted in ((ACADEMY, set(shown)), ("", {*shown, str(who["elsewhere"])})):
        request = pb.ListConvocationsRequest(session=SESSION, academy=asked)
        listed = await feed.stub.ListConvocations(request, metadata=national)
        assert {c.candidate_id for c in listed.convocations} == wanted


async def test_a_forgotten_candidate_shows_as_a_replay_computes_it(feed: FeedServer) -> None:
    """CandidateForgotten (issue 13 part 7): the feed writes what the candidate's events read as once
    the key is destroyed (names empty, no birth date, no handicap), as a replay of them computes it."""
    p, who = _campaign()
    await feed.deliver(p, 11)
    gone = who["exempted"]
    assert any(c.handicap and c.last_name for c in (await _stored(feed))[(gone, SESSION, SPECIALTY)])
    p.publish(
        f"account-{gone}",
        accounts.CandidateForgotten(candidate_id=gone, reason="RGPD", forgotten_at=BEFORE_APRIL),
        ACADEMY,
        gone,
    )
    forget = p.streams[f"account-{gone}"][-1]
    for runner in feed.runners:
        assert await runner.handle_raw(*CHAIN.record(forget, p.raw[forget.event_id]))

    def erased(envelope: Envelope) -> Envelope:
        personal = envelope.payload.personal
        if envelope.candidate_id != str(gone) or not personal:
            return envelope
        return envelope.model_copy(update={"payload": envelope.payload.model_copy(update=dict(personal))})

    replayed = fold(erased(e) for events in p.streams.values() for e in events)
    stored = await _stored(feed)
    assert {tuple(k): v for k, v in replayed.items()} == stored
    mine = stored[(gone, SESSION, SPECIALTY)]
    assert mine and all((c.last_name, c.first_names, c.birth_date, c.handicap) == ("", "", None, False) for c in mine)
    assert any(c.last_name for key, found in stored.items() if key[0] != gone for c in found)  # others kept


async def test_only_staff_and_auditors_of_the_academie(feed: FeedServer) -> None:
    for metadata, request, code in (
        (feed.auth(Role.CANDIDATE), pb.ListConvocationsRequest(session=SESSION), grpc.StatusCode.PERMISSION_DENIED),
        (
            feed.auth(Role.STAFF),
            pb.ListConvocationsRequest(session=SESSION, academy="lyon"),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        (
            feed.auth(Role.AUDITOR, "lyon"),
            pb.ListConvocationsRequest(session=SESSION, academy=ACADEMY),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        (feed.auth(Role.STAFF), pb.ListConvocationsRequest(session=12), grpc.StatusCode.INVALID_ARGUMENT),
        ((), pb.ListConvocationsRequest(session=SESSION), grpc.StatusCode.UNAUTHENTICATED),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await feed.stub.ListConvocations(request, metadata=metadata)
        assert caught.value.code() is code, caught.value.details()


async def _generate(feed: FeedServer, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    token = feed.auth(Role.STAFF)[0][1].removeprefix("Bearer ")
    argv = ["convocations", "generate", "--session", str(SESSION), "--academy", ACADEMY, "--out", str(out)]
    assert await asyncio.to_thread(main, [*argv, "--target", feed.target, "--token", token]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


async def test_the_generator_is_idempotent(
    feed: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p, who = _campaign()
    await feed.deliver(p, 7)
    out = tmp_path / "convocations"
    assert await _generate(feed, out, capsys) == "written: 2, unchanged: 0, removed: 0"
    files = sorted(out.iterdir())
    first = {f.name: f.read_bytes() for f in files}
    assert await _generate(feed, out, capsys) == "written: 0, unchanged: 2, removed: 0"
    assert {f.name: f.read_bytes() for f in out.iterdir()} == first

    exempted = next(f for f in files if f.name.startswith(str(who["exempted"])))
    assert exempted.name.startswith(f"{who['exempted']}-{SESSION}-{SPECIALTY}-")
    text = pdf_text(exempted.read_bytes())
    for expected in (
        f"Convocation aux épreuves du BTS session {SESSION}",
        "Convocation partielle",
        "Académie d'Aix-Marseille",
        "Martin",
        "mardi 10 février 2026",
        "14:00",
        "Rectorat, Aix-en-Provence",
        "Aménagements d'épreuves : voir notification",
        "L'absence à une épreuve obligatoire est éliminatoire.",
        "pièce d'identité",
    ):
        assert expected in text, expected

    feed.clock.advance(timedelta(days=20))  # the full convocations replace the partial ones
    assert await _generate(feed, out, capsys) == "written: 3, unchanged: 0, removed: 2"
    assert len(list(out.iterdir())) == 3
    full = pdf_text(next(out.glob(f"{who['full']}-*.pdf")).read_bytes())
    assert "Convocation partielle" not in full
    for expected in ("vendredi 20 mars 2026", "lundi 11 mai 2026", "09:00", "4 h", "Lycée Thiers, Marseille", "U7"):
        assert expected in full, expected
    assert await _generate(feed, out, capsys) == "written: 0, unchanged: 3, removed: 0"
