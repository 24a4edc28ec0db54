"""Projections: read models rebuilt from events (DESIGN rule 5).

A runner applies an event to its read model and records, in the same transaction, the head of the
event's stream: the version and chain hash of the last event it took of it (shared.chain_check);
a redelivered event (the relay's at-least-once, or a consumer restart before its offset commit) is
recognised and changes nothing, and a record that is not its stream's next link is parked
(shared.record_check, shared.dead_letter), never applied. Every apply holds a
shared advisory lock on the projection; a rebuild (shared.rebuild) holds it exclusively while it
empties the read model and replays the topics from their first offset, so live handling simply waits."""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

import asyncpg
from opentelemetry import trace

from shared.chain_check import GENESIS, Head, Incoming
from shared.db import Connection, Migration, check_identifier
from shared.dead_letter import DeadLetters, LogOnly, Parked, Source, log_parked
from shared.events import Envelope, EventRegistry
from shared.eventstore import EventStore
from shared.personal import KEYRING, subjects_in
from shared.record_check import Consumed, RecordCheck
from shared.telemetry import context_from, tracer

log = logging.getLogger(__name__)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_projection_streams",
        "CREATE TABLE projection_streams ("
        " projection text NOT NULL, stream_id text NOT NULL, version integer NOT NULL,"
        " PRIMARY KEY (projection, stream_id))",
    ),
    # The chain hash of the last event taken of each stream (NULL: taken before heads kept it).
    Migration("0002_projection_streams_hash", "ALTER TABLE projection_streams ADD COLUMN hash bytea"),
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
    """Feeds a projection with records, each checked first (shared.chain_check): a record that is
    not the next link of its stream, or that cannot be read, is parked (shared.dead_letter), never
    applied; the stream's next genuine event is applied as usual."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        registry: EventRegistry,
        projection: Projection,
        *,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        check_identifier(projection.name)
        self.pool = pool
        self.registry = registry
        self.projection = projection
        self.check = RecordCheck(projection, registry)
        self.dead_letters: DeadLetters = dead_letters or LogOnly()
        projection.bind(pool)
        self._tracer = tracer("archipel.projections")

    async def handle_raw(self, value: bytes, headers: Mapping[str, str], source: Source | None = None) -> bool:
        """Applies one Kafka record; False when it was not for this projection, already applied,
        or parked."""
        return await self.handle_records([(value, headers, source)]) == 1

    async def handle_records(self, records: Sequence[Consumed]) -> int:
        """Applies a batch of Kafka records in ONE transaction (with the head of each stream, so a
        redelivered batch changes nothing); returns how many were applied. The records it parks
        are on the dead-letter topic before the transaction commits."""
        parked: list[Parked] = []
        readable: list[tuple[Incoming, Mapping[str, str], Source | None]] = []
        for value, headers, source in records:
            read = self.check.read(value, headers, source)
            if isinstance(read, Parked):
                parked.append(read)
            else:
                readable.append((read, headers, source))
        if not readable:
            await self._park(parked)
            return 0
        applied = 0
        await KEYRING.prepare(self.pool, subjects_in(incoming.value for incoming, _, _ in readable))
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock_shared(hashtext($1))", lock_key(self.projection))
            heads = await self._lock_streams(connection, sorted({incoming.stream_id for incoming, _, _ in readable}))
            before = dict(heads)
            for incoming, headers, source in readable:
                taken = self.check.take(heads, incoming, headers, source)
                if isinstance(taken, Parked):
                    parked.append(taken)
                elif taken is not None:
                    with self._tracer.start_as_current_span(
                        "projection.apply", context=context_from(headers), kind=trace.SpanKind.CONSUMER
                    ) as span:
                        span.set_attribute("archipel.projection", self.projection.name)
                        span.set_attribute("archipel.event_type", taken.event_type)
                        await self.projection.apply(connection, taken)
                        span.set_attribute("archipel.applied", True)
                    applied += 1
            await record_heads(connection, self.projection.name, {s: h for s, h in heads.items() if h != before[s]})
            await self._park(parked)  # before the commit: a failure rolls the batch back
        return applied

    async def _park(self, parked: Sequence[Parked]) -> None:
        for record in parked:
            log_parked(record)
        if parked:
            await self.dead_letters.park(parked)

    async def _lock_streams(self, connection: Connection, streams: list[str]) -> dict[str, Head]:
        """The head of each stream, its row locked until the transaction ends. The rows exist
        before they are locked, so two runners handling a stream's first event at once (a
        consumer-group rebalance) serialise on them instead of both applying; they are locked in
        stream order, so two runners cannot deadlock."""
        await connection.execute(
            "INSERT INTO projection_streams (projection, stream_id, version, hash)"
            " SELECT $1, stream, 0, '\\x'::bytea FROM unnest($2::text[]) AS s(stream)"
            " ON CONFLICT (projection, stream_id) DO NOTHING",
            self.projection.name,
            streams,
        )
        rows = await connection.fetch(
            "SELECT stream_id, version, hash FROM projection_streams WHERE projection = $1"
            " AND stream_id = ANY($2::text[]) ORDER BY stream_id FOR UPDATE",
            self.projection.name,
            streams,
        )
        return {row["stream_id"]: head_of(row["version"], row["hash"]) for row in rows}


def head_of(version: int, digest: bytes | None) -> Head:
    """A stored head; one recorded before heads kept their hash (None) is checked on its version."""
    if digest is None:
        return Head(version, GENESIS if version == 0 else None)
    return Head(version, bytes(digest))


async def record_heads(connection: Connection, projection: str, changed: Mapping[str, Head]) -> None:
    """Records the head of each changed stream (in the caller's transaction)."""
    if changed:
        await connection.execute(
            "INSERT INTO projection_streams (projection, stream_id, version, hash)"
            " SELECT $1, stream, version, hash FROM unnest($2::text[], $3::int[], $4::bytea[])"
            " AS s(stream, version, hash)"
            " ON CONFLICT (projection, stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash",
            projection,
            list(changed),
            [head.version for head in changed.values()],
            [head.hash for head in changed.values()],
        )
