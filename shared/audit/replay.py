"""The replay audit: every projection rebuilt from the first offset of its topics into a fresh
schema, then each read-model table compared with the live one.

Per service a schema `replay_<hex>_<service>` receives the service's migrations; each projection
with tables is rebuilt there (shared.rebuild). Projections without tables are
process managers (CommandIntake): they append commands to the service's own event store, so they
never run during a replay and are reported as skipped.

Rows are compared as sorted lists of row tuples, all columns included: the read models take
every time they store from the event envelopes (occurred/recorded times, deadlines in payloads),
none from the clock, so no column is time-dependent. The comparison is meaningful once the live
projections have caught up with the topics (`wait_caught_up`); a rebuild reads up to the end
offsets seen when it starts.

The replayed projection runs under the name `replay_<hex>_<name>`, which only changes the key of
its checkpoint rows (`projection_streams`) and of its advisory lock, so live handling of the same
projection is never paused by a replay."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from shared.db import Connection, check_identifier, create_pool, drop_schema, migrate
from shared.events import Envelope
from shared.kafka import AUDITOR, consumer_config, kafka_access
from shared.projections import Projection, ProjectionRunner
from shared.rebuild import Workers, rebuild
from shared.service import Service
from shared.settings import Settings

Row = tuple[object, ...]
Progress = Callable[[str, Mapping[str, int], bool], None]
"""Called with the projection's name, the records read so far per topic, and whether it is done."""


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    live: Row | None
    replayed: Row | None
    columns: tuple[str, ...] = ()

    def changes(self) -> str:
        """`column: live -> replayed` for the columns that differ, else both whole rows."""
        if self.live is None or self.replayed is None or len(self.columns) != len(self.live):
            return f"live {self.live} vs replayed {self.replayed}"
        return "; ".join(
            f"{name}: live {a!r} vs replayed {b!r}"
            for name, a, b in zip(self.columns, self.live, self.replayed, strict=True)
            if a != b
        )


@dataclass
class ProjectionReplay:
    service: str
    projection: str
    records_read: int = 0
    events_applied: int = 0
    seconds: float = 0.0
    processes: int = 1
    skipped: str | None = None
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # table -> (live, replayed)
    differences: list[Difference] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else 0.0


