"""Measurement 3: the relay's publish rate into Kafka (a backlog, four services' relays at once, in
this process), and the end-to-end lag (append -> projection applied) with the campaign's commands
appended here at a fixed rate while the relays and a FastStream projection subscriber run in child
processes (bench.child). The replay rate is measured on a campaign of its own (bench.replay)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from kafka import KafkaProducer

from bench.campaign import Candidate, event_count, interleaved
from bench.common import SERVICES, Config, Json, Recorder, Sandbox, latency_figures, percentile
from bench.lagview import LagView
from bench.profiles import REGISTRY, Command
from bench.store import batches
from bench.tools import profiled
from shared import eventstore, projections, relay
from shared.events import CommandContext
from shared.eventstore import Append, EventStore
from shared.kafka import producer_config
from shared.relay import Relay

STORE_MIGRATIONS = (*eventstore.MIGRATIONS, *relay.MIGRATIONS)
ROOT = Path(__file__).resolve().parent.parent


async def stores(box: Sandbox, pool_size: int = 8) -> dict[str, EventStore]:
    return {s: EventStore(await box.pool(s, STORE_MIGRATIONS, max_size=pool_size), REGISTRY) for s in SERVICES}


async def bulk_append(by_service: dict[str, EventStore], campaign: Sequence[Candidate]) -> None:
    """The campaign appended by batches of 200 streams (append_many), the four services at once."""
    for batch in batches(campaign, 200):
        await asyncio.gather(
            *(
                by_service[s].append_many(
                    [Append(c.stream_id, c.expected_version, c.events, c.context) for c in batch if c.service == s]
                )
                for s in SERVICES
            )
        )


def producer(config: Config) -> KafkaProducer:
    return KafkaProducer(**producer_config(config.kafka))


async def relay_rate(
    config: Config, campaign: Sequence[Candidate], rec: Recorder, box: Sandbox
) -> dict[str, EventStore]:
    """The campaign bulk-appended (not timed), then four relays publish the backlog at once; returns
    the stores (for the raw producer's copy of the same messages)."""
    by_service = await stores(box)
    topics = await box.topics()
    await bulk_append(by_service, campaign)
    label = "relay publish (events)"
    async with profiled(config, rec, "relay"):
        published, elapsed = await publish_all(config, rec, by_service, topics, label=label, batch=1000)
    rate = published / elapsed
    rec.put("relay", events=published, relays=len(SERVICES), publish_events_per_s=round(rate, 1))
    rec.say(f"relay: {rate:,.0f} events/s published (4 relays, acks=all, idempotent)")
    return by_service


async def publish_all(
    config: Config, rec: Recorder, by_service: dict[str, EventStore], topics: Sequence[str], *, label: str, batch: int
) -> tuple[int, float]:
    """The four services' relays (their own producers, `batch` events a publish) publish their
    stores' backlogs at once; returns how many events, in how many seconds."""
    producers = [producer(config) for _ in SERVICES]
    relays = [
        Relay(by_service[s], p, t, name=f"{s}-relay", batch_size=batch)
        for s, p, t in zip(SERVICES, producers, topics, strict=True)
    ]
    published = [0]

    async def drain(one: Relay) -> None:
        while count := await one.publish_batch():
            published[0] += count

    started = time.perf_counter()
    async with rec.ticking(label, lambda: published[0]):
        await asyncio.gather(*(drain(r) for r in relays))
    elapsed = time.perf_counter() - started
    for p in producers:
        await asyncio.to_thread(p.close, 10)
    return published[0], elapsed


async def _applied(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM bench_lag")
    return count


async def spawn(role: str, spec: Json) -> asyncio.subprocess.Process:
    """A bench.child process, once it says it is ready."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.child", role, json.dumps(spec), stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 120)
    if line.strip() != b"ready":
        raise RuntimeError(f"bench.child {role} did not start: {line!r}")
    return child


async def finish(child: asyncio.subprocess.Process) -> Json:
    """Stops a child; returns what it printed last (its peak RSS)."""
    if child.returncode is None:
        child.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(child.communicate(), 120)
    lines = out.decode().strip().splitlines()
    last: Json = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return last


async def lag(config: Config, campaign: Sequence[Candidate], rec: Recorder, box: Sandbox) -> None:
    """The relays and the projection run in child processes, as deployed; this process appends."""
    by_service = await stores(box)
    topics = await box.topics()
    lag_pool = await box.pool("lag", (*projections.MIGRATIONS, *LagView.migrations), max_size=10)
    spec: Json = {"dsn": config.dsn, "kafka": dataclasses.asdict(config.kafka), "prefix": box.prefix, "topics": topics}
    if config.profile:
        spec["profile"] = str(rec.results_dir / f"{rec.run_id}-profile-ROLE-child.txt")
        rec.profiles["relay child, projection child"] = spec["profile"]
    children = [await spawn("relay", spec), await spawn("projection", spec)]
    try:
        warm = CommandContext(academy="bench", actor="bench", occurred_at=datetime.now(UTC))
        for s in SERVICES:  # the consumer group joins and every relay works before the clock starts
            await by_service[s].append(f"warmup-{s}", 0, [campaign[0].commands[0].events[0]], warm)
        for _ in range(1200):
            if await _applied(lag_pool) >= len(SERVICES):
                break
            await asyncio.sleep(0.1)
        await _load(config, campaign, rec, by_service, lag_pool)
        await _lag_figures(rec, lag_pool)
    finally:
        for child in children:
            peak = await finish(child)
            rec.put("memory", **{f"{peak.get('role', 'child')}_child_peak_rss_kb": peak.get("peak_rss_kb")})


async def _load(
    config: Config, campaign: Sequence[Candidate], rec: Recorder, by_service: dict[str, EventStore], pool: asyncpg.Pool
) -> None:
    """Command i is appended at i / lag_rate; a stream's next command waits for its previous one."""
    plan = list(interleaved(campaign))
    total = event_count(campaign) + len(SERVICES)
    latencies: list[float] = []
    previous: dict[str, asyncio.Task[None]] = {}
    appended = [0]

    async def append(command: Command, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await before
        started = time.perf_counter()
        store = by_service[command.service]
        await store.append(command.stream_id, command.expected_version, command.events, command.context)
        latencies.append(time.perf_counter() - started)
        appended[0] += len(command.events)

    rec.say(f"lag: {len(plan)} commands at {config.lag_rate:.0f}/s, relays and projection live")
    applied = [0]

    async def watch() -> None:
        while True:
            applied[0] = await _applied(pool)
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    tasks = []
    async with (
        rec.ticking("lag load appended (events)", lambda: appended[0], total),
        rec.ticking("projection applied (events)", lambda: applied[0], total),
    ):
        for index, command in enumerate(plan):
            if (delay := started + index / config.lag_rate - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(append(command, previous.get(command.stream_id))))
            previous[command.stream_id] = tasks[-1]
        await asyncio.gather(*tasks)
        offered = time.perf_counter() - started
        for _ in range(600):  # two minutes at most to catch up
            if applied[0] >= total:
                break
            await asyncio.sleep(0.2)
    watcher.cancel()
    rec.put(
        "end_to_end",
        commands=len(plan),
        offered_commands_per_s=config.lag_rate,
        achieved_commands_per_s=round(len(plan) / offered, 1),
        append_latency=latency_figures(latencies),
        caught_up_seconds=round(time.perf_counter() - started, 2),
    )


async def _lag_figures(rec: Recorder, pool: asyncpg.Pool) -> None:
    rows = await pool.fetch(
        "SELECT EXTRACT(EPOCH FROM applied_at) AS applied, EXTRACT(EPOCH FROM applied_at - recorded_at) AS lag"
        " FROM bench_lag WHERE stream_id NOT LIKE 'warmup-%' ORDER BY applied_at"
    )
    lags = [float(row["lag"]) for row in rows]
    wall, perf = time.time(), time.perf_counter()
    seconds: dict[int, list[float]] = {}
    for row in rows:
        seconds.setdefault(int(float(row["applied"])), []).append(float(row["lag"]))
    for second, values in sorted(seconds.items()):
        at = second + 0.5 - wall + perf
        rec.point("end-to-end lag p99 (s)", at, percentile(values, 99))
    span = float(rows[-1]["applied"]) - float(rows[0]["applied"]) if len(rows) > 1 else 0.0
    figures = {
        "events": len(lags),
        "projection_applied_events_per_s": round(len(rows) / span, 1) if span > 0 else None,
        "lag_p50_s": round(percentile(lags, 50), 3),
        "lag_p99_s": round(percentile(lags, 99), 3),
        "lag_max_s": round(max(lags, default=0.0), 3),
    }
    rec.put("end_to_end", **figures)
    rec.say(f"lag: p50 {figures['lag_p50_s']} s, p99 {figures['lag_p99_s']} s, max {figures['lag_max_s']} s")
