"""Projections: read models rebuilt from events (DESIGN rule 5).

A runner applies an event to its read model and records, in the same transaction, the last
version it applied of the event's stream; a redelivered event (the relay's at-least-once, or a
consumer restart before its offset commit) is recognised and changes nothing. Every apply holds a
shared advisory lock on the projection; a rebuild holds it exclusively while it empties the read
model and replays the topics from their first offset, so live handling simply waits."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from opentelemetry import trace

from shared.db import Connection, Migration, check_identifier
from shared.errors import InvalidEvent, UnknownEventType
from shared.events import Envelope, EventRegistry
from shared.eventstore import EventStore
from shared.telemetry import context_from, tracer

log = logging.getLogger(__name__)
_FETCH_MAX_BYTES = 32 * 1024 * 1024

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_projection_streams",
        "CREATE TABLE projection_streams ("
        " projection text NOT NULL, stream_id text NOT NULL, version integer NOT NULL,"
        " PRIMARY KEY (projection, stream_id))",
    ),
)


class Projection(abc.ABC):
    """A read model: its tables (with their migrations) and how each event changes them."""

    name: str
    migrations: tuple[Migration, ...]
    tables: tuple[str, ...]
    event_types: frozenset[str]

    def handles(self, event_type: str) -> bool:
        return event_type in self.event_types

    def bind(self, pool: asyncpg.Pool) -> None:  # noqa: B027 (optional hook)
        """Called once by the runner; a projection that issues commands (a process manager)
        keeps the pool to append in transactions of its own."""

    @abc.abstractmethod
    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        """Changes the read model; runs inside the runner's transaction."""

    async def apply_many(self, connection: Connection, envelopes: Sequence[Envelope]) -> None:
        """Applies events in their order (a rebuild's batch). A projection whose rows an event
        writes independently may override it to write the whole batch in a few statements."""
        for envelope in envelopes:
            await self.apply(connection, envelope)


Intake = Callable[[EventStore, Envelope], Awaitable[None]]


class CommandIntake(Projection):
    """A process manager: each consumed event becomes a command on this service's own aggregate,
    appended by `intake` in a transaction of its own (not the runner's: an append takes its
    transaction id first). The aggregate recognises a redelivery by the source event id."""

    tables = ()
    migrations = ()

    def __init__(self, name: str, event_type: str, registry: EventRegistry, intake: Intake) -> None:
        self.name = name
        self.event_types = frozenset({event_type})
        self._registry = registry
        self._intake = intake
        self._store: EventStore | None = None

    def bind(self, pool: asyncpg.Pool) -> None:
        self._store = EventStore(pool, self._registry)

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        assert self._store is not None, "the runner binds the projection first"
        await self._intake(self._store, envelope)


@dataclass(frozen=True)
class RebuildReport:
    projection: str
    events_read: int
    events_applied: int


def _lock_key(projection: Projection) -> str:
    return f"archipel.projection.{projection.name}"


