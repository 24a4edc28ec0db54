"""A child process of the end-to-end lag measurement, as a deployment runs them: `relay` (the four
services' relays) or `projection` (the FastStream subscriber of the bench's lag projection).

`python -m bench.child ROLE JSON`, JSON holding dsn, kafka, prefix and the topics. It prints `ready`
once working, runs until SIGTERM or SIGINT, then prints its peak RSS as a JSON line and exits. With
`profile` in JSON (a path in which ROLE is replaced), it writes a pyinstrument profile there."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from kafka import KafkaProducer
from pyinstrument import Profiler

from bench.common import SERVICES
from bench.lagview import LagView
from bench.profiles import REGISTRY
from shared.consumers import subscribe_projection
from shared.db import create_pool
from shared.eventstore import EventStore
from shared.infra.process import peak_rss_kb
from shared.kafka import KafkaAccess, producer_config
from shared.projections import ProjectionRunner
from shared.relay import Relay


async def relays(spec: dict[str, Any], stop: asyncio.Event) -> None:
    pools = [await create_pool(spec["dsn"], f"{spec['prefix']}_{s}", max_size=3) for s in SERVICES]
    producers = [KafkaProducer(**producer_config(KafkaAccess(**spec["kafka"]))) for _ in SERVICES]
    running = [
        asyncio.create_task(Relay(EventStore(pool, REGISTRY), producer, topic, name=f"{service}-relay").run(stop))
        for service, pool, producer, topic in zip(SERVICES, pools, producers, spec["topics"], strict=True)
    ]
    print("ready", flush=True)
    await asyncio.gather(*running)
    for producer in producers:
        await asyncio.to_thread(producer.close, 10)
    for pool in pools:
        await pool.close()


async def projection(spec: dict[str, Any], stop: asyncio.Event) -> None:
    pool = await create_pool(spec["dsn"], f"{spec['prefix']}_lag", max_size=10)
    access = KafkaAccess(**spec["kafka"])
    broker = KafkaBroker(**access.faststream(), logger=logging.getLogger("bench.faststream"), graceful_timeout=10)
    subscribe_projection(broker, ProjectionRunner(pool, REGISTRY, LagView()), spec["topics"], f"{spec['prefix']}-")
    await broker.start()
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await broker.stop()
        await pool.close()


async def main(role: str, spec: dict[str, Any]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await (relays if role == "relay" else projection)(spec, stop)


def run(argv: Sequence[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.ERROR)
    role, spec = argv[0], json.loads(argv[1])
    profiler = Profiler(interval=0.001, async_mode="disabled") if spec.get("profile") else None
    if profiler is not None:
        profiler.start()
    asyncio.run(main(role, spec))
    if profiler is not None:
        profiler.stop()
        Path(spec["profile"].replace("ROLE", role)).write_text(profiler.output_text(unicode=True))
    print(json.dumps({"role": role, "peak_rss_kb": peak_rss_kb()}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
