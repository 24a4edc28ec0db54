"""How appends reach the events table: one SQL function for any number of streams, and a group
commit that lets concurrent commands share its statement and its commit.

`archipel_append` reads every column from each event's canonical JSON, the very bytes the hash
chain covers and the relay publishes, so a row cannot differ from what was hashed. It takes the
transaction id before it reads any stream head (see shared.eventstore) and never raises on a
version conflict: it reports, per stream, whether the events were written, so that one command's
conflict does not fail the other commands sharing its statement."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from shared.db import Connection, Migration
from shared.errors import ConcurrencyError

WRITTEN = -1
"""The outcome of a stream whose events were written; otherwise the version found at its head,
or RACED when another transaction wrote the same version first."""
RACED = -2

APPEND_FUNCTION = Migration(
    "0002_append_function",
    r"""
    CREATE FUNCTION archipel_append(
        p_streams text[], p_expected integer[], p_counts integer[], p_events bytea[]
    ) RETURNS integer[] LANGUAGE plpgsql AS $$
    DECLARE
        outcome integer[] := '{}';
        head_version integer;
        chain bytea;
        body jsonb;
        version integer;
        written uuid[];
        complete boolean;
        first_event integer := 1;
    BEGIN
        PERFORM pg_current_xact_id();  -- the transaction id first, before any head is read
        FOR i IN 1 .. coalesce(cardinality(p_streams), 0) LOOP
            SELECT stream_version, hash INTO head_version, chain
              FROM events WHERE stream_id = p_streams[i] ORDER BY stream_version DESC LIMIT 1;
            head_version := coalesce(head_version, 0);
            IF head_version <> p_expected[i] THEN
                outcome := outcome || head_version;
            ELSE
                chain := coalesce(chain, '\x'::bytea);
                version := p_expected[i];
                written := '{}';
                complete := true;
                FOR k IN first_event .. first_event + p_counts[i] - 1 LOOP
                    chain := sha256(chain || p_events[k]);
                    body := convert_from(p_events[k], 'UTF8')::jsonb;
                    version := version + 1;
                    IF body->>'stream_id' IS DISTINCT FROM p_streams[i]
                       OR (body->>'stream_version')::integer IS DISTINCT FROM version THEN
                        RAISE EXCEPTION USING ERRCODE = 'AR422', MESSAGE = format(
                            'event %s is not version %s of stream %s', body->>'event_id', version, p_streams[i]);
                    END IF;
                    INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version,
                        occurred_at, recorded_at, academy, actor, candidate_id, correlation_id, causation_id,
                        trace_context, payload, hash)
                    VALUES ((body->>'event_id')::uuid, p_streams[i], version, body->>'event_type',
                        (body->>'schema_version')::integer, (body->>'occurred_at')::timestamptz,
                        (body->>'recorded_at')::timestamptz, body->>'academy', body->>'actor',
                        body->>'candidate_id', (body->>'correlation_id')::uuid, (body->>'causation_id')::uuid,
                        body->'trace_context', body->'payload', chain)
                    ON CONFLICT (stream_id, stream_version) DO NOTHING;
                    IF NOT FOUND THEN  -- another transaction wrote this version since the head was read
                        complete := false;
                        EXIT;
                    END IF;
                    written := written || (body->>'event_id')::uuid;
                END LOOP;
                IF complete THEN
                    outcome := outcome || -1;
                ELSE
                    DELETE FROM events WHERE event_id = ANY (written);
                    outcome := outcome || -2;
                END IF;
            END IF;
            first_event := first_event + p_counts[i];
        END LOOP;
        IF -1 = ANY (outcome) THEN
            PERFORM pg_notify('archipel_events_' || current_schema(), '');
        END IF;
        RETURN outcome;
    END
    $$;
    """,
)


@dataclass(frozen=True)
class StreamAppend:
    """One stream's events, as their canonical JSON, after `expected_version`."""

    stream_id: str
    expected_version: int
    canonical: Sequence[bytes]


async def write_appends(executor: Connection | asyncpg.Pool, appends: Sequence[StreamAppend]) -> list[int]:
    """Writes `appends` in ONE statement; returns each stream's outcome (WRITTEN or a conflict)."""
    outcome: list[int] = await executor.fetchval(
        "SELECT archipel_append($1, $2, $3, $4)",
        [append.stream_id for append in appends],
        [append.expected_version for append in appends],
        [len(append.canonical) for append in appends],
        [event for append in appends for event in append.canonical],
    )
    return outcome


def conflict(append: StreamAppend, outcome: int) -> ConcurrencyError | None:
    """The error a command gets for its stream's outcome, None when its events were written."""
    if outcome == WRITTEN:
        return None
    if outcome == RACED:
        return ConcurrencyError(
            f"stream {append.stream_id} was appended to concurrently after version {append.expected_version}"
        )
    return ConcurrencyError(
        f"stream {append.stream_id} is at version {outcome}, not the expected {append.expected_version}"
    )


@dataclass
class _Pending:
    append: StreamAppend
    done: asyncio.Future[None]


class GroupCommit:
    """Concurrent single-stream appends share one statement and one commit.

    The first append is written at once; those that arrive while statements are in flight wait
    for the next one. Batches stay small (`batch` streams) and several are in flight (`writers`,
    at most half the pool), so that PostgreSQL writes some while this process prepares others:
    one large batch at a time left each side idle half the time (issue 7's measurements). Each
    append keeps its own outcome: a conflict fails only its command. If a shared statement fails
    (a malformed event), each of its appends is retried alone, so the error reaches only the
    command that caused it."""

    def __init__(self, pool: asyncpg.Pool, *, batch: int = 8, writers: int = 8) -> None:
        self.pool = pool
        self.batch = batch
        self.writers = max(1, min(writers, pool.get_max_size() // 2))
        self._queue: list[_Pending] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def append(self, append: StreamAppend) -> None:
        pending = _Pending(append, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        if len(self._tasks) < self.writers:
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.shield(pending.done)  # a cancelled caller does not cancel its neighbours' write

    async def _drain(self) -> None:
        while self._queue:
            taken, self._queue = self._queue[: self.batch], self._queue[self.batch :]
            try:
                outcomes = await write_appends(self.pool, [pending.append for pending in taken])
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if len(taken) == 1:
                    _settle(taken[0], error)
                else:
                    await asyncio.gather(*(self._alone(pending) for pending in taken))
                continue
            except BaseException as error:
                for pending in taken:
                    _settle(pending, error)
                raise
            for pending, outcome in zip(taken, outcomes, strict=True):
                _settle(pending, conflict(pending.append, outcome))

    async def _alone(self, pending: _Pending) -> None:
        try:
            (outcome,) = await write_appends(self.pool, [pending.append])
        except Exception as error:
            _settle(pending, error)
        else:
            _settle(pending, conflict(pending.append, outcome))


def _settle(pending: _Pending, error: BaseException | None) -> None:
    if pending.done.done():
        return
    if isinstance(error, asyncio.CancelledError):
        pending.done.cancel()
    elif error is None:
        pending.done.set_result(None)
    else:
        pending.done.set_exception(error)
