"""Tamper evidence: the hash chain of every stream, checked in a store and on a topic.

Each stream is a chain: hash(v) = sha256(hash(v-1) + content(v)), hash(0) = b"", where content is
the canonical JSON of the event as stored (`stored_envelope(row).to_json()`, which is also the
record value the relay publishes with the hash in its `hash` header). A stream's events are judged
in version order; the predecessor of version v is the event held at version v-1. Findings:

- DELETED: versions are missing (a gap in 1..last). The event after a gap is not judged: its hash
  covers a hash that is gone. A deleted *last* event leaves no trace in a store alone.
- ALTERED: the event's content matches its hash neither from its predecessor, nor from any other
  point of the stream, nor as any other version: it was changed after the append. The chain only
  tells where it breaks: if someone edited version v-1 AND rewrote its hash to match, the break
  shows at version v (the detail says so).
- INSERTED: the chain breaks at the event, yet the event was forged "consistently": its hash is a
  copy of another event's hash, or its content matches its hash computed from another point of the
  stream (an earlier version, or the start) than its predecessor. On a topic, also a record that
  claims a version already held by another event, or (cross-check) an event the store does not hold.
- REORDERED: the event's content matches its hash as another version k (it was renumbered: the
  version is part of the hashed content), or its log position (store) / offset (topic) comes after
  that of a higher version of its stream (identity positions only grow: a row deleted and inserted
  again lands after its successors).

On a topic, records are grouped by the value's stream id in (partition, offset) order; identical
records (same event id, bytes and hash header) are redeliveries of the at-least-once relay and are
checked once. Among distinct records claiming one version, the genuine one is the store's (when
cross-checking), else the one the next version chains from, else the one chaining from the previous
version, else the first published; the others are ALTERED (same event id) or INSERTED.

A topic record published without a `hash` header (by a relay older than the header) is checked
with the store's hash of its event; when the store does not hold it either, it is UNVERIFIED.

Limits (honestly): the chain has no secret. Whoever recomputes every hash from a forgery to the end
of its stream, or appends a correctly chained event, leaves no trace in the store; the topic, whose
records were published at append time, shows it (`verify_topic(..., expected=store_hashes(pool))`).
An event inserted by renumbering its successors shows as REORDERED successors, not by itself.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from kafka import KafkaConsumer, TopicPartition

from shared.audit.chain import (
    ALTERED,
    DELETED,
    INSERTED,
    REORDERED,
    UNVERIFIED,
    Finding,
    Link,
    Report,
    judge_stream,
    sha,
)
from shared.events import canonical_json
from shared.eventstore import stored_envelope
from shared.kafka import KafkaAccess, consumer_config, decode_headers

__all__ = [
    "ALTERED",
    "DELETED",
    "INSERTED",
    "REORDERED",
    "UNVERIFIED",
    "Finding",
    "Report",
    "check_store",
    "check_topic",
    "judge_records",
    "read_records",
    "store_hashes",
    "verify_store",
    "verify_topic",
]


# --- the store ---------------------------------------------------------------------------------


def _store_link(row: asyncpg.Record) -> Link:
    stored = stored_envelope(row)
    return Link(
        version=row["stream_version"],
        event_id=str(row["event_id"]),
        content=stored.to_json(),
        hash=bytes(row["hash"]),
        as_version=lambda version: stored.model_copy(update={"stream_version": version}).to_json(),
        order=row["position"],
        label=f"position {row['position']}",
    )


async def check_store(pool: asyncpg.Pool, academy: str | None = None) -> Report:
    """Every stream of the store (`events` in the pool's schema), in one consistent snapshot; with
    `academy`, every stream with an event of that académie (an auditor's scope)."""
    report = Report()
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read", readonly=True):
        where = f"store:{await connection.fetchval('SELECT current_schema()')}"
        stream: str | None = None
        links: list[Link] = []
        query = (
            "SELECT * FROM events WHERE $1::text IS NULL OR stream_id IN"
            " (SELECT stream_id FROM events WHERE academy = $1) ORDER BY stream_id, stream_version"
        )
        async for row in connection.cursor(query, academy, prefetch=1000):
            if row["stream_id"] != stream:
                if stream is not None:
                    report.findings += judge_stream(where, stream, links)
                stream, links = row["stream_id"], []
                report.streams += 1
            links.append(_store_link(row))
            report.events += 1
        if stream is not None:
            report.findings += judge_stream(where, stream, links)
    return report


async def verify_store(pool: asyncpg.Pool) -> list[Finding]:
    return (await check_store(pool)).findings


async def store_hashes(pool: asyncpg.Pool) -> dict[str, str]:
    """event id -> hex chain hash, to cross-check a topic against the store."""
    rows = await pool.fetch("SELECT event_id, hash FROM events")
    return {str(row["event_id"]): bytes(row["hash"]).hex() for row in rows}


# --- the topic ---------------------------------------------------------------------------------


class MissingTopic(LookupError):
    pass


@dataclass(frozen=True)
class _Record:
    partition: int
    offset: int
    value: bytes
    body: dict[str, Any]
    event_id: str
    version: int
    hash_hex: str

    @property
    def label(self) -> str:
        return f"partition {self.partition} offset {self.offset}"

    @property
    def digest(self) -> bytes | None:
        """The hash header's bytes (b"" when it is not hex, so that it fails), None without one."""
        if not self.hash_hex:
            return None
        try:
            return bytes.fromhex(self.hash_hex)
        except ValueError:
            return b""

    def link(self, rank: int) -> Link:
        body = self.body
        return Link(
            self.version,
            self.event_id,
            self.value,
            self.digest,
            lambda version: canonical_json({**body, "stream_version": version}),
            rank,
            self.label,
        )


def read_records(
    access: KafkaAccess, topic: str, timeout: float = 60.0
) -> list[tuple[int, int, bytes, dict[str, str]]]:
    """(partition, offset, value, headers) of every record up to the end offsets seen now."""
    consumer = KafkaConsumer(**consumer_config(access))
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            raise MissingTopic(f"no topic {topic}")
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = {tp: offset for tp, offset in consumer.end_offsets(partitions).items() if offset > 0}
        out: list[tuple[int, int, bytes, dict[str, str]]] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < offset for tp, offset in end.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took over {timeout} s")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                out.extend(
                    (tp.partition, r.offset, r.value, decode_headers(r.headers))
                    for r in batch
                    if r.offset < end.get(tp, 0)
                )
        return sorted(out, key=lambda record: (record[0], record[1]))
    finally:
        consumer.close()


def check_topic(access: KafkaAccess, topic: str, expected: dict[str, str] | None = None) -> Report:
    """The chain of every stream on `topic`; `expected` (event id -> hex hash, from the store)
    also flags records whose hash differs from the store's or whose event the store lacks. Read the
    store's hashes AFTER the topic, or a record published in between looks forged."""
    return judge_records(topic, read_records(access, topic), expected)


def judge_records(
    topic: str, records: Sequence[tuple[int, int, bytes, dict[str, str]]], expected: dict[str, str] | None = None
) -> Report:
    """`check_topic` on records already read (partition, offset, value, headers)."""
    where, report = f"topic:{topic}", Report()
    streams: dict[str, list[_Record]] = defaultdict(list)
    seen: set[tuple[str, bytes, str]] = set()
    for partition, offset, value, headers in records:
        try:
            body = json.loads(value)
            stream_id, event_id, version = str(body["stream_id"]), str(body["event_id"]), int(body["stream_version"])
        except (ValueError, TypeError, KeyError):
            detail = f"not an event record (partition {partition} offset {offset})"
            report.findings.append(Finding(ALTERED, where, "?", None, None, detail))
            continue
        # Records published before the relay sent hashes have none: the store's hash stands in for it.
        hash_hex = headers.get("hash") or (expected or {}).get(event_id, "")
        record = _Record(partition, offset, value, body, event_id, version, hash_hex)
        identity = (event_id, value, record.hash_hex)
        if identity not in seen:  # else an identical redelivery (the relay is at least once)
            seen.add(identity)
            streams[stream_id].append(record)
            report.events += 1
    report.streams = len(streams)
    for stream_id, stream in streams.items():
        report.findings += _judge_topic_stream(where, stream_id, stream, expected)
    return report


def _judge_topic_stream(
    where: str, stream_id: str, records: list[_Record], expected: dict[str, str] | None
) -> list[Finding]:
    rank = {id(record): index for index, record in enumerate(records)}
    by_version: dict[int, list[_Record]] = defaultdict(list)
    for record in records:
        by_version[record.version].append(record)
    chosen: dict[int, _Record] = {}
    for version in sorted(by_version):
        chosen[version] = _genuine(
            by_version[version], by_version.get(version + 1, []), chosen.get(version - 1), expected
        )
    findings = judge_stream(where, stream_id, [chosen[v].link(rank[id(chosen[v])]) for v in sorted(chosen)])
    for version, candidates in sorted(by_version.items()):
        genuine = chosen[version]
        for record in candidates:
            if record is genuine:
                continue
            if record.event_id == genuine.event_id:
                kind, detail = ALTERED, f"a different copy of the event at {genuine.label}"
            else:
                kind, detail = INSERTED, f"claims v{version}, held by event {genuine.event_id} at {genuine.label}"
            findings.append(Finding(kind, where, stream_id, version, record.event_id, f"{detail} ({record.label})"))
    for record in records if expected is not None else ():
        assert expected is not None
        known = expected.get(record.event_id)
        if known is None:
            detail = f"not in the store: forged on the topic, or deleted from the store ({record.label})"
            findings.append(Finding(INSERTED, where, stream_id, record.version, record.event_id, detail))
        elif known != record.hash_hex:
            detail = f"its hash differs from the store's ({record.label})"
            findings.append(Finding(ALTERED, where, stream_id, record.version, record.event_id, detail))
    return findings


def _genuine(
    candidates: list[_Record], following: list[_Record], previous: _Record | None, expected: dict[str, str] | None
) -> _Record:
    """Among distinct records claiming one version: the store's, else the one the next version
    chains from, else the one chaining from the previous version, else the first published."""
    if len(candidates) == 1:
        return candidates[0]
    tests: list[Callable[[_Record], bool]] = [
        lambda r: expected is not None and expected.get(r.event_id) == r.hash_hex,
        lambda r: r.digest is not None and any(sha(r.digest, n.value) == n.digest for n in following),
        lambda r: sha((previous.digest or b"") if previous else b"", r.value) == r.digest,
    ]
    for test in tests:
        for record in candidates:
            if test(record):
                return record
    return candidates[0]


def verify_topic(access: KafkaAccess, topic: str, expected: dict[str, str] | None = None) -> list[Finding]:
    return check_topic(access, topic, expected).findings
