"""The national log (`--scale national`): the whole campaign's events, 180,000 candidates by
default, in the four services' stores, and where the cost grows with it.

The campaign would take about 15 GB held in memory (80 KB a candidate), so it is generated in
chunks of CHUNK candidates, each appended by append_many (batches of 200 streams, the four
services at once) and dropped. The append rate is recorded chunk by chunk as the log grows.
Then, on the full stores:
- a sample of new candidates, appended one command per transaction by 32 writers, as another
  sample was on the empty stores before: the append rate with 5 million events stored, beside
  the same measurement's rate on empty stores;
- the whole log published by the four relays (batches of 1,000 events: at the 12 a live relay
  publishes, 5 million events would take over 20 minutes here); the replay phase rebuilds from
  these topics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence

from bench.campaign import Candidate, event_count, generate
from bench.common import SERVICES, Config, Json, Recorder, Sandbox, latency_figures
from bench.pipeline import bulk_append, producer, stores
from bench.store import shares
from shared.eventstore import EventStore
from shared.relay import Relay

CHUNK = 2_000
SAMPLE = 2_000  # candidates appended one command per transaction onto the full stores


def chunks(candidates: int, academies: int, seed: int, size: int = CHUNK) -> Iterator[list[Candidate]]:
    """The campaign, `size` candidates at a time, each chunk from a seed of its own (reproducible)."""
    for index, start in enumerate(range(0, candidates, size)):
        yield generate(min(size, candidates - start), academies, seed * 1_000_003 + index)


async def measure(config: Config, rec: Recorder, box: Sandbox) -> list[str]:
    """Writes the national log, measures appends onto it, publishes it; returns the topics."""
    by_service = await stores(box)
    await _sample_appends(config, rec, by_service, "empty", config.seed * 1_000_003 - 1)
    await _fill(config, rec, by_service)
    await _sample_appends(config, rec, by_service, "full", config.seed * 1_000_003 - 2)
    return await _publish(config, rec, box, by_service)


async def _fill(config: Config, rec: Recorder, by_service: dict[str, EventStore]) -> None:
    written, generating, appending = [0], 0.0, 0.0
    rec.say(f"national log: {config.log_candidates:,} candidates, by chunks of {CHUNK:,}")
    async with rec.ticking("national log appended (events)", lambda: written[0]):
        for chunk in _timed(chunks(config.log_candidates, config.academies, config.seed)):
            generated_in, candidates = chunk
            generating += generated_in
            started = time.perf_counter()
            await bulk_append(by_service, candidates)
            elapsed = time.perf_counter() - started
            appending += elapsed
            events = event_count(candidates)
            written[0] += events
            rec.point("national append_many (events per s, chunk by chunk)", time.perf_counter(), events / elapsed)
    rec.put(
        "national_log",
        candidates=config.log_candidates,
        events=written[0],
        generated_seconds=round(generating, 1),
        append_many_seconds=round(appending, 1),
        append_many_events_per_s=round(written[0] / appending, 1),
    )
    rec.say(f"national log: {written[0]:,} events, append_many {written[0] / appending:,.0f} events/s")


def _timed(source: Iterator[list[Candidate]]) -> Iterator[tuple[float, list[Candidate]]]:
    while True:
        started = time.perf_counter()
        chunk = next(source, None)
        if chunk is None:
            return
        yield time.perf_counter() - started, chunk


async def _sample_appends(
    config: Config, rec: Recorder, by_service: dict[str, EventStore], stores_are: str, seed: int
) -> None:
    """SAMPLE new candidates' commands, one per transaction, by `config.tasks` writers."""
    sample = generate(SAMPLE, config.academies, seed)
    total, latencies, counter = event_count(sample), [], [0]

    async def writer(candidates: Sequence[Candidate]) -> None:
        for candidate in candidates:
            for command in candidate.commands:
                started = time.perf_counter()
                store = by_service[command.service]
                await store.append(command.stream_id, command.expected_version, command.events, command.context)
                latencies.append(time.perf_counter() - started)
                counter[0] += len(command.events)

    started = time.perf_counter()
    async with rec.ticking(f"append, {stores_are} stores (events)", lambda: counter[0], total):
        await asyncio.gather(*(writer(share) for share in shares(sample, config.tasks)))
    elapsed = time.perf_counter() - started
    figures: Json = {
        "candidates": SAMPLE,
        "events": total,
        "events_per_s": round(total / elapsed, 1),
        "latency": latency_figures(latencies),
        "writers": config.tasks,
    }
    rec.put("national_log", **{f"append_{stores_are}_stores": figures})
    rec.say(f"append, {stores_are} stores: {total / elapsed:,.0f} events/s ({config.tasks} writers)")


async def _publish(config: Config, rec: Recorder, box: Sandbox, by_service: dict[str, EventStore]) -> list[str]:
    topics = await box.topics()
    producers = [producer(config) for _ in SERVICES]
    relays = [
        Relay(by_service[s], p, t, name=f"{s}-national", batch_size=1000)
        for s, p, t in zip(SERVICES, producers, topics, strict=True)
    ]
    published = [0]

    async def drain(relay: Relay) -> None:
        while count := await relay.publish_batch():
            published[0] += count

    started = time.perf_counter()
    async with rec.ticking("national log published (events)", lambda: published[0]):
        await asyncio.gather(*(drain(relay) for relay in relays))
    elapsed = time.perf_counter() - started
    for p in producers:
        await asyncio.to_thread(p.close, 10)
    figures: Json = {"events": published[0], "relay_batch_events": 1000, "events_per_s": round(published[0] / elapsed)}
    rec.put("national_log", publish=figures)
    rec.say(f"national log published: {published[0]:,} events, {published[0] / elapsed:,.0f} events/s")
    return topics
