"""PostgreSQL event store (DESIGN rules 3 and 4).

Appends are atomic and checked: a command's events are written in one transaction with an
expected stream version; a concurrent writer gets `ConcurrencyError` and writes nothing.

The global log is safe to tail. Positions come from an identity column, assigned at insert but
visible only at commit, so transactions committing out of order would let a naive
"position > last" reader skip events. Every row also records its transaction id (`xid8`), and the
log is read with a `(tx_id, position)` cursor, only below the oldest transaction still in flight
(`pg_snapshot_xmin`): every transaction under that horizon has ended, so the set of rows below it is
final and a reader advancing through it in order never skips nor repeats a row.

Within a stream, versions follow transaction ids because an append transaction takes its id in its
first statement, after the caller read the stream it decides on, and an append must name the
version it expects: a transaction can only append version n+1 if version n was committed before
it began, hence by a transaction with a smaller id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import uuid4

import asyncpg

from shared.appends import APPEND_FUNCTION, GroupCommit, StreamAppend, conflict, write_appends
from shared.clock import Clock, system_clock
from shared.db import Connection, Migration
from shared.errors import InvalidInput
from shared.events import CommandContext, DomainEvent, Envelope, EventRegistry, StoredEnvelope
from shared.personal import KEYRING, subjects_in
from shared.sealed_events import stored_json, subject_of

if TYPE_CHECKING:
    from shared.keystore import KeyStore

MAX_EVENT_BYTES = 256 * 1024
"""The largest event the store appends, as canonical JSON: well under Kafka's 1 MiB record limit
(message.max.bytes), headers and batch overhead included, so that no stored event can ever block
a relay (issue 13). Commands bound their fields; this is the last line."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_event_store",
        """
        CREATE TABLE events (
            position bigint GENERATED ALWAYS AS IDENTITY,
            tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
            event_id uuid NOT NULL UNIQUE,
            stream_id text NOT NULL,
            stream_version integer NOT NULL CHECK (stream_version > 0),
            event_type text NOT NULL,
            schema_version integer NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            academy text NOT NULL,
            actor text NOT NULL,
            candidate_id text,
            correlation_id uuid NOT NULL,
            causation_id uuid,
            trace_context jsonb NOT NULL DEFAULT '{}',
            payload jsonb NOT NULL,
            hash bytea NOT NULL,
            PRIMARY KEY (stream_id, stream_version)
        );
        CREATE UNIQUE INDEX events_log ON events (tx_id, position);
        CREATE INDEX events_candidate ON events (candidate_id, position);
        """,
    ),
    APPEND_FUNCTION,
)

ExtraWrite = Callable[[Connection], Awaitable[None]]

_COLUMNS = (
    "event_id, stream_id, stream_version, event_type, schema_version, occurred_at, recorded_at,"
    " academy, actor, candidate_id, correlation_id, causation_id, trace_context, payload"
)


@dataclass(frozen=True, order=True)
class LogPosition:
    """A cursor in the global log: (transaction id, position). Compare them as tuples."""

    tx_id: int
    position: int

    @classmethod
    def start(cls) -> LogPosition:
        return cls(0, 0)


@dataclass(frozen=True)
class LoggedEvent:
    position: LogPosition
    envelope: Envelope  # decoded (and upcast) with the store's registry
    stored: StoredEnvelope  # as written: what the relay publishes
    hash: bytes  # the chain hash recorded at append time


@dataclass(frozen=True)
class StoredLogEntry:
    position: LogPosition
    stored: StoredEnvelope
    hash: bytes


def chain_hash(previous: bytes, envelope: Envelope | StoredEnvelope) -> bytes:
    """Tamper evidence: each event's hash covers its content and the previous event's hash."""
    return hashlib.sha256(previous + envelope.to_json()).digest()


