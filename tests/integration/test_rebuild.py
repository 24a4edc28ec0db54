"""Rebuilds by several processes (shared.rebuild.Workers), against the real PostgreSQL and Kafka: the
read model they give back is the one a single process gives, duplicates included; a projection
that is not partitioned, a small backlog, or topics of unequal partition counts stay in one
process; a failing process fails the rebuild and releases the projection."""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import Callable, Sequence

import pytest
from kafka import KafkaProducer

from archipel_cli.main import main
from services.dossier.inbound import INBOUND
from services.dossier.projections import DossierReadModel
from services.dossier.service import SERVICE as DOSSIER
from shared import projections
from shared.audit.replay import replay
from shared.chain_check import LocalChain
from shared.db import create_pool, migrate
from shared.events import Envelope
from shared.eventstore import EventStore
from shared.infra.topics import ensure_topics
from shared.kafka import ADMIN, KafkaAccess, headers_for, kafka_access
from shared.projections import ProjectionRunner
from shared.rebuild import Job, RebuildFailed, Workers, rebuild, replay_job
from shared.settings import Settings
from shared.topic_reader import TopicReader
from tests.conftest import env_of
from tests.integration.sample_events import (
    Counted,
    CounterTotals,
    FailingTotals,
    Noted,
    PartitionedTotals,
    context,
    expected_totals,
    fill_counters,
    read_topic,
    relay_all,
    totals,
)
from tests.unit.dossier_samples import realistic

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

CANDIDATES, ROUNDS = 24, 3


async def topic_of(kafka_admin: KafkaAccess, unique: str, name: str, partitions: int) -> str:
    topic = f"t{unique}.{name}.events"
    await asyncio.to_thread(ensure_topics, kafka_admin, [topic], partitions)
    return topic


async def fill(store: EventStore, notes: Sequence[str] = ()) -> list[Envelope]:
    """The sample counters of CANDIDATES candidates; `notes` are added to candidate 0's stream."""
    written = await fill_counters(store, CANDIDATES, ROUNDS)
    for note in notes:
        version = sum(1 for e in written if e.stream_id == "counter-0-0")
        written += await store.append("counter-0-0", version, [Noted(text=note)], context("cand-0"))
    return written


async def publish_dossiers(producer: KafkaProducer, topic_of_service: Callable[[str], str], candidates: int) -> None:
    """`candidates` realistic dossiers (16 events each) on the four services' topics, keyed by the
    candidate and with the headers the relay writes."""
    for _ in range(candidates):
        for service, envelopes in realistic(uuid.uuid4()).items():
            for e in envelopes:
                value, chained = CHAIN.record(e)
                headers = [*headers_for(e, {}), ("hash", chained["hash"].encode())]
                topic = topic_of_service(service)
                producer.send(topic, value=value, key=e.partition_key.encode(), headers=headers)
    await asyncio.to_thread(producer.flush, 30)


async def versions(store: EventStore, projection: str) -> list[tuple[str, int]]:
    rows = await store.pool.fetch(
        "SELECT stream_id, version FROM projection_streams WHERE projection = $1 ORDER BY stream_id", projection
    )
    return [(r["stream_id"], r["version"]) for r in rows]


async def test_two_processes_rebuild_the_read_model_one_process_gives_duplicates_included(
    store: EventStore, producer: KafkaProducer, kafka_admin: KafkaAccess, database_url: str, unique: str
) -> None:
    topic = await topic_of(kafka_admin, unique, "counters", 4)
    written = await fill(store)
    assert await relay_all(store, producer, topic) == len(written)
    # The relay's at-least-once: the whole log published a second time, under another checkpoint.
    assert await relay_all(store, producer, topic, name="second-relay") == len(written)
    runner = ProjectionRunner(store.pool, store.registry, PartitionedTotals(f"totals_{unique}"))

    assert gc.isenabled()
    alone = await rebuild(runner, kafka_admin, [topic])
    assert gc.isenabled()  # paused during the replay in this process, then given back
    alone_rows, alone_versions = await totals(store.pool), await versions(store, f"totals_{unique}")
    split = await rebuild(runner, kafka_admin, [topic], workers=Workers(database_url, 2, from_records=0))

    assert (alone.processes, split.processes) == (1, 2)
    assert alone_rows == expected_totals(written)
    assert await totals(store.pool) == alone_rows
    assert await versions(store, f"totals_{unique}") == alone_versions
    assert (split.events_read, split.events_applied) == (2 * len(written), len(written))
    assert split.startup_seconds > 0
    assert alone.peak_rss_kb == ()  # replayed in this process
    assert len(split.peak_rss_kb) == 2 and all(kb > 20_000 for kb in split.peak_rss_kb)  # a Python each


