"""Consumers check what they read (issue 13) and park what they will not apply (issue 17), on the
real Kafka and PostgreSQL: records forged with a copied envelope (a version jump, a broken chain
link), garbage, an unknown event type and a payload that fails its model are parked on the
dead-letter topic with where they were read and why, never applied; the stream's next genuine
events are applied; redeliveries stay silent; a rebuild parks the same records."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest
from faststream.kafka import KafkaBroker
from kafka import KafkaProducer

from services.registration.projections import GrantedBenefits
from shared import projections
from shared.chain_check import LocalChain
from shared.consumers import subscribe_projection
from shared.contracts.results import BenefitGranted
from shared.db import create_pool, migrate
from shared.dead_letter import KafkaDeadLetters, Source, dead_letter_topic
from shared.events import CommandContext, EventRegistry, canonical_json
from shared.eventstore import Append as StoreAppend
from shared.eventstore import EventStore, plan_envelopes
from shared.infra.topics import ensure_topics
from shared.kafka import KafkaAccess
from shared.projections import ProjectionRunner
from shared.rebuild import rebuild
from tests.integration.sample_events import (
    Counted,
    CounterTotals,
    Noted,
    TopicRecord,
    context,
    expected_totals,
    read_topic,
    relay_all,
    totals,
)

Placed = tuple[int, int]  # partition, offset
NOW = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def topics(kafka_admin: KafkaAccess, unique: str) -> tuple[str, str]:
    topic = f"t{unique}.counters.events"
    await asyncio.to_thread(ensure_topics, kafka_admin, [topic], 3)  # and its dead-letter topic
    return topic, dead_letter_topic(f"t{unique}")


def produce(producer: KafkaProducer, topic: str, value: bytes, key: bytes, headers: dict[str, str]) -> Placed:
    sent = producer.send(topic, value=value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    metadata = sent.get(30)
    return metadata.partition, metadata.offset


def forged(record: TopicRecord, **changes: object) -> bytes:
    return canonical_json({**json.loads(record.value), "event_id": str(uuid.uuid4()), **changes})


def version(record: TopicRecord) -> int:
    return int(json.loads(record.value)["stream_version"])


async def wait_until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        await asyncio.sleep(0.1)


def parked_by_offset(records: list[TopicRecord]) -> dict[Placed, dict[str, str]]:
    return {(int(r.headers["dead_letter.partition"]), int(r.headers["dead_letter.offset"])): r.headers for r in records}


async def test_forged_garbage_and_unknown_records_are_parked_and_the_stream_goes_on(
    *,
    store: EventStore,
    producer: KafkaProducer,
    kafka_admin: KafkaAccess,
    topics: tuple[str, str],
    unique: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic, dead = topics
    written = await store.append("counter-1", 0, [Counted(amount=1), Noted(text="a;")], context("cand-1"))
    await relay_all(store, producer, topic)
    genuine = await asyncio.to_thread(read_topic, kafka_admin, topic)
    v2 = next(r for r in genuine if version(r) == 2)
    key = v2.key or b""
    counted = {"event_type": "Counted", "payload": {"amount": 1000, "label": ""}}
    jump = forged(v2, stream_version=1000, **counted)  # a copied envelope (and its headers)
    link = forged(v2, stream_version=3, **counted)
    unknown = forged(v2, stream_id="counter-u", stream_version=1, event_type="Teleported")
    invalid = forged(v2, stream_id="counter-b", stream_version=1, event_type="Counted", payload={"amount": "lots"})
    genesis = hashlib.sha256
    placed = {
        "jump": produce(producer, topic, jump, key, v2.headers),
        "link": produce(producer, topic, link, key, {**v2.headers, "hash": genesis(b"x" + link).hexdigest()}),
        "garbage": produce(producer, topic, b"\xff\x00 not an event", key, {}),
        "unknown": produce(producer, topic, unknown, key, {"hash": genesis(unknown).hexdigest()}),
        "invalid": produce(producer, topic, invalid, key, {"hash": genesis(invalid).hexdigest()}),
    }
    written += await store.append("counter-1", 2, [Counted(amount=3), Noted(text="b;")], context("cand-1"))
    await relay_all(store, producer, topic)

    projection = CounterTotals()
    runner = ProjectionRunner(store.pool, store.registry, projection)
    broker = KafkaBroker(**kafka_admin.faststream())
    subscribe_projection(broker, runner, [topic], f"t{unique}-", dead)
    caplog.set_level(logging.ERROR, "shared.dead_letter")
    async with broker:
        await broker.start()
        await wait_until(lambda: _equal(store, expected_totals(written)), "the genuine events applied")
        # Redeliveries (the whole log published again) change nothing and park nothing.
        await relay_all(store, producer, topic, name="again")
        written += await store.append("counter-1", 4, [Counted(amount=5)], context("cand-1"))
        await relay_all(store, producer, topic)
        await wait_until(lambda: _equal(store, expected_totals(written)), "the next genuine event applied")

    letters = await asyncio.to_thread(read_topic, kafka_admin, dead)
    assert len(letters) == len(placed)
    by_offset = parked_by_offset(letters)
    reasons = {name: by_offset[where]["dead_letter.reason"] for name, where in placed.items()}
    assert "version 1000 of stream counter-1 does not follow version 2" in reasons["jump"]
    assert "version 3 of stream counter-1 does not chain from version 2" in reasons["link"]
    assert reasons["garbage"] == "unreadable: not JSON"
    assert "unknown event type 'Teleported'" in reasons["unknown"]
    assert reasons["invalid"].startswith("unreadable:") and "amount" in reasons["invalid"]
    for headers in by_offset.values():
        assert (headers["dead_letter.topic"], headers["dead_letter.consumer"]) == (topic, projection.name)
    assert {letter.value for letter in letters} >= {jump, link, unknown, invalid}
    logged = [r.getMessage() for r in caplog.records if r.name == "shared.dead_letter"]
    for partition, offset in placed.values():
        line = f"topic={topic} partition={partition} offset={offset} projection={projection.name}"
        assert sum(line in message for message in logged) == 1

    # A rebuild reads the same records from the first offset: same read model, the same ones parked.
    report = await rebuild(runner, kafka_admin, [topic], dead_letter_topic=dead)
    assert await totals(store.pool) == expected_totals(written)
    assert report.events_parked == len(placed)
    again = parked_by_offset((await asyncio.to_thread(read_topic, kafka_admin, dead))[len(letters) :])
    assert {k: v["dead_letter.reason"] for k, v in again.items()} == {placed[n]: r for n, r in reasons.items()}


async def _equal(store: EventStore, wanted: object) -> bool:
    return await totals(store.pool) == wanted


@pytest.fixture
async def benefits_pool(database_url: str, schema: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, schema)
    await migrate(pool, [*projections.MIGRATIONS, *GrantedBenefits.migrations])
    yield pool
    await pool.close()


async def test_a_forged_benefit_granted_never_reaches_the_registration(
    benefits_pool: asyncpg.Pool, producer: KafkaProducer, kafka_admin: KafkaAccess, topics: tuple[str, str]
) -> None:
    """The attack of issue 13: BenefitGranted records copied from a genuine one and changed (another
    grade, a version far ahead; the next version with a link of its own making) on the results
    topic. The registration's read model of granted bénéfices, which its next registration turns
    into BenefitDeclared events, holds only the genuine grant."""
    topic, dead = topics
    candidate = uuid.uuid4()
    grant = BenefitGranted(
        candidate_id=candidate,
        specialty="SIO",
        unit="U3",
        grade=Decimal("7.00"),
        session=2025,
        valid_through_session=2030,
    )
    ctx = CommandContext(academy="ac-lyon", actor="system:results", occurred_at=NOW, candidate_id=str(candidate))
    (genuine,) = plan_envelopes(StoreAppend(f"results-{candidate}", 0, (grant,), ctx), NOW)
    value, headers = LocalChain().record(genuine)
    key = str(candidate).encode()
    produce(producer, topic, value, key, headers)
    better = {**json.loads(value)["payload"], "grade": "16.50", "unit": "U4"}
    jump = canonical_json(
        {**json.loads(value), "event_id": str(uuid.uuid4()), "stream_version": 1000, "payload": better}
    )
    next_link = canonical_json(
        {**json.loads(value), "event_id": str(uuid.uuid4()), "stream_version": 2, "payload": better}
    )
    produce(producer, topic, jump, key, headers)
    produce(producer, topic, next_link, key, {**headers, "hash": hashlib.sha256(b"guess" + next_link).hexdigest()})

    sink = KafkaDeadLetters(kafka_admin, dead)
    runner = ProjectionRunner(benefits_pool, EventRegistry([BenefitGranted]), GrantedBenefits(), dead_letters=sink)
    records = await asyncio.to_thread(read_topic, kafka_admin, topic)
    try:
        applied = await runner.handle_records(
            [(r.value, r.headers, Source(topic, r.partition, r.offset, r.key)) for r in records]
        )
        again = await runner.handle_records(
            [(r.value, r.headers, Source(topic, r.partition, r.offset, r.key)) for r in records]
        )
    finally:
        await sink.close()

    assert (applied, again) == (1, 0)
    rows = await benefits_pool.fetch("SELECT unit, grade FROM granted_benefits")
    assert [(r["unit"], r["grade"]) for r in rows] == [("U3", Decimal("7.00"))]
    letters = await asyncio.to_thread(read_topic, kafka_admin, dead)
    assert sorted(letter.value for letter in letters) == sorted([jump, next_link] * 2)
    assert {letter.headers["dead_letter.consumer"] for letter in letters} == {GrantedBenefits.name}