@dataclass
class ReplayResult:
    schemas: list[str]
    projections: list[ProjectionReplay]
    seconds: float
    kept: bool = False

    @property
    def differences(self) -> list[Difference]:
        return [d for p in self.projections for d in p.differences]

    @property
    def records_read(self) -> int:
        return sum(p.records_read for p in self.projections)

    @property
    def rate(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else 0.0


class _Tally(Projection):
    """The projection under a replay name, counting the records `rebuild` reads, per topic.

    `rebuild` asks `handles` once per readable record (shared.record_check), with its event type."""

    def __init__(self, inner: Projection, name: str, topic_of: Mapping[str, str], progress: Progress | None) -> None:
        self.inner = inner
        self.name = check_identifier(name)
        self.migrations = inner.migrations
        self.tables = inner.tables
        self.event_types = inner.event_types
        self.partitioned = inner.partitioned
        self.read: dict[str, int] = {}
        self._topic_of = topic_of
        self._progress = progress

    def handles(self, event_type: str) -> bool:
        answer = self.inner.handles(event_type)
        topic = self._topic_of.get(event_type, "?")
        self.read[topic] = self.read.get(topic, 0) + 1
        if self._progress is not None and sum(self.read.values()) % 500 == 0:
            self._progress(self.inner.name, self.read, False)
        return answer

    def __getstate__(self) -> dict[str, object]:
        """Pickled into a rebuild process without its progress: the replay reports at the end."""
        return {**self.__dict__, "_progress": None}

    def bind(self, pool: asyncpg.Pool) -> None:
        self.inner.bind(pool)

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        await self.inner.apply(connection, envelope)

    async def apply_many(self, connection: Connection, envelopes: Sequence[Envelope]) -> None:
        await self.inner.apply_many(connection, envelopes)


async def replay(
    settings: Settings,
    specs: Sequence[Service[Any]],
    *,
    keep: bool = False,
    progress: Progress | None = None,
    workers: Workers | None = None,
) -> ReplayResult:
    """Rebuilds every projection of `specs` into fresh schemas and compares them with the live ones;
    with `workers`, a partitioned one with a large backlog is rebuilt by several processes."""
    access = kafka_access(settings, AUDITOR)  # reads every topic, writes none
    tag = uuid.uuid4().hex[:8]
    topic_of = {event_type: settings.topic(spec.name) for spec in specs for event_type in spec.registry.models}
    schemas: list[tuple[str, str]] = []  # (the role's URL, the scratch schema)
    results: list[ProjectionReplay] = []
    started = time.perf_counter()
    try:
        for spec in specs:
            schema = check_identifier(f"replay_{tag}_{spec.name}")
            dsn = settings.database_url_for(spec.name)  # the service's role: its scratch schema, its live one
            schemas.append((dsn, schema))
            fresh = await create_pool(dsn, schema, max_size=3)
            live = await create_pool(dsn, settings.db_schema(spec.name), max_size=2)
            try:
                await migrate(fresh, spec.migrations())
                topics = [settings.topic(name) for name in spec.projection_topics]
                for projection in spec.projections():
                    result = ProjectionReplay(spec.name, projection.name)
                    results.append(result)
                    if not projection.tables:
                        result.skipped = "no tables: a process manager that appends commands, never replayed"
                        continue
                    tally = _Tally(projection, f"replay_{tag}_{projection.name}"[:63], topic_of, progress)
                    runner = ProjectionRunner(fresh, spec.projection_registry, tally)
                    began = time.perf_counter()
                    own = replace(workers, dsn=dsn) if workers is not None else None
                    # What does not chain is logged, never parked again: a replay writes no topic.
                    report = await rebuild(runner, access, topics, workers=own)
                    result.seconds = time.perf_counter() - began
                    result.records_read, result.events_applied = report.events_read, report.events_applied
                    result.processes = report.processes
                    if progress is not None:  # the processes counted their own records
                        progress(projection.name, tally.read or {"all topics": report.events_read}, True)
                    for table in projection.tables:
                        await _compare(live, fresh, table, result)
            finally:
                await fresh.close()
                await live.close()
    finally:
        if not keep:
            for dsn, schema in schemas:
                await drop_schema(dsn, schema)
    return ReplayResult([schema for _, schema in schemas], results, time.perf_counter() - started, keep)


async def _compare(live: asyncpg.Pool, fresh: asyncpg.Pool, table: str, result: ProjectionReplay) -> None:
    check_identifier(table)
    key_columns = await _primary_key(fresh, table)
    names = await _columns(fresh, table)
    fresh_rows = await _rows(fresh, table, names)
    if await live.fetchval("SELECT to_regclass($1)", table) is None:
        result.rows[table] = (0, len(fresh_rows))
        result.differences.append(Difference(table, "(the whole table)", None, ("no such table in the live schema",)))
        return
    live_rows = await _rows(live, table, names)
    result.rows[table] = (len(live_rows), len(fresh_rows))
    if live_rows == fresh_rows:
        return
    positions = [names.index(c) for c in key_columns] or list(range(len(names)))

    def key(row: Row) -> str:
        return ", ".join(f"{names[i]}={row[i]}" for i in positions)

    by_key: dict[str, tuple[list[Row], list[Row]]] = {}
    for row in live_rows:
        by_key.setdefault(key(row), ([], []))[0].append(row)
    for row in fresh_rows:
        by_key.setdefault(key(row), ([], []))[1].append(row)
    for k in sorted(by_key):
        was, now = by_key[k]
        for i in range(max(len(was), len(now))):
            a = was[i] if i < len(was) else None
            b = now[i] if i < len(now) else None
            if a != b:
                result.differences.append(Difference(table, k, a, b, tuple(names)))


def _sort_key(row: Row) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, str(value)) for value in row)


async def _rows(pool: asyncpg.Pool, table: str, names: Sequence[str]) -> list[Row]:
    order = ", ".join(f'"{name}"' for name in names)
    records = await pool.fetch(f"SELECT {order} FROM {table}")
    return sorted((tuple(record) for record in records), key=_sort_key)


async def _columns(pool: asyncpg.Pool, table: str) -> list[str]:
    """The table's columns by name (not position: a live table migrated in another order compares alike)."""
    rows = await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = $1 ORDER BY column_name",
        table,
    )
    return [str(row["column_name"]) for row in rows]


async def _primary_key(pool: asyncpg.Pool, table: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY a.attname",
        table,
    )
    return [str(row["attname"]) for row in rows]


def lagging_groups(settings: Settings, specs: Sequence[Service[Any]]) -> dict[str, int]:
    """Each live projection consumer group (with tables) still behind its topics' end offsets, with
    the number of records it has yet to commit; empty when every one has caught up."""
    access = kafka_access(settings, AUDITOR)
    admin = KafkaAdminClient(**access.kafka_python())
    consumer = KafkaConsumer(**consumer_config(access))
    try:
        behind: dict[str, int] = {}
        for spec in specs:
            partitions = [
                TopicPartition(topic, p)
                for topic in (settings.topic(name) for name in spec.projection_topics)
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            ends = consumer.end_offsets(partitions)
            for projection in spec.projections():
                if not projection.tables:
                    continue
                group = settings.db_schema_prefix + projection.name
                committed = admin.list_group_offsets({group: None}).get(group, {})
                missing = sum(
                    end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
                    for tp, end in ends.items()
                )
                if missing > 0:
                    behind[group] = missing
        return behind
    finally:
        consumer.close()
        admin.close()
