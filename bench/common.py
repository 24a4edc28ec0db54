"""What every measurement shares: the run's configuration, the recorder of figures and time series
(with the progress it prints), percentiles, and an isolated corner of the servers (fresh schemas and
topics, dropped or deleted at the end)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from kafka.errors import KafkaError

from shared.db import Migration, create_pool, drop_schema, migrate
from shared.infra.process import InfraError
from shared.infra.topics import admin_client, ensure_topics
from shared.kafka import KafkaAccess

SERVICES = ("accounts", "registration", "documents", "results")
PHASES = ("grpc", "store", "relay", "lag", "replay", "deliberation")  # in the order they run


@dataclass(frozen=True)
class Config:
    dsn: str
    kafka: KafkaAccess  # the admin's: the bench makes topics and groups of its own prefix
    scale: str
    candidates: int
    academies: int
    tasks: int = 32  # concurrent writers of the append measurements
    # gRPC commands/s of the fixed-load phase: below the registration service's saturation (about
    # 110/s here, measured by the saturation phase), so that its latency is the service's own and
    # not a queue's.
    fixed_rate: float = 50.0
    fixed_seconds: float = 10.0
    saturation_clients: int = 32
    saturation_seconds: float = 10.0
    lag_rate: float = 500.0  # commands/s appended while the end-to-end lag is measured
    replay_candidates: int = 3_000  # the replay's own campaign (bench.replay)
    log_candidates: int = 0  # the national log (bench.national), replayed instead when there is one
    replay_processes: int = 2
    phases: tuple[str, ...] = PHASES
    deliberations: int = 180_000
    partitions: int = 12
    profile: bool = False
    seed: int = 2026


Json = dict[str, Any]


@dataclass
class Recorder:
    """Figures (section -> name -> value), time series for the plot, and the progress it prints."""

    run_id: str
    results_dir: Path
    started: float = field(default_factory=time.perf_counter)
    profiles: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Json] = field(default_factory=dict)
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)

    def say(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:6.1f} s] {message}", flush=True)

    def put(self, section: str, **values: Any) -> None:
        self.figures.setdefault(section, {}).update(values)

    def point(self, name: str, at: float, value: float) -> None:
        """A time-series point; `at` is a perf_counter reading."""
        self.series.setdefault(name, []).append((at - self.started, value))

    def peak_memory(self, after: str) -> None:
        """The bench process's peak RSS so far (kB on Linux), noted after each measurement."""
        self.memory[after] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    @contextlib.asynccontextmanager
    async def ticking(self, label: str, done: Callable[[], int], total: int | None = None) -> AsyncIterator[None]:
        """Prints `label: done (rate/s)` every second while the body runs."""

        async def tick() -> None:
            last, last_at = done(), time.perf_counter()
            while True:
                await asyncio.sleep(1.0)
                now, count = time.perf_counter(), done()
                rate = (count - last) / (now - last_at)
                self.point(f"{label} (per s)", now, rate)
                of = f"/{total}" if total is not None else ""
                self.say(f"  {label}: {count}{of} ({rate:,.0f}/s)")
                last, last_at = count, now

        task = asyncio.create_task(tick())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_figures(seconds: Sequence[float]) -> Json:
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds, default=0.0) * 1000, 2),
    }


def ratio(ours: float, theirs: float) -> float | None:
    return round(ours / theirs, 3) if theirs > 0 else None


class Sandbox:
    """Fresh schemas and topics named bench<hex>...; schemas dropped and topics deleted on close."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.prefix = f"bench{uuid.uuid4().hex[:10]}"
        self._schemas: list[str] = []
        self._topics: list[str] = []
        self._pools: list[asyncpg.Pool] = []

    def schema_name(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    async def pool(self, name: str, migrations: Sequence[Migration], max_size: int = 10) -> asyncpg.Pool:
        schema = self.schema_name(name)
        self._schemas.append(schema)
        pool = await create_pool(self.config.dsn, schema, min_size=1, max_size=max_size)
        self._pools.append(pool)
        await migrate(pool, migrations)
        return pool

    def adopt(self, schema: str) -> None:
        """A schema something else creates (open_store): dropped with the others."""
        self._schemas.append(schema)

    def topic(self, service: str) -> str:
        return f"{self.prefix}.{service}.events"

    async def topics(self, services: Sequence[str] = SERVICES) -> list[str]:
        names = [self.topic(service) for service in services]
        self._topics.extend(names)
        await asyncio.to_thread(ensure_topics, self.config.kafka, names, self.config.partitions)
        return names

    async def close(self) -> None:
        for pool in self._pools:
            await pool.close()
        for schema in self._schemas:
            await drop_schema(self.config.dsn, schema)
        if self._topics:
            await asyncio.to_thread(self._delete_topics)

    def _delete_topics(self) -> None:
        try:
            with admin_client(self.config.kafka) as admin:
                admin.delete_topics(self._topics, timeout_ms=30_000)
        except (KafkaError, InfraError) as error:  # best effort: the topics are uniquely named
            logging.getLogger(__name__).warning("could not delete bench topics: %r", error)


@contextlib.asynccontextmanager
async def sandbox(config: Config) -> AsyncIterator[Sandbox]:
    box = Sandbox(config)
    try:
        yield box
    finally:
        await box.close()


def python_version() -> str:
    return sys.version.split()[0]
