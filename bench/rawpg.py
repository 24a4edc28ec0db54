"""Peer b (PostgreSQL): the raw limits for the same rows in the same table shape, with asyncpg and
nothing else: COPY (copy_records_to_table) on one connection, and plain INSERTs, one transaction per
command (the grouping Archipel's appends have) from the same number of concurrent writers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from bench.common import Config, Recorder
from bench.store import COLUMNS, Row, timed_workers

_NAMES = [name.strip() for name in COLUMNS.split(",")]
_CORRELATION = _NAMES.index("correlation_id")


async def copy(rows: Sequence[Row], rec: Recorder, pool: asyncpg.Pool) -> float:
    started = time.perf_counter()
    async with pool.acquire() as connection:
        await connection.copy_records_to_table("events", records=rows, columns=_NAMES)
    elapsed = time.perf_counter() - started
    rate = len(rows) / elapsed
    rec.put("raw_postgres", copy_events_per_s=round(rate, 1), copy_seconds=round(elapsed, 3))
    rec.say(f"raw COPY: {rate:,.0f} events/s")
    return rate


async def insert(config: Config, rows: Sequence[Row], rec: Recorder, pool: asyncpg.Pool) -> float:
    commands: dict[object, list[Row]] = {}
    for row in rows:
        commands.setdefault(row[_CORRELATION], []).append(row)
    groups = list(commands.values())
    statement = f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, len(_NAMES) + 1))})"
    counter = [0]

    def writer(share: Sequence[list[Row]]) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            for group in share:
                async with pool.acquire() as connection, connection.transaction():
                    await connection.executemany(statement, group)
                counter[0] += len(group)

        return job

    jobs = [writer(groups[i :: config.tasks]) for i in range(min(config.tasks, len(groups)))]
    elapsed = await timed_workers(rec, "raw INSERT (events)", len(rows), jobs, lambda: counter[0])
    rate = len(rows) / elapsed
    rec.put(
        "raw_postgres",
        insert_events_per_s=round(rate, 1),
        insert_transactions=len(groups),
        insert_writers=len(jobs),
    )
    rec.say(f"raw INSERT, one transaction per command: {rate:,.0f} events/s")
    return rate