class EventStore:
    def __init__(
        self, pool: asyncpg.Pool, registry: EventRegistry, *, clock: Clock = system_clock, keys: KeyStore | None = None
    ) -> None:
        """`keys`: the key store that seals personal fields (shared.personal); every service's store
        has one (shared.service.open_store); without it they are written in clear."""
        self.pool = pool
        self.registry = registry
        self._clock = clock
        self.keys = keys
        self._group = GroupCommit(pool)

    async def notify_channel(self) -> str:
        schema = await self.pool.fetchval("SELECT current_schema()")
        return f"archipel_events_{schema}"

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        context: CommandContext,
        *,
        extra: ExtraWrite | None = None,
    ) -> list[Envelope]:
        """Appends `events` after `expected_version` (0 for a new stream), all or none.
        `extra` runs in the same transaction (uniqueness tables, private data)."""
        written = await self.append_many([Append(stream_id, expected_version, tuple(events), context)], extra=extra)
        return written[0]

    async def append_many(self, appends: Sequence[Append], *, extra: ExtraWrite | None = None) -> list[list[Envelope]]:
        """Several streams in ONE transaction (a jury's file, say): every append or none."""
        if any(append.expected_version < 0 for append in appends):
            raise ValueError("expected_version must be 0 or more")
        if len({append.stream_id for append in appends}) != len(appends):
            raise ValueError("a stream appears twice in one append_many")
        recorded_at = self._clock().astimezone(UTC)
        planned = [plan_envelopes(append, recorded_at) for append in appends]
        if not any(planned):
            return planned
        keys = await self._keys_for(planned)
        work = [
            StreamAppend(append.stream_id, append.expected_version, [bounded(envelope, keys) for envelope in envelopes])
            for append, envelopes in zip(appends, planned, strict=True)
            if envelopes
        ]
        if len(work) == 1 and extra is None:
            await self._group.append(work[0])  # shares a statement and a commit with concurrent commands
            return planned
        # Streams in a fixed order, so that two multi-stream appends cannot deadlock.
        work.sort(key=lambda append: append.stream_id)
        async with self.pool.acquire() as connection, connection.transaction():
            for append, outcome in zip(work, await write_appends(connection, work), strict=True):
                if error := conflict(append, outcome):
                    raise error
            if extra is not None:
                await extra(connection)
        return planned

    async def _keys_for(self, planned: list[list[Envelope]]) -> dict[str, bytes | None]:
        """The data keys of the subjects whose personal fields these envelopes seal (made if new)."""
        subjects = sorted({subject_of(e) for envelopes in planned for e in envelopes if e.payload.personal})
        if self.keys is None or not subjects:
            return {}
        return await self.keys.keys_for_write(self.pool, subjects)

    async def prepare(self, rows: list[asyncpg.Record]) -> list[asyncpg.Record]:
        """Reads the keys of the sealed rows' subjects before they are decoded (shared.personal)."""
        await KEYRING.prepare(self.pool, subjects_in(row["payload"] for row in rows))
        return rows

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [self._envelope(row) for row in await self.prepare(rows)]

    async def _log_rows(self, after: LogPosition, limit: int) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.pool.fetch(
            f"SELECT tx_id::text AS tx, position, hash, {_COLUMNS} FROM events"
            " WHERE (tx_id, position) > ($1::text::xid8, $2)"
            "   AND tx_id < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY tx_id, position LIMIT $3",
            str(after.tx_id),
            after.position,
            limit,
        )
        return rows

    async def read_log(self, after: LogPosition, limit: int = 500) -> list[LoggedEvent]:
        """Committed events after `after`, in log order, only below the in-flight horizon."""
        return [
            LoggedEvent(
                LogPosition(int(row["tx"]), row["position"]), self._envelope(row), stored_envelope(row), row["hash"]
            )
            for row in await self.prepare(await self._log_rows(after, limit))
        ]

    async def read_log_stored(self, after: LogPosition, limit: int = 500) -> list[StoredLogEntry]:
        """The same log, events as stored and not decoded: what the relay publishes."""
        return [
            StoredLogEntry(LogPosition(int(row["tx"]), row["position"]), stored_envelope(row), row["hash"])
            for row in await self._log_rows(after, limit)
        ]

    async def tail(self, after: LogPosition, batch: int = 500) -> AsyncIterator[LoggedEvent]:
        """Every event currently readable after `after` (one pass, no waiting)."""
        while True:
            events = await self.read_log(after, batch)
            if not events:
                return
            for event in events:
                yield event
            after = events[-1].position

    def _envelope(self, row: asyncpg.Record) -> Envelope:
        payload = self.registry.decode(row["event_type"], row["schema_version"], json.loads(row["payload"]))
        return Envelope(
            event_id=row["event_id"],
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            event_type=row["event_type"],
            # The payload was upcast to the current model: the envelope describes that version, so
            # what the relay publishes is not upcast a second time by its consumers.
            schema_version=type(payload).schema_version,
            occurred_at=row["occurred_at"],
            recorded_at=row["recorded_at"],
            academy=row["academy"],
            actor=row["actor"],
            candidate_id=row["candidate_id"],
            correlation_id=row["correlation_id"],
            causation_id=row["causation_id"],
            trace_context=json.loads(row["trace_context"]),
            payload=payload,
        )


def bounded(envelope: Envelope, keys: dict[str, bytes | None] | None = None) -> bytes:
    """The envelope's stored JSON, refused (nothing written) when over MAX_EVENT_BYTES."""
    canonical = stored_json(envelope, keys or {})
    if len(canonical) > MAX_EVENT_BYTES:
        raise InvalidInput(
            envelope.event_type,
            f"the event is {len(canonical):,} bytes of canonical JSON, over the store's bound of {MAX_EVENT_BYTES:,}",
        )
    return canonical


def stored_envelope(row: asyncpg.Record) -> StoredEnvelope:
    """An events row as stored, payload undecoded (tamper evidence, relaying)."""
    return StoredEnvelope(
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        academy=row["academy"],
        actor=row["actor"],
        candidate_id=row["candidate_id"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        trace_context=json.loads(row["trace_context"]),
        payload=json.loads(row["payload"]),
    )


@dataclass(frozen=True)
class Append:
    """One stream's part of an append: its events after `expected_version`."""

    stream_id: str
    expected_version: int
    events: tuple[DomainEvent, ...]
    context: CommandContext


def plan_envelopes(append: Append, recorded_at: datetime) -> list[Envelope]:
    """The envelopes an append will write: new ids, the next versions, the command's context."""
    context = append.context
    return [
        Envelope(
            event_id=uuid4(),
            stream_id=append.stream_id,
            stream_version=append.expected_version + index,
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=context.occurred_at.astimezone(UTC),
            recorded_at=recorded_at,
            academy=context.academy,
            actor=context.actor,
            candidate_id=context.candidate_id,
            correlation_id=context.correlation_id,
            causation_id=context.causation_id,
            trace_context=context.trace_context,
            payload=event,
        )
        for index, event in enumerate(append.events, start=1)
    ]
