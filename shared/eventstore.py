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
from uuid import uuid4

import asyncpg

from shared.clock import Clock, system_clock
from shared.db import Connection, Migration
from shared.errors import ConcurrencyError
from shared.events import CommandContext, DomainEvent, Envelope, EventRegistry, StoredEnvelope

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
    Migration(
        "0002_append_function",
        # One stream's append as ONE statement (one round trip, its own transaction when called
        # alone). The columns are read from the canonical JSON of each envelope, the very bytes the
        # hash covers and the relay publishes, so a row cannot differ from what was hashed.
        r"""
        CREATE FUNCTION archipel_append(p_stream text, p_expected integer, p_events bytea[])
        RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            head_version integer;
            chain bytea;
            canon bytea;
            body jsonb;
            version integer := p_expected;
        BEGIN
            -- The transaction id is taken first, before any stream head is read (module docstring).
            PERFORM pg_current_xact_id();
            SELECT stream_version, hash INTO head_version, chain
              FROM events WHERE stream_id = p_stream ORDER BY stream_version DESC LIMIT 1;
            IF coalesce(head_version, 0) <> p_expected THEN
                RAISE EXCEPTION USING ERRCODE = 'AR409', MESSAGE = format(
                    'stream %s is at version %s, not the expected %s',
                    p_stream, coalesce(head_version, 0), p_expected);
            END IF;
            chain := coalesce(chain, '\x'::bytea);
            FOREACH canon IN ARRAY p_events LOOP
                chain := sha256(chain || canon);
                body := convert_from(canon, 'UTF8')::jsonb;
                version := version + 1;
                IF body->>'stream_id' IS DISTINCT FROM p_stream
                   OR (body->>'stream_version')::integer IS DISTINCT FROM version THEN
                    RAISE EXCEPTION USING ERRCODE = 'AR422', MESSAGE = format(
                        'event %s is not version %s of stream %s', body->>'event_id', version, p_stream);
                END IF;
                INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version,
                    occurred_at, recorded_at, academy, actor, candidate_id, correlation_id, causation_id,
                    trace_context, payload, hash)
                VALUES ((body->>'event_id')::uuid, p_stream, version, body->>'event_type',
                    (body->>'schema_version')::integer, (body->>'occurred_at')::timestamptz,
                    (body->>'recorded_at')::timestamptz, body->>'academy', body->>'actor',
                    body->>'candidate_id', (body->>'correlation_id')::uuid, (body->>'causation_id')::uuid,
                    body->'trace_context', body->'payload', chain);
            END LOOP;
            PERFORM pg_notify('archipel_events_' || current_schema(), '');
        END
        $$;
        """,
    ),
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
    def __init__(self, pool: asyncpg.Pool, registry: EventRegistry, *, clock: Clock = system_clock) -> None:
        self.pool = pool
        self.registry = registry
        self._clock = clock

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
        planned = [_envelopes(append, recorded_at) for append in appends]
        if not any(planned):
            return planned
        work = [
            (append.stream_id, append.expected_version, [envelope.to_json() for envelope in envelopes])
            for append, envelopes in zip(appends, planned, strict=True)
            if envelopes
        ]
        if len(work) == 1 and extra is None:
            await _append_stream(self.pool, *work[0])  # one statement, its own transaction
            return planned
        async with self.pool.acquire() as connection, connection.transaction():
            # Streams in a fixed order, so that two multi-stream appends cannot deadlock. The first
            # call takes the transaction id before reading any head (see the module docstring).
            for stream_id, expected_version, canonical in sorted(work, key=lambda item: item[0]):
                await _append_stream(connection, stream_id, expected_version, canonical)
            if extra is not None:
                await extra(connection)
        return planned

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [self._envelope(row) for row in rows]

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
            for row in await self._log_rows(after, limit)
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


def _envelopes(append: Append, recorded_at: datetime) -> list[Envelope]:
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


async def _append_stream(
    executor: Connection | asyncpg.Pool, stream_id: str, expected_version: int, canonical: list[bytes]
) -> None:
    """Appends one stream's events, given as their canonical JSON, through archipel_append."""
    try:
        await executor.execute("SELECT archipel_append($1, $2, $3)", stream_id, expected_version, canonical)
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == "events_pkey":
            raise ConcurrencyError(
                f"stream {stream_id} was appended to concurrently after version {expected_version}"
            ) from None
        raise
    except asyncpg.PostgresError as error:
        if error.sqlstate == "AR409":
            raise ConcurrencyError(str(error)) from None
        raise