async def test_one_process_rebuilds_what_cannot_or_need_not_be_split(
    store: EventStore, producer: KafkaProducer, kafka_admin: KafkaAccess, database_url: str, unique: str
) -> None:
    """Not partitioned; a backlog below `from_records`; topics of 4 and 3 partitions (a key's events
    could sit in partitions of different indices): each is rebuilt in this process, and right."""
    four = await topic_of(kafka_admin, unique, "four", 4)
    three = await topic_of(kafka_admin, unique, "three", 3)
    written = await fill(store)
    assert await relay_all(store, producer, four) == len(written)
    assert await relay_all(store, producer, three, name="to-three") == len(written)
    workers = Workers(database_url, 2, from_records=0)
    cases = [
        (CounterTotals(f"plain_{unique}"), [four], workers),
        (PartitionedTotals(f"small_{unique}"), [four], Workers(database_url, 2, from_records=len(written) + 1)),
        (PartitionedTotals(f"unequal_{unique}"), [four, three], workers),
    ]
    for projection, topics, given in cases:
        runner = ProjectionRunner(store.pool, store.registry, projection)
        report = await rebuild(runner, kafka_admin, topics, workers=given)
        assert report.processes == 1, projection.name
        assert await totals(store.pool) == expected_totals(written), projection.name


async def test_a_failing_process_fails_the_rebuild_and_releases_the_projection(
    store: EventStore, producer: KafkaProducer, kafka_admin: KafkaAccess, database_url: str, unique: str
) -> None:
    topic = await topic_of(kafka_admin, unique, "failing", 4)
    written = await fill(store, notes=["boom;"])
    assert await relay_all(store, producer, topic) == len(written)
    name = f"totals_{unique}"
    failing = ProjectionRunner(store.pool, store.registry, FailingTotals(name))

    with pytest.raises(RebuildFailed, match="cannot apply the note 'boom;'"):
        await rebuild(failing, kafka_admin, [topic], workers=Workers(database_url, 2, from_records=0))

    # The projection's lock is free again: live handling goes on, and a fixed projection rebuilds.
    (more,) = await store.append("counter-9-9", 0, [Counted(amount=1)], context("cand-9"))
    fixed = ProjectionRunner(store.pool, store.registry, PartitionedTotals(name))
    assert await asyncio.wait_for(fixed.handle_raw(*CHAIN.record(more)), 10)
    report = await rebuild(fixed, kafka_admin, [topic], workers=Workers(database_url, 2, from_records=0))
    assert report.processes == 2
    assert await totals(store.pool) == expected_totals(written)


async def test_the_dossier_rebuilt_by_two_processes_is_the_dossier_rebuilt_by_one(
    producer: KafkaProducer, kafka_admin: KafkaAccess, database_url: str, schema: str, unique: str
) -> None:
    """The dossier folds a candidate's view from four topics: split by partition index, each
    candidate is still folded by one process, because every topic is keyed by the candidate."""
    names = ("accounts", "registration", "documents", "results")
    topics = {name: await topic_of(kafka_admin, unique, name, 6) for name in names}
    await publish_dossiers(producer, lambda service: topics[service], 12)
    projection = DossierReadModel()
    pool = await create_pool(database_url, schema)
    try:
        await migrate(pool, [*projections.MIGRATIONS, *projection.migrations])
        runner = ProjectionRunner(pool, INBOUND, projection)
        query = "SELECT candidate_id, session, academy, state, view::text FROM dossier_views ORDER BY 1, 2"
        alone = await rebuild(runner, kafka_admin, list(topics.values()))
        views = [tuple(r) for r in await pool.fetch(query)]
        split = await rebuild(runner, kafka_admin, list(topics.values()), workers=Workers(database_url, 2, 0))
        assert (alone.processes, split.processes) == (1, 2)
        assert len(views) == 12
        assert [tuple(r) for r in await pool.fetch(query)] == views
        assert split.events_applied == alone.events_applied > 0
    finally:
        await pool.close()


