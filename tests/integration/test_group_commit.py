"""Group commit against the real PostgreSQL: concurrent commands share a statement and a commit,
yet each keeps its own outcome (DESIGN rule 3: all of a command's events or none, a conflict is the
command's own), and the hash chain stays what an auditor recomputes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from shared.appends import GroupCommit, StreamAppend
from shared.errors import ConcurrencyError
from shared.events import Envelope
from shared.eventstore import Append, EventStore, LogPosition, chain_hash, plan_envelopes
from tests.integration.sample_events import Counted, context, open_store


@pytest.fixture
async def store(database_url: str, schema: str) -> AsyncIterator[EventStore]:
    store = await open_store(database_url, schema, max_size=4)
    yield store
    await store.pool.close()


async def test_concurrent_commands_share_commits_and_every_one_lands_whole(store: EventStore) -> None:
    written = await asyncio.gather(
        *(store.append(f"s-{n}", 0, [Counted(amount=n), Counted(amount=-n)], context()) for n in range(96))
    )

    rows = await store.pool.fetch("SELECT stream_id, stream_version, tx_id::text AS tx FROM events")
    assert len(rows) == 192
    assert Counter(row["stream_id"] for row in rows) == {f"s-{n}": 2 for n in range(96)}
    by_stream: dict[str, set[str]] = {}
    for row in rows:
        by_stream.setdefault(row["stream_id"], set()).add(row["tx"])
    assert all(len(txs) == 1 for txs in by_stream.values())  # a command's events in one transaction
    assert len({row["tx"] for row in rows}) < 96  # ...shared with other commands
    for n, envelopes in enumerate(written):
        assert await store.read_stream(f"s-{n}") == envelopes
    previous: dict[str, bytes] = {}
    for entry in await store.read_log_stored(LogPosition.start(), 1000):
        expected = chain_hash(previous.get(entry.stored.stream_id, b""), entry.stored)
        assert entry.hash == expected
        previous[entry.stored.stream_id] = entry.hash


async def test_a_stale_command_fails_alone_among_commands_sharing_its_statement(store: EventStore) -> None:
    await store.append("busy", 0, [Counted(amount=1)], context())

    results = await asyncio.gather(
        *(store.append(f"fresh-{n}", 0, [Counted(amount=n)], context()) for n in range(20)),
        *(store.append("busy", 0, [Counted(amount=100 + n)], context()) for n in range(5)),
        return_exceptions=True,
    )

    assert all(isinstance(result, list) for result in results[:20]), results
    assert all(isinstance(result, ConcurrencyError) and "version 1" in str(result) for result in results[20:])
    assert [e.payload for e in await store.read_stream("busy")] == [Counted(amount=1)]
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 21


async def test_a_malformed_append_fails_alone_and_writes_nothing(store: EventStore) -> None:
    good = [StreamAppend(f"good-{n}", 0, [envelope.to_json() for envelope in _planned(f"good-{n}")]) for n in range(6)]
    # Canonical JSON that claims to be version 5 of another stream: the function refuses it.
    bad = StreamAppend("bad", 0, [_planned("elsewhere", version=5)[0].to_json()])
    group = GroupCommit(store.pool, writers=1)

    results = await asyncio.gather(*(group.append(a) for a in (*good[:3], bad, *good[3:])), return_exceptions=True)

    error = results[3]
    assert isinstance(error, asyncpg.PostgresError) and error.sqlstate == "AR422", error
    assert "is not version 1 of stream bad" in str(error)
    assert all(r is None for i, r in enumerate(results) if i != 3), results
    streams = {row["stream_id"] for row in await store.pool.fetch("SELECT stream_id FROM events")}
    assert streams == {f"good-{n}" for n in range(6)}


async def test_an_append_raced_midway_undoes_the_events_it_had_written(store: EventStore, database_url: str) -> None:
    other = await asyncpg.connect(database_url, server_settings={"search_path": await _schema(store)})
    try:
        transaction = other.transaction()
        await transaction.start()
        # Another writer holds version 2 of the stream, not yet committed (version 1 is free).
        [planned] = _planned("raced", version=2)
        await other.execute(
            "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, occurred_at,"
            " recorded_at, academy, actor, correlation_id, payload, hash)"
            " VALUES ($1, 'raced', 2, 'Counted', 1, now(), now(), 'ac-lyon', 'test', gen_random_uuid(), '{}', '\\x00')",
            planned.event_id,
        )
        append = asyncio.create_task(store.append("raced", 0, [Counted(amount=1), Counted(amount=2)], context()))
        deadline = time.monotonic() + 10
        while not await store.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%archipel_append%'"
        ):
            assert time.monotonic() < deadline, "the append never waited on the other writer's version 2"
            await asyncio.sleep(0.01)
        await transaction.commit()

        with pytest.raises(ConcurrencyError, match="concurrently"):
            await append
    finally:
        await other.close()
    versions = [row["stream_version"] for row in await store.pool.fetch("SELECT stream_version FROM events")]
    assert versions == [2]  # its version 1 was undone: all of the command's events or none


async def _schema(store: EventStore) -> str:
    schema: str = await store.pool.fetchval("SELECT current_schema()")
    return schema


def _planned(stream_id: str, version: int = 1) -> list[Envelope]:
    """The envelope an append of one event at `version` would write."""
    return plan_envelopes(Append(stream_id, version - 1, (Counted(amount=version),), context()), datetime.now(UTC))
