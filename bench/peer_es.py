"""Peer a: the `eventsourcing` library (PyPI) with its PostgreSQL persistence module, on the same
server, appending the same events (same payloads) in the same streams with the same number of
concurrent writers (threads, since the library is synchronous), one save per command; then reading
every stream back and the whole notification log, decoding each event. (The `type: ignore` comments
are for `make test`, where the bench packages are not installed and mypy sees these bases as Any.)"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.campaign import Candidate, event_count
from bench.common import Config, Recorder, latency_figures
from bench.profiles import Command
from bench.store import shares, timed_workers
from shared.infra.pg_roles import read_password

_NAMESPACE = uuid.UUID("6b1a0e4e-3c55-4a52-9a0c-5b0f2f7d0b1e")


class Stream(Aggregate):  # type: ignore[misc, unused-ignore]
    """One Archipel stream: every command's events become this aggregate's events, payload as is."""

    @staticmethod
    def create_id(name: str, event_type: str, payload: dict[str, Any]) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, name)

    @event("Started")  # type: ignore[untyped-decorator, unused-ignore]
    def __init__(self, name: str, event_type: str, payload: dict[str, Any]) -> None:
        self.name = name
        self.last = event_type

    @event("Recorded")  # type: ignore[untyped-decorator, unused-ignore]
    def record(self, event_type: str, payload: dict[str, Any]) -> None:
        self.last = event_type


class Campaign(Application[uuid.UUID]):  # type: ignore[misc, unused-ignore]
    pass


def environment(config: Config, schema: str) -> dict[str, str]:
    url = urlparse(config.dsn)
    passfile = parse_qs(url.query).get("passfile", [""])[0]  # the local server's URLs carry no password
    password = url.password or (read_password(Path(passfile)) if passfile else "")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": password,
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(config.tasks),
        "CREATE_TABLE": "y",
    }


def _payloads(command: Command) -> list[tuple[str, dict[str, Any]]]:
    return [(e.event_type, e.model_dump(mode="json")) for e in command.events]


def _write(app: Campaign, candidates: Sequence[Candidate], latencies: list[float], counter: list[int]) -> None:
    lock = threading.Lock()
    for candidate in candidates:
        aggregates: dict[str, Stream] = {}
        for command in candidate.commands:
            payloads = _payloads(command)  # the payloads as JSON, outside the timing (Archipel's too are built)
            started = time.perf_counter()
            for event_type, payload in payloads:
                aggregate = aggregates.get(command.stream_id)
                if aggregate is None:
                    aggregates[command.stream_id] = Stream(command.stream_id, event_type, payload)
                else:
                    aggregate.record(event_type, payload)
            app.save(aggregates[command.stream_id])
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                counter[0] += len(command.events)


def _read_streams(app: Campaign, names: Sequence[str]) -> int:
    return sum(len(list(app.events.get(uuid.uuid5(_NAMESPACE, name)))) for name in names)


def _read_log(app: Campaign) -> int:
    read, start = 0, 1
    while notifications := app.recorder.select_notifications(start, 1000):
        events = [app.mapper.to_domain_event(n) for n in notifications]
        read += len(events)
        start = notifications[-1].id + 1
    return read


async def measure(config: Config, campaign: Sequence[Candidate], rec: Recorder, schema: str) -> dict[str, float]:
    """Appends and reads the campaign through eventsourcing; returns its rates."""
    app = Campaign(env=environment(config, schema))
    total = event_count(campaign)
    latencies: list[float] = []
    counter = [0]
    dealt = shares(campaign, config.tasks)
    with ThreadPoolExecutor(max_workers=len(dealt)) as pool:
        loop = asyncio.get_running_loop()
        jobs = [
            lambda share=share: loop.run_in_executor(pool, _write, app, share, latencies, counter) for share in dealt
        ]
        elapsed = await timed_workers(rec, "eventsourcing append (events)", total, jobs, lambda: counter[0])
        append_rate = total / elapsed
        streams = sorted({c.stream_id for candidate in campaign for c in candidate.commands})
        started = time.perf_counter()
        parts = [streams[i :: len(dealt)] for i in range(len(dealt))]
        read = sum(await asyncio.gather(*(loop.run_in_executor(pool, _read_streams, app, p) for p in parts)))
        read_rate = read / (time.perf_counter() - started)
    started = time.perf_counter()
    logged = await asyncio.to_thread(_read_log, app)
    log_rate = logged / (time.perf_counter() - started)
    app.close()
    rec.put(
        "eventsourcing",
        append_events_per_s=round(append_rate, 1),
        append_commands_per_s=round(len(latencies) / elapsed, 1),
        append_latency=latency_figures(latencies),
        writers=len(dealt),
        read_stream_events_per_s=round(read_rate, 1),
        read_log_events_per_s=round(log_rate, 1),
        events_read=read,
        events_logged=logged,
    )
    rec.say(f"eventsourcing: append {append_rate:,.0f} events/s, read {read_rate:,.0f}/s, log {log_rate:,.0f}/s")
    return {"append": append_rate, "read_stream": read_rate, "read_log": log_rate}
