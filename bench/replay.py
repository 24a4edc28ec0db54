"""Measurement 4: the full replay rate, rebuilding read models from the first offset of the topics.

The topics of the national log when there is one (bench.national); otherwise a campaign of its
own (`--replay-candidates`, 3,000 by default: about 85,000 events; the lag phase's
8,500 events are replayed in under 0.2 s, which would measure the startup). It is appended in bulk,
then published by the four services' relays in batches of `LIVE_BATCH` events. That is about what a
relay publishes at a time at 500 commands/s, and it leaves one record in most Kafka record batches,
as a campaign written live over months does. Then, from the same topics:
- the raw read: the records read by the rebuild's reader (aiokafka), nothing decoded;
- the bench's projection (a row per event, bench.lagview) and the dossier read model (each
  candidate's view folded from the four topics), each rebuilt by one process and by `processes`
  (shared.rebuild.Workers), with the startup (emptying, offsets, starting processes) included.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from bench.campaign import event_count, generate
from bench.common import Config, Json, Recorder, Sandbox, ratio
from bench.lagview import LagView
from bench.pipeline import bulk_append, publish_all, stores
from bench.profiles import REGISTRY
from bench.tools import profiled
from services.dossier.inbound import INBOUND
from services.dossier.projections import DossierReadModel
from shared import projections
from shared.events import EventRegistry
from shared.projections import Projection, ProjectionRunner
from shared.rebuild import Workers, rebuild
from shared.topic_reader import TopicReader

LIVE_BATCH = 12
READ_MODELS: tuple[tuple[str, Callable[[], Projection], EventRegistry], ...] = (
    ("replay", LagView, REGISTRY),
    ("replay_dossier", DossierReadModel, INBOUND),
)


async def measure(config: Config, rec: Recorder, box: Sandbox, topics: list[str] | None = None) -> None:
    """Rebuilds from `topics` (the national log's), or from a campaign of its own published first."""
    if topics is None:
        topics = await _publish(config, rec, box)
    raw = await _raw_read(config, topics)
    rec.put("replay_raw_read", **raw)
    rec.say(f"raw read of the replay topics: {raw['events_per_s']:,.0f} records/s")
    for section, make, registry in READ_MODELS:
        runs: list[Json] = []
        for processes in sorted({1, config.replay_processes}):
            figures = await _rebuild(
                config,
                rec,
                box,
                f"{section}-{processes}",
                projection=make(),
                registry=registry,
                processes=processes,
                topics=topics,
            )
            figures["vs_raw_read"] = ratio(figures["events_per_s"], raw["events_per_s"])
            runs.append(figures)
            rec.put(section, **{f"processes_{processes}": figures})
            rec.say(
                f"{section}, {processes} process(es): {figures['events_read']} events in {figures['seconds']} s"
                f" (startup {figures['startup_seconds']} s), {figures['events_per_s']:,.0f} events/s"
            )
        best = max(runs, key=lambda f: float(f["events_per_s"]))
        rec.put(section, events_per_s=best["events_per_s"], processes=best["processes"])


async def _publish(config: Config, rec: Recorder, box: Sandbox) -> list[str]:
    """Generates and appends the replay campaign (not timed), then publishes it through the relays
    in live-sized batches (timed, for the record); returns the topics."""
    started = time.perf_counter()
    campaign = generate(config.replay_candidates, config.academies, config.seed + 1)
    total = event_count(campaign)
    by_service = await stores(box)
    await bulk_append(by_service, campaign)
    del campaign
    gc.collect()
    rec.say(f"replay campaign: {config.replay_candidates} candidates, {total} events appended")
    topics = await box.topics()
    label = "replay campaign published (events)"
    published, seconds = await publish_all(config, rec, by_service, topics, label=label, batch=LIVE_BATCH)
    rec.put(
        "replay_campaign",
        candidates=config.replay_candidates,
        events=published,
        relay_batch_events=LIVE_BATCH,
        publish_events_per_s=round(published / seconds, 1),
        prepared_seconds=round(time.perf_counter() - started, 1),
    )
    return topics


async def _raw_read(config: Config, topics: list[str]) -> Json:
    started, read = time.perf_counter(), 0
    async with TopicReader(config.kafka, topics) as reader:
        while records := await reader.next_batch(5000):
            read += len(records)
    seconds = time.perf_counter() - started
    return {"records": read, "seconds": round(seconds, 3), "events_per_s": round(read / seconds, 1)}


async def _rebuild(
    config: Config,
    rec: Recorder,
    box: Sandbox,
    name: str,
    *,
    projection: Projection,
    registry: EventRegistry,
    processes: int,
    topics: list[str],
) -> Json:
    pool = await box.pool(name.replace("-", "_"), (*projections.MIGRATIONS, *projection.migrations), max_size=4)
    runner = ProjectionRunner(pool, registry, projection)
    workers = Workers(config.dsn, processes, from_records=0)
    started = time.perf_counter()
    async with profiled(config, rec, name):
        report = await rebuild(runner, config.kafka, topics, workers=workers)
    seconds = time.perf_counter() - started
    label = f"rebuild {name} (events per s, its average over its span)"
    rate = report.events_read / seconds
    rec.point(label, started, rate)
    rec.point(label, started + seconds, rate)
    return {
        "processes": report.processes,
        "process_peak_rss_kb": list(report.peak_rss_kb),
        "events_read": report.events_read,
        "events_applied": report.events_applied,
        "seconds": round(seconds, 3),
        "startup_seconds": report.startup_seconds,
        "events_per_s": round(rate, 1),
    }
