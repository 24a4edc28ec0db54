"""The handlers of `archipel audit verify | timeline | as-of | replay` (the parsers are in
archipel_cli/audit.py and audit_replay.py). Each runs for a verified auditor (archipel_cli/readers.py),
on the auditor's académie (every académie: a national auditor)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from archipel_cli import audit_replay
from archipel_cli.common import EXIT_INVALID
from archipel_cli.readers import reading
from archipel_cli.runtime import settings
from shared.audit.dossier import fold, render
from shared.audit.timeline import TimelineEntry, as_of, timeline
from shared.audit.verify import MissingTopic, Report, check_store, judge_records, read_records, store_hashes
from shared.auth import AUDITORS, Principal, Role
from shared.clock import PARIS, to_paris
from shared.db import create_pool
from shared.kafka import AUDITOR, kafka_access
from shared.settings import SERVICES, Settings


@asynccontextmanager
async def _pools(config: Settings, services: Sequence[str]) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    """One pool per service whose schema holds an event store (an audit creates nothing), as the
    read-only auditor role when there is one."""
    dsn = config.database_url_for("auditor")
    connection = await asyncpg.connect(dsn)
    try:
        present = {
            row["schemaname"]
            for row in await connection.fetch(
                "SELECT schemaname FROM pg_tables WHERE tablename = 'events'"  # even unreadable ones: say so
            )
        }
    finally:
        await connection.close()
    pools: dict[str, asyncpg.Pool] = {}
    try:
        for service in services:
            if config.db_schema(service) in present:
                pools[service] = await create_pool(dsn, config.db_schema(service), max_size=2, create=False)
        yield pools
    finally:
        for pool in pools.values():
            await pool.close()


def _chosen(arguments: argparse.Namespace) -> list[str]:
    """The services an audit command reads: --service (verify), else every one."""
    return list(getattr(arguments, "service", None) or SERVICES)


@reading(AUDITORS, _chosen)
def verify(arguments: argparse.Namespace, principal: Principal) -> int:
    reports = asyncio.run(_check(settings(), _chosen(arguments), principal.read_scope))
    findings = [finding for report in reports for finding in report.findings]
    for finding in findings:
        print(finding)
    events, streams = sum(r.events for r in reports), sum(r.streams for r in reports)
    count = len(findings)
    print(f"{events} events checked in {streams} streams, {count} finding{'' if count == 1 else 's'}")
    return 1 if findings else 0


TopicRecord = tuple[int, int, bytes, dict[str, str]]


def _of_academy(records: Sequence[TopicRecord], academy: str) -> list[TopicRecord]:
    """The records of every stream one of whose records names `academy` (a stream is checked whole)."""

    def body(value: bytes) -> dict[str, object]:
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    bodies = [body(record[2]) for record in records]
    streams = {b.get("stream_id") for b in bodies if b.get("academy") == academy}
    return [record for record, b in zip(records, bodies, strict=True) if b and b.get("stream_id") in streams]


async def _check(config: Settings, services: Sequence[str], academy: str | None) -> list[Report]:
    """Each store, then each topic checked also against its store's hashes, read after the topic
    so that a record the relay publishes meanwhile is in them. With `academy`, only the streams of
    that académie."""
    reports: list[Report] = []
    async with _pools(config, services) as pools:
        for service in services:
            if service in pools:
                reports.append(await check_store(pools[service], academy))
            else:
                print(f"note: no event store in schema {config.db_schema(service)}", file=sys.stderr)
        for service in services:
            topic = config.topic(service)
            try:
                records = await asyncio.to_thread(read_records, kafka_access(config, AUDITOR), topic)
            except MissingTopic:
                print(f"note: no topic {topic}", file=sys.stderr)
                continue
            if academy is not None:
                records = _of_academy(records, academy)
            hashes = await store_hashes(pools[service]) if service in pools else None
            reports.append(judge_records(topic, records, hashes))
    return reports


def _print_entries(entries: Sequence[TimelineEntry]) -> None:
    rows = [
        (
            to_paris(e.recorded_at).strftime("%Y-%m-%d %H:%M:%S"),
            e.service,
            e.event_type,
            e.actor,
            f"{e.stream_id} v{e.stream_version}",
            e.change,
        )
        for e in entries
    ]
    header = ("time (Paris)", "service", "type", "actor", "stream", "change")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(5)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[5])


@reading(AUDITORS, _chosen)
def show_timeline(arguments: argparse.Namespace, principal: Principal) -> int:
    entries = asyncio.run(_read(settings(), arguments.candidate, None, principal.read_scope))
    if not entries:
        print(f"no event for candidate {arguments.candidate}", file=sys.stderr)
        return 1
    _print_entries(entries)
    return 0


def parse_moment(text: str) -> datetime:
    """ISO 8601; without an offset the time is Europe/Paris."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=PARIS) if moment.tzinfo is None else moment


@reading(AUDITORS, _chosen)
def show_as_of(arguments: argparse.Namespace, principal: Principal) -> int:
    try:
        moment = parse_moment(arguments.timestamp)
    except ValueError as error:
        print(f"error: timestamp: {error}", file=sys.stderr)
        return EXIT_INVALID
    entries = asyncio.run(_read(settings(), arguments.candidate, moment, principal.read_scope))
    print(f"as of {to_paris(moment).isoformat()} (Europe/Paris)")
    _print_entries(entries)
    print()
    for line in render(fold(entries)):
        print(line)
    return 0


async def _read(config: Settings, candidate: str, moment: datetime | None, academy: str | None) -> list[TimelineEntry]:
    async with _pools(config, SERVICES) as pools:
        if moment is None:
            return await timeline(pools, candidate, academy)
        return await as_of(pools, candidate, moment, academy)


@reading({Role.NATIONAL_AUDITOR}, _chosen)
def replay(arguments: argparse.Namespace, principal: Principal) -> int:
    """Every académie's read models rebuilt and compared: a national auditor's command."""
    return audit_replay.run_replay(arguments)
