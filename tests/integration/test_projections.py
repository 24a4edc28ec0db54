"""Projections against the real PostgreSQL and Kafka: a redelivered record changes nothing (DESIGN
rule 5), the FastStream subscriber feeds the read model from the topic the relay writes, and a
rebuild from the topic gives back the same read model."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from faststream.kafka import KafkaBroker
from kafka import KafkaProducer

from shared.chain_check import LocalChain
from shared.consumers import subscribe_projection
from shared.eventstore import EventStore
from shared.infra.topics import ensure_topics
from shared.kafka import KafkaAccess
from shared.projections import ProjectionRunner
from shared.rebuild import rebuild
from tests.integration.sample_events import (
    ACADEMY,
    Counted,
    CounterTotals,
    TotalsRow,
    context,
    expected_totals,
    fill_counters,
    read_topic,
    relay_all,
    totals,
)

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

CANDIDATES, ROUNDS = 20, 3


@pytest.fixture
async def topic(kafka_admin: KafkaAccess, unique: str) -> str:
    name = f"t{unique}.projections.events"
    await asyncio.to_thread(ensure_topics, kafka_admin, [name], 3)
    return name


async def wait_for(store: EventStore, wanted: list[TotalsRow], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (rows := await totals(store.pool)) != wanted:
        assert time.monotonic() < deadline, (
            f"the read model did not catch up in {timeout} s: {len(rows)} of {len(wanted)} streams, "
            f"{sum(r[4] for r in rows)} of {sum(r[4] for r in wanted)} events"
        )
        await asyncio.sleep(0.1)


async def test_a_record_delivered_twice_changes_the_read_model_once(
    store: EventStore, topic: str, producer: KafkaProducer, kafka_admin: KafkaAccess
) -> None:
    written = await fill_counters(store, CANDIDATES, ROUNDS)
    assert await relay_all(store, producer, topic) == len(written)
    records = await asyncio.to_thread(read_topic, kafka_admin, topic)
    runner = ProjectionRunner(store.pool, store.registry, CounterTotals())

    first = [await runner.handle_raw(r.value, r.headers) for r in records]
    after_one = await totals(store.pool)
    second = [await runner.handle_raw(r.value, r.headers) for r in records]

    assert len(records) == len(written) and all(first)
    assert after_one == expected_totals(written)
    assert not any(second)
    assert await totals(store.pool) == after_one
    versions = await store.pool.fetch("SELECT stream_id, version FROM projection_streams ORDER BY stream_id")
    assert [tuple(v.values()) for v in versions] == [(f, 2 * ROUNDS) for f, *_ in after_one]


async def test_a_record_of_a_type_the_projection_ignores_is_not_applied(store: EventStore) -> None:
    class OnlyNotes(CounterTotals):
        event_types = frozenset({"Noted"})

    (counted,) = await store.append("counter-1", 0, [Counted(amount=3)], context("cand-1"))
    runner = ProjectionRunner(store.pool, store.registry, OnlyNotes())

    assert not await runner.handle_raw(*CHAIN.record(counted))
    assert not await runner.handle_raw(counted.to_json(), {})
    assert await totals(store.pool) == []


async def test_the_faststream_subscriber_feeds_the_read_model_and_a_rebuild_gives_it_back(
    store: EventStore, topic: str, producer: KafkaProducer, kafka_admin: KafkaAccess, unique: str
) -> None:
    started = time.monotonic()
    written = await fill_counters(store, CANDIDATES, ROUNDS)
    assert await relay_all(store, producer, topic) == len(written)
    runner = ProjectionRunner(store.pool, store.registry, CounterTotals(f"totals_{unique}"))
    broker = KafkaBroker(**kafka_admin.faststream(), logger=logging.getLogger("test.projections"), graceful_timeout=10)
    subscribe_projection(broker, runner, [topic])
    await broker.start()
    try:
        await wait_for(store, expected_totals(written))
        live = await totals(store.pool)
        caught_up = time.monotonic() - started

        report = await rebuild(runner, kafka_admin, [topic], batch_size=50)

        assert await totals(store.pool) == live
        assert (report.projection, report.events_read, report.events_applied) == (
            f"totals_{unique}",
            len(written),
            len(written),
        )

        # A redelivery of an old record, then a new event on the same key (same partition, after
        # it): once the new event shows, the duplicate has been handled, and it changed nothing.
        records = await asyncio.to_thread(read_topic, kafka_admin, topic)
        old = next(r for r in records if r.key == b"cand-3")
        old_headers = [(k, v.encode()) for k, v in old.headers.items()]
        await asyncio.to_thread(producer.send(topic, value=old.value, key=old.key, headers=old_headers).get, 30)
        written += await store.append("counter-3-0", 2 * ROUNDS, [Counted(amount=1000)], context("cand-3"))
        assert await relay_all(store, producer, topic) == 1
        await wait_for(store, expected_totals(written))
        after = await totals(store.pool)
        assert [r for r in after if r not in live] == [
            ("counter-3-0", "cand-3", ACADEMY, 1000 + sum(30 + n for n in range(ROUNDS)), 2 * ROUNDS + 1, "0;1;2;")
        ]

        again = await rebuild(runner, kafka_admin, [topic])
        assert (again.events_read, again.events_applied) == (len(written) + 1, len(written))
        assert await totals(store.pool) == after
    finally:
        await broker.stop()
    print(
        f"\n{len(written)} events; live read model caught up in {caught_up:.1f} s;"
        f" whole test {time.monotonic() - started:.1f} s"
    )


async def test_a_rebuild_over_an_empty_topic_and_one_not_made_yet_leaves_an_empty_read_model(
    store: EventStore, topic: str, kafka_admin: KafkaAccess, unique: str
) -> None:
    """A new deployment rebuilds before any event: the rebuild neither waits nor fails."""
    runner = ProjectionRunner(store.pool, store.registry, CounterTotals(f"totals_{unique}"))
    written = await store.append("counter-1-0", 0, [Counted(amount=5)], context("cand-1"))
    assert await runner.handle_raw(*CHAIN.record(written[0]))
    assert len(await totals(store.pool)) == 1

    report = await rebuild(runner, kafka_admin, [topic, f"t{unique}.never.events"])

    assert (report.events_read, report.events_applied) == (0, 0)
    assert await totals(store.pool) == []
