"""Projections: read models rebuilt from events (DESIGN rule 5).

A runner applies an event to its read model and records, in the same transaction, the last
version it applied of the event's stream; a redelivered event (the relay's at-least-once, or a
consumer restart before its offset commit) is recognised and changes nothing. Every apply holds a
shared advisory lock on the projection; a rebuild (shared.rebuild) holds it exclusively while it
empties the read model and replays the topics from their first offset, so live handling simply waits."""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

import asyncpg
from opentelemetry import trace

from shared.db import Connection, Migration, check_identifier
from shared.errors import InvalidEvent, UnknownEventType
from shared.events import Envelope, EventRegistry
from shared.eventstore import EventStore
from shared.telemetry import context_from, tracer

log = logging.getLogger(__name__)

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
    # True when the rows an event writes depend only on events with the same Kafka key (the
    # candidate): a rebuild may then replay partition p of every topic apart from the others.
    partitioned: bool = False

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


def lock_key(projection: Projection) -> str:
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
            await connection.execute("SELECT pg_advisory_xact_lock_shared(hashtext($1))", lock_key(self.projection))
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
            await record_versions(connection, self.projection.name, changed)
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


async def record_versions(connection: Connection, projection: str, changed: Mapping[str, int]) -> None:
    """Records the last applied version of each changed stream (in the caller's transaction)."""
    if changed:
        await connection.execute(
            "INSERT INTO projection_streams (projection, stream_id, version)"
            " SELECT $1, stream, version FROM unnest($2::text[], $3::int[]) AS s(stream, version)"
            " ON CONFLICT (projection, stream_id) DO UPDATE SET version = excluded.version",
            projection,
            list(changed),
            list(changed.values()),
        )