async def test_archipel_projections_rebuild_replays_the_dossier_and_refuses_zero_processes(
    isolated_settings: Settings,
    producer: KafkaProducer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = isolated_settings
    await publish_dossiers(producer, settings.topic, 1)
    for key, value in env_of(settings).items():
        monkeypatch.setenv(key, value)

    with pytest.raises(SystemExit) as refused:
        main(["projections", "rebuild", "dossier_views", "--processes", "0"])
    assert refused.value.code == 2
    assert "argument --processes: must be 1 or more, not 0" in capsys.readouterr().err

    code = await asyncio.to_thread(main, ["projections", "rebuild", "dossier_views", "--processes", "2"])
    assert code == 0
    # 16 events, far below the backlog that pays for starting processes: replayed in this one.
    assert capsys.readouterr().out.strip() == "dossier_views: 16 records read, 16 applied, 0 parked (1 process)"
    pool = await create_pool(settings.resolved_database_url(), settings.db_schema("dossier"))
    try:
        assert await pool.fetchval("SELECT count(*) FROM dossier_views") == 1
    finally:
        await pool.close()


async def test_an_audit_replay_by_two_processes_finds_the_live_dossier_unchanged(
    isolated_settings: Settings, producer: KafkaProducer
) -> None:
    """The auditors' replay (archipel audit replay) with processes: the dossier, partitioned, is
    rebuilt by two; the convocation feed, not partitioned, by one; both equal the live ones."""
    settings = isolated_settings
    await publish_dossiers(producer, settings.topic, 8)
    pool = await create_pool(settings.database_url_for("dossier"), settings.db_schema("dossier"))  # its role
    try:
        await migrate(pool, DOSSIER.migrations())
        for projection in DOSSIER.projections():
            runner = ProjectionRunner(pool, DOSSIER.projection_registry, projection)
            for name in DOSSIER.projection_topics:
                for record in await asyncio.to_thread(read_topic, kafka_access(settings, ADMIN), settings.topic(name)):
                    await runner.handle_raw(record.value, record.headers)
    finally:
        await pool.close()

    workers = Workers(settings.resolved_database_url(), 2, from_records=0)
    result = await replay(settings, [DOSSIER], workers=workers)

    assert result.differences == []
    by_name = {p.projection: p for p in result.projections}
    assert by_name["dossier_views"].processes == 2
    assert by_name["dossier_views"].rows["dossier_views"] == (8, 8)
    assert by_name["convocation_feed"].processes == 1
    assert by_name["dossier_views"].records_read == 8 * 16


async def test_a_rebuild_process_whose_coordinator_is_gone_stops_before_writing(
    store: EventStore, producer: KafkaProducer, kafka_admin: KafkaAccess, database_url: str, unique: str
) -> None:
    """The coordinator holds the projection's lock; once it is gone (killed), live handling or a
    new rebuild may write the read model, so a rebuild process must not go on writing it."""
    topic = await topic_of(kafka_admin, unique, "orphan", 2)
    written = await fill(store)
    assert await relay_all(store, producer, topic) == len(written)
    async with TopicReader(kafka_admin, [topic]) as probe:
        ranges = probe.ranges
    not_our_parent, schema = os.getppid() + 1, await store.pool.fetchval("SELECT current_schema()")
    job = Job(
        database_url, schema, kafka_admin, (topic,), ranges, PartitionedTotals(), store.registry, 50, not_our_parent
    )

    with pytest.raises(RebuildFailed, match=f"the coordinating process {not_our_parent} is gone"):
        await replay_job(job)

    assert await totals(store.pool) == []


async def test_a_reader_given_nothing_to_read_opens_and_closes_cleanly(kafka_admin: KafkaAccess, unique: str) -> None:
    """aiokafka's stop() raised CancelledError out of a consumer without a group stopped before its
    background task ran: what a rebuild process given empty partitions did (a CI failure)."""
    topic = await topic_of(kafka_admin, unique, "nothing", 2)
    for _ in range(3):
        async with TopicReader(kafka_admin, [topic], {}) as reader:
            assert await reader.next_batch(10) == []


async def test_partitions_without_records_are_given_to_no_process(
    store: EventStore, producer: KafkaProducer, kafka_admin: KafkaAccess, database_url: str, unique: str
) -> None:
    """One candidate's events sit in one partition of four: the second process would have nothing
    to read, so the rebuild stays in this process."""
    topic = await topic_of(kafka_admin, unique, "one-key", 4)
    written: list[Envelope] = []
    for n in range(5):
        written += await store.append(f"counter-solo-{n}", 0, [Counted(amount=n)], context("solo"))
    assert await relay_all(store, producer, topic) == len(written)
    runner = ProjectionRunner(store.pool, store.registry, PartitionedTotals(f"totals_{unique}"))

    report = await rebuild(runner, kafka_admin, [topic], workers=Workers(database_url, 2, from_records=0))

    assert report.processes == 1
    assert await totals(store.pool) == expected_totals(written)