class ProjectionRunner:
    def __init__(self, pool: asyncpg.Pool, registry: EventRegistry, projection: Projection) -> None:
        check_identifier(projection.name)
        self.pool = pool
        self.registry = registry
        self.projection = projection
        projection.bind(pool)
        self._tracer = tracer("archipel.projections")

    async def handle_raw(self, value: bytes, headers: Mapping[str, str]) -> bool:
        """Applies one Kafka record; False when it was not for this projection or already applied.
        An unreadable record raises InvalidEvent or UnknownEventType."""
        envelope = self._decode(value, headers)
        return envelope is not None and await self._apply_all([(envelope, headers)]) == 1

    async def handle_records(self, records: Sequence[tuple[bytes, Mapping[str, str]]]) -> int:
        """Applies a batch of Kafka records in ONE transaction (with their stream versions, so a
        redelivered batch changes nothing); returns how many were applied. An unreadable record is
        logged and skipped: no version of this code can read it, and it stays in the topic."""
        decoded: list[tuple[Envelope, Mapping[str, str]]] = []
        for value, headers in records:
            try:
                envelope = self._decode(value, headers)
            except (InvalidEvent, UnknownEventType) as error:
                log.error("projection %s skipped an unreadable record: %s", self.projection.name, error)
                continue
            if envelope is not None:
                decoded.append((envelope, headers))
        return await self._apply_all(decoded)

    def _decode(self, value: bytes, headers: Mapping[str, str]) -> Envelope | None:
        event_type = headers.get("event_type")
        if event_type is not None and not self.projection.handles(event_type):
            return None
        envelope = self.registry.decode_envelope(value, event_type)
        return envelope if self.projection.handles(envelope.event_type) else None

    async def _apply_all(self, items: Sequence[tuple[Envelope, Mapping[str, str]]]) -> int:
        if not items:
            return 0
        applied = 0
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock_shared(hashtext($1))", _lock_key(self.projection))
            versions = await self._lock_streams(connection, sorted({envelope.stream_id for envelope, _ in items}))
            changed: dict[str, int] = {}
            for envelope, headers in items:
                with self._tracer.start_as_current_span(
                    "projection.apply", context=context_from(headers), kind=trace.SpanKind.CONSUMER
                ) as span:
                    span.set_attribute("archipel.projection", self.projection.name)
                    span.set_attribute("archipel.event_type", envelope.event_type)
                    done = envelope.stream_version > versions[envelope.stream_id]
                    if done:
                        await self.projection.apply(connection, envelope)
                        versions[envelope.stream_id] = changed[envelope.stream_id] = envelope.stream_version
                    span.set_attribute("archipel.applied", done)
                applied += done
            await self._record_versions(connection, changed)
        return applied

    async def _lock_streams(self, connection: Connection, streams: list[str]) -> dict[str, int]:
        """The last applied version of each stream, its row locked until the transaction ends.
        The rows exist before they are locked, so two runners handling a stream's first event at
        once (a consumer-group rebalance) serialise on them instead of both applying; they are
        locked in stream order, so two runners cannot deadlock."""
        await connection.execute(
            "INSERT INTO projection_streams (projection, stream_id, version)"
            " SELECT $1, stream, 0 FROM unnest($2::text[]) AS s(stream) ON CONFLICT (projection, stream_id) DO NOTHING",
            self.projection.name,
            streams,
        )
        rows = await connection.fetch(
            "SELECT stream_id, version FROM projection_streams WHERE projection = $1 AND stream_id = ANY($2::text[])"
            " ORDER BY stream_id FOR UPDATE",
            self.projection.name,
            streams,
        )
        return {row["stream_id"]: row["version"] for row in rows}

    async def _record_versions(self, connection: Connection, changed: Mapping[str, int]) -> None:
        if changed:
            await connection.execute(
                "INSERT INTO projection_streams (projection, stream_id, version)"
                " SELECT $1, stream, version FROM unnest($2::text[], $3::int[]) AS s(stream, version)"
                " ON CONFLICT (projection, stream_id) DO UPDATE SET version = excluded.version",
                self.projection.name,
                list(changed),
                list(changed.values()),
            )

    async def rebuild(self, bootstrap_servers: str, topics: Sequence[str], batch_size: int = 5000) -> RebuildReport:
        """Empties the read model and replays `topics` from their first offset up to their end
        offsets at the start of the rebuild; live handling waits, then resumes where it was."""
        read = applied = 0
        async with self.pool.acquire() as connection:
            key = _lock_key(self.projection)
            await connection.execute("SELECT pg_advisory_lock(hashtext($1))", key)
            try:
                async with connection.transaction():
                    for table in self.projection.tables:
                        await connection.execute(f"DELETE FROM {check_identifier(table)}")
                    await connection.execute(
                        "DELETE FROM projection_streams WHERE projection = $1", self.projection.name
                    )
                # The read model is empty and exclusively locked: the stream versions live in memory
                # and are written once per batch, and a batch is decoded while the previous one is
                # being written.
                versions: dict[str, int] = {}
                writing: asyncio.Future[None] | None = None
                async with _TopicReader(bootstrap_servers, topics) as reader:
                    try:
                        while records := await reader.next_batch(batch_size):
                            read += len(records)
                            todo, changed = await self._new_events(records, versions)
                            if writing is not None:
                                await writing
                            writing = None
                            if todo:
                                writing = asyncio.ensure_future(self._write_replayed(connection, todo, changed))
                                applied += len(todo)
                        if writing is not None:
                            await writing
                    finally:
                        if writing is not None and not writing.done():
                            with contextlib.suppress(Exception):  # the first error is already raised
                                await writing
            finally:
                await connection.execute("SELECT pg_advisory_unlock(hashtext($1))", key)
        return RebuildReport(self.projection.name, read, applied)

    async def _new_events(
        self, records: Sequence[tuple[bytes, str | None]], versions: dict[str, int]
    ) -> tuple[list[Envelope], dict[str, int]]:
        """The events of `records` this projection handles and has not applied yet (the relay
        publishes at least once), in order, with the last version of each stream they change."""
        todo: list[Envelope] = []
        changed: dict[str, int] = {}
        for index, (value, event_type) in enumerate(records):
            if index % 256 == 255:
                await asyncio.sleep(0)  # lets the previous batch's write go on meanwhile
            if event_type is not None and not self.projection.handles(event_type):
                continue
            envelope = self.registry.decode_envelope(value, event_type)
            if not self.projection.handles(envelope.event_type):
                continue
            if envelope.stream_version <= versions.get(envelope.stream_id, 0):
                continue  # a duplicate published by the relay
            todo.append(envelope)
            versions[envelope.stream_id] = changed[envelope.stream_id] = envelope.stream_version
        return todo, changed

    async def _write_replayed(self, connection: Connection, todo: list[Envelope], changed: dict[str, int]) -> None:
        async with connection.transaction():
            await self.projection.apply_many(connection, todo)
            await self._record_versions(connection, changed)


