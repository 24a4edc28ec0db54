"""`python -m bench [--scale small|national] [--candidates N] [--academies N] [--only PHASES] [--profile]`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import resource
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench import deliberations, grpc_load, kafkaraw, national, peer_es, pipeline, rawpg, replay, report, store
from bench.campaign import Candidate, event_count, generate
from bench.common import PHASES, Config, Json, Recorder, sandbox
from bench.profiles import ACADEMIES
from shared.eventstore import MIGRATIONS
from shared.kafka import ADMIN, kafka_access
from shared.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
# Per scale: the campaign the phases hold in memory (candidates, académies), and the national log
# written chunk by chunk (bench.national; 0: none). A national campaign held whole would take 15 GB.
SCALES = {"small": (300, 3), "national": (3_000, 30)}
LOG_CANDIDATES = {"small": 0, "national": 180_000}


def parse(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--candidates", type=int, help="candidates of the campaign (default: by scale)")
    parser.add_argument("--academies", type=int, help="académies of the campaign (default: by scale)")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profiles of the slow phases")
    parser.add_argument("--fixed-rate", type=float, help="gRPC commands/s of the fixed-load phase (default 50)")
    parser.add_argument("--log-candidates", type=int, help="candidates of the national log (default: by scale)")
    parser.add_argument(
        "--replay-candidates", type=int, default=Config.replay_candidates, help="candidates of the replay's campaign"
    )
    parser.add_argument("--replay-processes", type=int, default=2, help="processes of parallel rebuilds (default 2)")
    parser.add_argument("--only", help=f"comma-separated phases to run, of {','.join(PHASES)} (default: all)")
    args = parser.parse_args(argv)
    only = tuple(p.strip() for p in args.only.split(",")) if args.only else PHASES
    if unknown := sorted(set(only) - set(PHASES)):
        parser.error(f"--only: no phase named {', '.join(unknown)} (phases: {', '.join(PHASES)})")
    candidates, academies = SCALES[args.scale]
    settings = Settings()
    config = Config(
        dsn=settings.resolved_database_url(),
        kafka=kafka_access(settings, ADMIN),
        scale=args.scale,
        candidates=args.candidates or candidates,
        academies=args.academies or academies,
        profile=args.profile,
        log_candidates=LOG_CANDIDATES[args.scale] if args.log_candidates is None else args.log_candidates,
        replay_candidates=args.replay_candidates,
        replay_processes=args.replay_processes,
        phases=only,
    )
    if config.replay_candidates < 1 or config.replay_processes < 1 or config.log_candidates < 0:
        parser.error("--replay-candidates and --replay-processes must be 1 or more, --log-candidates 0 or more")
    if args.fixed_rate is not None:
        if args.fixed_rate <= 0:
            parser.error("--fixed-rate must be above 0")
        config = dataclasses.replace(config, fixed_rate=args.fixed_rate)
    if args.scale == "national":  # longer phases, more load: it may take long, it must work
        config = dataclasses.replace(config, fixed_seconds=30.0, saturation_seconds=30.0)
    return config


async def phase(rec: Recorder, name: str, body: Callable[[], Awaitable[None]]) -> None:
    """Runs one measurement; a failure is recorded and the run goes on."""
    rec.say(f"== {name}")
    try:
        await body()
    except Exception as error:
        traceback.print_exc()
        rec.put("errors", **{name: repr(error)})
    rec.peak_memory(name)


async def run(config: Config, rec: Recorder) -> Json:
    started = time.perf_counter()
    campaign: list[Candidate] = generate(config.candidates, config.academies, config.seed)
    # The campaign stays in this process for the whole run, which no service process carries:
    # frozen, the garbage collector no longer walks it each time the measured code allocates.
    gc.collect()
    gc.freeze()
    total = event_count(campaign)
    rec.put(
        "campaign",
        candidates=len(campaign),
        academies=config.academies,
        events=total,
        events_per_candidate=round(total / max(1, len(campaign)), 1),
        commands=sum(len(c.commands) for c in campaign),
        generated_seconds=round(time.perf_counter() - started, 2),
    )
    rec.say(f"campaign: {len(campaign)} candidates, {total} events ({total / max(1, len(campaign)):.1f} per candidate)")
    academies = list(ACADEMIES[: config.academies])

    async def commands() -> None:
        async with sandbox(config) as box:
            await grpc_load.measure(config, box, rec, academies)

    async def appends() -> None:
        async with sandbox(config) as box:
            rows = await store.measure(config, campaign, rec, await box.pool("store", MIGRATIONS, config.tasks))
            await store.measure_many(config, campaign, rec, await box.pool("many", MIGRATIONS, config.tasks))
            await rawpg.copy(rows, rec, await box.pool("copy", MIGRATIONS, 2))
            await rawpg.insert(config, rows, rec, await box.pool("insert", MIGRATIONS, config.tasks))
            await box.pool("es", (), 1)  # the schema eventsourcing creates its table in
            await peer_es.measure(config, campaign, rec, box.schema_name("es"))

    async def relay() -> None:
        async with sandbox(config) as box:
            stores = await pipeline.relay_rate(config, campaign, rec, box)
            await kafkaraw.measure(config, rec, box, stores)

    async def lag() -> None:
        async with sandbox(config) as box:
            await pipeline.lag(config, campaign, rec, box)

    phases: dict[str, tuple[str, Callable[[], Awaitable[None]]]] = {
        "grpc": ("gRPC commands (registration, accounts)", commands),
        "store": ("event store appends and reads; raw asyncpg; eventsourcing", appends),
        "relay": ("relay publish rate; raw kafka-python", relay),
        "lag": ("end-to-end lag", lag),
        "replay": (
            "national log; replay: rebuilds from the first offset"
            if config.log_candidates
            else "replay: rebuilds from the first offset",
            lambda: replays(config, rec),
        ),
        "deliberation": ("deliberation", lambda: deliberations.measure(config, campaign, rec)),
    }
    assert set(phases) == set(PHASES)
    for key in PHASES:
        if key in config.phases:
            await phase(rec, *phases[key])
    rec.put(
        "memory",
        bench_peak_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        note="bench: this process (gRPC servers and clients, appends, relays of the publish test, replay,"
        " deliberation); relay_child and projection_child: the lag measurement's processes (VmHWM)",
    )
    rec.put("run", seconds=round(time.perf_counter() - started, 1))
    return await server_versions(config)


async def replays(config: Config, rec: Recorder) -> None:
    """The replay of a campaign of its own, or of the national log when there is one."""
    async with sandbox(config) as box:
        topics = await national.measure(config, rec, box) if config.log_candidates else None
        await replay.measure(config, rec, box, topics)


async def server_versions(config: Config) -> Json:
    connection = await asyncpg.connect(config.dsn)
    try:
        postgres = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return {"postgresql": postgres, "kafka (configured)": Settings().kafka_version}


def main(argv: Sequence[str] | None = None) -> int:
    config = parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)
    rec = Recorder(run_id=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"), results_dir=RESULTS)
    rec.say(f"bench {config.scale}: {config.candidates} candidates, {config.academies} académies")
    extra = asyncio.run(run(config, rec))
    print(report.summary(rec))
    json_path, png_path = report.write(rec, dataclasses.asdict(config) | {"dsn": "(local)"}, extra)
    print(f"\nresults: {json_path}\nplot:    {png_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
