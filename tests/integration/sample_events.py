"""A test-only event model for the event-sourcing core: two events, a registry, a context helper,
a small read model, and helpers to open a store in a test schema and read a whole topic."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

import asyncpg
from kafka import KafkaConsumer, TopicPartition

from shared import eventstore, projections, relay
from shared.db import Connection, Migration, create_pool, migrate
from shared.events import CommandContext, DomainEvent, Envelope, EventRegistry
from shared.eventstore import EventStore, ExtraWrite
from shared.kafka import KafkaAccess, consumer_config, decode_headers
from shared.relay import Producer, Relay

ACADEMY = "ac-lyon"
ACTOR = "staff:test"


class Counted(DomainEvent):
    event_type: ClassVar[str] = "Counted"

    amount: int
    label: str = ""


class Noted(DomainEvent):
    event_type: ClassVar[str] = "Noted"

    text: str


def registry() -> EventRegistry:
    return EventRegistry([Counted, Noted])


def context(candidate_id: str | None = None, *, academy: str = ACADEMY) -> CommandContext:
    return CommandContext(
        academy=academy,
        actor=ACTOR,
        occurred_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        candidate_id=candidate_id,
        correlation_id=uuid.uuid4(),
    )


def all_migrations(*extra: Migration) -> list[Migration]:
    return [*eventstore.MIGRATIONS, *relay.MIGRATIONS, *projections.MIGRATIONS, *extra]


async def open_store(
    database_url: str, schema: str, *extra: Migration, min_size: int = 1, max_size: int = 10
) -> EventStore:
    """A migrated store in `schema`; the caller closes `store.pool`."""
    pool = await create_pool(database_url, schema, min_size=min_size, max_size=max_size)
    await migrate(pool, all_migrations(*extra))
    return EventStore(pool, registry())


class CounterTotals(projections.Projection):
    """Per stream: the sum of the Counted amounts, how many events, and the notes joined.
    Deliberately not idempotent by itself: a double apply would show in the totals."""

    tables = ("counter_totals",)
    event_types = frozenset({"Counted", "Noted"})
    migrations = (
        Migration(
            "1000_counter_totals",
            "CREATE TABLE counter_totals ("
            " stream_id text PRIMARY KEY, candidate_id text, academy text NOT NULL,"
            " total bigint NOT NULL DEFAULT 0, events integer NOT NULL DEFAULT 0,"
            " notes text NOT NULL DEFAULT '')",
        ),
    )

    def __init__(self, name: str = "counter_totals") -> None:
        self.name = name

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        payload = envelope.payload
        amount = payload.amount if isinstance(payload, Counted) else 0
        note = payload.text if isinstance(payload, Noted) else ""
        await connection.execute(
            "INSERT INTO counter_totals AS t (stream_id, candidate_id, academy, total, events, notes)"
            " VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (stream_id) DO UPDATE SET"
            " total = t.total + excluded.total, events = t.events + 1, notes = t.notes || excluded.notes",
            envelope.stream_id,
            envelope.candidate_id,
            envelope.academy,
            amount,
            note,
        )


def hold_until(inserted: asyncio.Event, release: asyncio.Event) -> ExtraWrite:
    """An append's extra write that signals its rows are inserted, then keeps the transaction open."""

    async def hold(_: Connection) -> None:
        inserted.set()
        await release.wait()

    return hold


class Rollback(Exception):
    """Raised by an append's extra write to roll its transaction back on purpose."""


def hold_then(delay: float, rollback: bool) -> ExtraWrite:
    """An extra write that keeps the transaction open `delay` s after the insert, then commits or
    rolls back."""

    async def extra(_: Connection) -> None:
        await asyncio.sleep(delay)
        if rollback:
            raise Rollback

    return extra


async def totals(pool: asyncpg.Pool) -> list[tuple[str, str | None, str, int, int, str]]:
    rows = await pool.fetch(
        "SELECT stream_id, candidate_id, academy, total, events, notes FROM counter_totals ORDER BY stream_id"
    )
    return [tuple(row.values()) for row in rows]


class TopicRecord:
    __slots__ = ("headers", "key", "offset", "partition", "value")

    def __init__(self, partition: int, offset: int, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers


def read_topic(access: KafkaAccess, topic: str, timeout: float = 60.0) -> list[TopicRecord]:
    """Every record of `topic` from the first offset to the end offsets seen now, per partition in
    offset order (a separate consumer with no group, so nothing is committed)."""
    consumer = KafkaConsumer(**consumer_config(access))
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions, f"topic {topic} has no partitions"
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end: dict[TopicPartition, int] = {
            tp: offset for tp, offset in consumer.end_offsets(partitions).items() if offset > 0
        }
        out: list[TopicRecord] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < offset for tp, offset in end.items()):
            assert time.monotonic() < deadline, f"reading {topic} took over {timeout} s"
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    if r.offset < end.get(tp, 0):
                        out.append(TopicRecord(tp.partition, r.offset, r.key, r.value, decode_headers(r.headers)))
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def event_ids(envelopes: Sequence[Envelope]) -> set[uuid.UUID]:
    return {envelope.event_id for envelope in envelopes}


class PartitionedTotals(CounterTotals):
    """CounterTotals marked as a projection whose rows depend on their Kafka key's events only (a
    row per stream, a stream's events under one key): rebuilds may split it by partition."""

    partitioned = True


class FailingTotals(PartitionedTotals):
    """Fails on the note 'boom;', as a projection meeting data it cannot apply would."""

    async def apply_many(self, connection: Connection, envelopes: Sequence[Envelope]) -> None:
        if any(isinstance(e.payload, Noted) and e.payload.text == "boom;" for e in envelopes):
            raise RuntimeError("cannot apply the note 'boom;'")
        await super().apply_many(connection, envelopes)


TotalsRow = tuple[str, str | None, str, int, int, str]


async def fill_counters(store: EventStore, candidates: int, rounds: int) -> list[Envelope]:
    """Two streams per candidate (keyed by the candidate), appended in rounds, so that the topic
    interleaves them; returns what was written."""
    written: list[Envelope] = []
    for round_ in range(rounds):
        for c in range(candidates):
            for s in range(2):
                events = [Counted(amount=c * 10 + round_), Noted(text=f"{round_};")]
                written += await store.append(f"counter-{c}-{s}", round_ * 2, events, context(f"cand-{c}"))
    return written


def expected_totals(envelopes: Sequence[Envelope]) -> list[TotalsRow]:
    """The CounterTotals rows of `envelopes`, each applied once."""
    rows: dict[str, TotalsRow] = {}
    for e in sorted(envelopes, key=lambda e: (e.stream_id, e.stream_version)):
        _, _, _, total, count, notes = rows.get(e.stream_id, (e.stream_id, None, ACADEMY, 0, 0, ""))
        amount = e.payload.amount if isinstance(e.payload, Counted) else 0
        text = e.payload.text if isinstance(e.payload, Noted) else ""
        rows[e.stream_id] = (e.stream_id, e.candidate_id, e.academy, total + amount, count + 1, notes + text)
    return sorted(rows.values())


async def relay_all(store: EventStore, producer: Producer, topic: str, name: str = "relay") -> int:
    """Publishes the store's log (from the relay `name`'s checkpoint); returns how many events."""
    relay = Relay(store, producer, topic, name=name, batch_size=100)
    published = 0
    while batch := await relay.publish_batch():
        published += batch
    return published