class _TopicReader:
    """Reads topics from their first offset to the end offsets seen when it starts. Rebuilds read
    with aiokafka, the client under FastStream's subscribers: its compiled record parser reads
    two to three times as many records per second as kafka-python's here (issue 7)."""

    def __init__(self, bootstrap_servers: str, topics: Sequence[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers.split(","),
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
            fetch_max_bytes=_FETCH_MAX_BYTES,
            max_partition_fetch_bytes=_FETCH_MAX_BYTES // 4,
        )
        self._topics = list(topics)
        self._end: dict[TopicPartition, int] = {}

    async def __aenter__(self) -> _TopicReader:
        await self._consumer.start()
        try:
            existing = await self._consumer.topics()
            topics = [topic for topic in self._topics if topic in existing]  # a topic not made yet is empty
            if topics:
                # Without a group, a subscription is assigned every partition of its topics.
                self._consumer.subscribe(topics=topics)
                partitions = await self._assigned(topics)
                await self._consumer.seek_to_beginning(*partitions)
                ends = await self._consumer.end_offsets(partitions)
                self._end = {tp: offset for tp, offset in ends.items() if offset > 0}
        except BaseException:
            await self._consumer.stop()
            raise
        return self

    async def _assigned(self, topics: Sequence[str]) -> list[TopicPartition]:
        """Every partition of `topics`, once the subscription has them all."""
        async with asyncio.timeout(30):
            while True:
                counts = [self._consumer.partitions_for_topic(topic) for topic in topics]
                assigned = self._consumer.assignment()
                if all(counts) and len(assigned) == sum(len(p or ()) for p in counts):
                    return sorted(assigned)
                await asyncio.sleep(0.02)

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def next_batch(self, size: int) -> list[tuple[bytes, str | None]]:
        """Up to `size` records (value, announced event type); empty once every end is reached."""
        out: list[tuple[bytes, str | None]] = []
        while self._end and len(out) < size:
            polled = await self._consumer.getmany(timeout_ms=500, max_records=size - len(out))
            for tp, records in polled.items():
                end = self._end.get(tp)
                for record in records:
                    if end is None or record.offset >= end or record.value is None:
                        continue
                    event_type = next((v.decode() for k, v in record.headers if k == "event_type"), None)
                    out.append((record.value, event_type))
                    if record.offset >= end - 1:
                        self._end.pop(tp, None)
            for tp in list(self._end):
                if await self._consumer.position(tp) >= self._end[tp]:
                    self._end.pop(tp)
        return out
