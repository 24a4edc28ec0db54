"""Measurement 2: the event store's append rate with many concurrent streams (EventStore.append from
`tasks` concurrent writers over one pool, then append_many batches), and its read rates (every stream
by read_stream, the whole log by read_log). Returns the rows written, for the raw peers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from bench.campaign import Candidate, event_count, interleaved
from bench.common import Config, Recorder, latency_figures
from bench.profiles import REGISTRY, Command
from bench.tools import profiled
from shared.eventstore import Append, EventStore, LogPosition

COLUMNS = (
    "event_id, stream_id, stream_version, event_type, schema_version, occurred_at, recorded_at, academy, actor,"
    " candidate_id, correlation_id, causation_id, trace_context, payload, hash"
)
Row = tuple[Any, ...]


def shares(campaign: Sequence[Candidate], workers: int) -> list[list[Candidate]]:
    """Candidates dealt to `workers` writers: a writer owns its candidates' streams, so it knows their versions."""
    dealt: list[list[Candidate]] = [[] for _ in range(max(1, workers))]
    for index, candidate in enumerate(campaign):
        dealt[index % len(dealt)].append(candidate)
    return [share for share in dealt if share]


def batches(candidates: Sequence[Candidate], size: int) -> list[list[Command]]:
    """A writer's commands in campaign order, cut into batches of at most `size` distinct streams."""
    out: list[list[Command]] = [[]]
    for command in interleaved(candidates):
        if len(out[-1]) >= size or any(c.stream_id == command.stream_id for c in out[-1]):
            out.append([])
        out[-1].append(command)
    return [batch for batch in out if batch]


async def timed_workers(
    rec: Recorder, label: str, total: int, work: Sequence[Callable[[], Awaitable[None]]], done: Callable[[], int]
) -> float:
    started = time.perf_counter()
    async with rec.ticking(label, done, total):
        await asyncio.gather(*(job() for job in work))
    return time.perf_counter() - started


async def append_commands(
    rec: Recorder, label: str, campaign: Sequence[Candidate], writers: int, store_of: Callable[[Command], EventStore]
) -> tuple[float, list[float], int]:
    """The campaign's commands appended one per transaction by up to `writers` concurrent writers,
    each into `store_of(command)`; returns the seconds it took, each command's latency and how many
    writers there were."""
    latencies: list[float] = []
    counter = [0]

    def writer(candidates: list[Candidate]) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            for candidate in candidates:
                for command in candidate.commands:
                    started = time.perf_counter()
                    await store_of(command).append(
                        command.stream_id, command.expected_version, command.events, command.context
                    )
                    latencies.append(time.perf_counter() - started)
                    counter[0] += len(command.events)

        return job

    jobs = [writer(share) for share in shares(campaign, writers)]
    elapsed = await timed_workers(rec, label, event_count(campaign), jobs, lambda: counter[0])
    return elapsed, latencies, len(jobs)


async def measure(config: Config, campaign: Sequence[Candidate], rec: Recorder, box_pool: asyncpg.Pool) -> list[Row]:
    """Appends the campaign one command per transaction, reads it back; returns the rows written."""
    store = EventStore(box_pool, REGISTRY)
    total = event_count(campaign)
    streams = sorted({c.stream_id for candidate in campaign for c in candidate.commands})
    async with profiled(config, rec, "append"):
        elapsed, latencies, writers = await append_commands(
            rec, "append (events)", campaign, config.tasks, lambda _: store
        )
    rec.put(
        "event_store",
        events=total,
        streams=len(streams),
        commands=len(latencies),
        writers=writers,
        append_seconds=round(elapsed, 3),
        append_events_per_s=round(total / elapsed, 1),
        append_commands_per_s=round(len(latencies) / elapsed, 1),
        append_latency=latency_figures(latencies),
    )
    rec.say(f"append: {total / elapsed:,.0f} events/s, {len(latencies) / elapsed:,.0f} commands/s")

    read = [0]

    def reader(names: Sequence[str]) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            for name in names:
                events = await store.read_stream(name)
                read[0] += len(events)  # not `+= len(await ...)`: that reads the counter before awaiting

        return job

    readers = [reader(streams[i :: config.tasks]) for i in range(min(config.tasks, len(streams)))]
    elapsed = await timed_workers(rec, "read_stream (events)", total, readers, lambda: read[0])
    log_started, logged, after = time.perf_counter(), 0, LogPosition.start()
    while events := await store.read_log(after, 1000):
        logged, after = logged + len(events), events[-1].position
    log_elapsed = time.perf_counter() - log_started
    rec.put(
        "event_store",
        read_stream_events_per_s=round(read[0] / elapsed, 1),
        read_log_events_per_s=round(logged / log_elapsed, 1),
    )
    rec.say(f"read: {read[0] / elapsed:,.0f} events/s by stream, {logged / log_elapsed:,.0f} events/s from the log")
    rows = await box_pool.fetch(f"SELECT {COLUMNS} FROM events ORDER BY position")
    return [tuple(row.values()) for row in rows]


async def measure_many(
    config: Config, campaign: Sequence[Candidate], rec: Recorder, pool: asyncpg.Pool, batch: int = 50
) -> None:
    """append_many: up to `batch` streams' commands in one transaction (a jury's file, a bulk import)."""
    store = EventStore(pool, REGISTRY)
    total = event_count(campaign)
    workers = max(1, min(config.tasks // 4, len(campaign) // batch))
    counter = [0]
    latencies: list[float] = []

    def writer(candidates: list[Candidate]) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            for commands in batches(candidates, batch):
                appends = [Append(c.stream_id, c.expected_version, c.events, c.context) for c in commands]
                started = time.perf_counter()
                await store.append_many(appends)
                latencies.append(time.perf_counter() - started)
                counter[0] += sum(len(c.events) for c in commands)

        return job

    jobs = [writer(share) for share in shares(campaign, workers)]
    elapsed = await timed_workers(rec, "append_many (events)", total, jobs, lambda: counter[0])
    rec.put(
        "event_store",
        append_many_events_per_s=round(total / elapsed, 1),
        append_many_batches=len(latencies),
        append_many_streams_per_batch=batch,
        append_many_writers=len(jobs),
        append_many_latency=latency_figures(latencies),
    )
    rec.say(f"append_many: {total / elapsed:,.0f} events/s ({len(latencies)} batches, {len(jobs)} writers)")
