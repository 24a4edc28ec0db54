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

import time
from collections.abc import Iterator

from bench.campaign import Candidate, event_count, generate
from bench.common import Config, Json, Recorder, Sandbox, latency_figures
from bench.pipeline import bulk_append, publish_all, stores
from bench.store import append_commands
from shared.eventstore import EventStore

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
    written, generating, appending = 0, 0.0, 0.0
    rec.say(f"national log: {config.log_candidates:,} candidates, by chunks of {CHUNK:,}")
    # Progress by chunk, not by the second: generating a chunk holds the event loop for seconds.
    campaign = _timed(chunks(config.log_candidates, config.academies, config.seed))
    for index, (generated_in, candidates) in enumerate(campaign):
        generating += generated_in
        started = time.perf_counter()
        await bulk_append(by_service, candidates)
        elapsed = time.perf_counter() - started
        appending += elapsed
        events = event_count(candidates)
        written += events
        rec.point("national append_many (events per s, chunk by chunk)", time.perf_counter(), events / elapsed)
        if index % 10 == 9:
            rec.say(f"  national log: {written:,} events ({events / elapsed:,.0f}/s on the last chunk)")
    rec.put(
        "national_log",
        candidates=config.log_candidates,
        events=written,
        generated_seconds=round(generating, 1),
        append_many_seconds=round(appending, 1),
        append_many_events_per_s=round(written / appending, 1),
    )
    rec.say(f"national log: {written:,} events, append_many {written / appending:,.0f} events/s")


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
    total = event_count(sample)
    label = f"append, {stores_are} stores (events)"
    elapsed, latencies, writers = await append_commands(
        rec, label, sample, config.tasks, lambda c: by_service[c.service]
    )
    figures: Json = {
        "candidates": SAMPLE,
        "events": total,
        "events_per_s": round(total / elapsed, 1),
        "latency": latency_figures(latencies),
        "writers": writers,
    }
    rec.put("national_log", **{f"append_{stores_are}_stores": figures})
    rec.say(f"append, {stores_are} stores: {total / elapsed:,.0f} events/s ({writers} writers)")


async def _publish(config: Config, rec: Recorder, box: Sandbox, by_service: dict[str, EventStore]) -> list[str]:
    topics = await box.topics()
    label = "national log published (events)"
    published, elapsed = await publish_all(config, rec, by_service, topics, label=label, batch=1000)
    figures: Json = {"events": published, "relay_batch_events": 1000, "events_per_s": round(published / elapsed)}
    rec.put("national_log", publish=figures)
    rec.say(f"national log published: {published:,} events, {published / elapsed:,.0f} events/s")
    return topics
