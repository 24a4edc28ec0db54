"""Auditors against the real PostgreSQL and Kafka: each kind of tampering with a store or a topic is
named (definitions in shared.audit.verify), redeliveries are not; a candidate's timeline across two
stores, as of a moment; `archipel audit` exit codes and output."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import asyncpg
import pytest
from kafka import KafkaProducer

from archipel_cli.main import main
from shared.audit.timeline import as_of, timeline
from shared.audit.verify import Finding, check_store, check_topic, store_hashes, verify_store, verify_topic
from shared.auth import Role
from shared.clock import FixedClock
from shared.events import DomainEvent, EventRegistry, canonical_json
from shared.eventstore import EventStore, stored_envelope
from shared.infra.topics import ensure_topics
from shared.kafka import ADMIN, KafkaAccess, kafka_access, producer_config
from shared.relay import Relay
from shared.settings import Settings
from tests.integration.cli_readers import token, use_settings
from tests.integration.sample_events import Counted, Noted, context, open_store, read_topic


@pytest.fixture
async def store(database_url: str, schema: str) -> AsyncIterator[EventStore]:
    store = await open_store(database_url, schema)
    await store.append("counter-1", 0, [Counted(amount=1), Noted(text="b"), Counted(amount=3)], context("cand-1"))
    await store.append("counter-2", 0, [Counted(amount=5), Noted(text="z")], context("cand-2"))
    yield store
    await store.pool.close()


async def row(store: EventStore, version: int, stream: str = "counter-1") -> asyncpg.Record:
    found = await store.pool.fetchrow(
        "SELECT * FROM events WHERE stream_id = $1 AND stream_version = $2", stream, version
    )
    assert found is not None
    return found


async def content_of(store: EventStore, version: int) -> bytes:
    return stored_envelope(await row(store, version)).to_json()


async def rehash(store: EventStore, version: int, digest: bytes) -> None:
    await store.pool.execute(
        "UPDATE events SET hash = $2 WHERE stream_id = 'counter-1' AND stream_version = $1", version, digest
    )


async def forge(store: EventStore, version: int, *, hash_of: bytes | None) -> str:
    """Inserts a copy of version 3 as `version` with a new event id; its hash is sha(hash_of +
    content), or version 3's hash copied as is when `hash_of` is None. Returns the new event id."""
    event_id = uuid.uuid4()
    await store.pool.execute(
        "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, occurred_at,"
        " recorded_at, academy, actor, candidate_id, correlation_id, causation_id, trace_context, payload, hash)"
        " SELECT $1, stream_id, $2, event_type, schema_version, occurred_at, recorded_at, academy, actor,"
        " candidate_id, correlation_id, causation_id, trace_context, payload, hash"
        " FROM events WHERE stream_id = 'counter-1' AND stream_version = 3",
        event_id,
        version,
    )
    if hash_of is not None:
        await rehash(store, version, hashlib.sha256(hash_of + await content_of(store, version)).digest())
    return str(event_id)


def summary(findings: list[Finding]) -> list[tuple[str, str, int | None, str | None]]:
    return [(f.kind, f.stream_id, f.version, f.event_id) for f in findings]


async def test_a_clean_store_has_no_finding(store: EventStore) -> None:
    report = await check_store(store.pool)
    assert (report.findings, report.events, report.streams) == ([], 5, 2)


async def test_an_edited_payload_is_altered_and_a_rewritten_hash_moves_the_break(store: EventStore) -> None:
    second = str((await row(store, 2))["event_id"])
    await store.pool.execute('UPDATE events SET payload = \'{"text": "f"}\' WHERE event_id = $1', uuid.UUID(second))
    findings = await verify_store(store.pool)
    assert summary(findings) == [("ALTERED", "counter-1", 2, second)]
    assert findings[0].where.startswith("store:t_") and "does not match its hash" in findings[0].detail

    # The forger also rewrites version 2's hash: version 2 now chains, version 3 breaks (the detail says why).
    await rehash(store, 2, hashlib.sha256((await row(store, 1))["hash"] + await content_of(store, 2)).digest())
    third = str((await row(store, 3))["event_id"])
    [finding] = await verify_store(store.pool)
    assert (finding.kind, finding.version, finding.event_id) == ("ALTERED", 3, third)
    assert "v2 was changed and its hash rewritten" in finding.detail


async def test_a_deleted_middle_event_is_a_gap(store: EventStore) -> None:
    await store.pool.execute("DELETE FROM events WHERE stream_id = 'counter-1' AND stream_version = 2")
    [finding] = await verify_store(store.pool)
    assert (finding.kind, finding.stream_id, finding.version, finding.event_id) == ("DELETED", "counter-1", 2, None)
    assert finding.detail.startswith("version 2 missing before event")


async def test_forged_insertions_are_named_except_a_correctly_chained_one(store: EventStore) -> None:
    copied = await forge(store, 4, hash_of=None)  # the hash column copied with the row
    [finding] = await verify_store(store.pool)
    assert (finding.kind, finding.version, finding.event_id) == ("INSERTED", 4, copied)
    assert "copy of v3's" in finding.detail

    await store.pool.execute("DELETE FROM events WHERE event_id = $1", uuid.UUID(copied))
    restarted = await forge(store, 4, hash_of=b"")  # hashed as if it began a stream
    [finding] = await verify_store(store.pool)
    assert (finding.kind, finding.version, finding.event_id) == ("INSERTED", 4, restarted)
    assert "chained from the start, not from v3" in finding.detail

    # The chain has no secret: an event appended with a correctly computed hash is not detectable in
    # the store alone (the topic cross-check is the external anchor).
    await store.pool.execute("DELETE FROM events WHERE event_id = $1", uuid.UUID(restarted))
    await forge(store, 4, hash_of=(await row(store, 3))["hash"])
    assert await verify_store(store.pool) == []


async def test_swapped_versions_and_rows_out_of_log_order_are_reordered(store: EventStore) -> None:
    ids = {v: str((await row(store, v))["event_id"]) for v in (2, 3)}
    async with store.pool.acquire() as connection, connection.transaction():
        for old, new in ((2, 1000), (3, 2), (1000, 3)):
            await connection.execute(
                "UPDATE events SET stream_version = $2 WHERE stream_id = 'counter-1' AND stream_version = $1", old, new
            )
    findings = await verify_store(store.pool)
    assert summary(findings) == [("REORDERED", "counter-1", 2, ids[3]), ("REORDERED", "counter-1", 3, ids[2])]
    assert "renumbered from v3" in findings[0].detail

    # A row deleted and inserted again, unchanged: only its log position betrays it (identity
    # positions only grow, so it now comes after its successor).
    moved = dict(await row(store, 1, "counter-2"))
    columns = [name for name in moved if name not in ("position", "tx_id")]
    await store.pool.execute("DELETE FROM events WHERE event_id = $1", moved["event_id"])
    await store.pool.execute(
        f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})",
        *[moved[name] for name in columns],
    )
    findings = await verify_store(store.pool)
    assert summary(findings)[2:] == [("REORDERED", "counter-2", 1, str(moved["event_id"]))]
    assert "comes after v2's" in findings[2].detail


@pytest.fixture
async def topic(kafka_admin: KafkaAccess, unique: str) -> str:
    name = f"t{unique}.audit.events"
    await asyncio.to_thread(ensure_topics, kafka_admin, [name], 3)
    return name


async def publish(store: EventStore, kafka_admin: KafkaAccess, topic: str) -> None:
    producer = KafkaProducer(**producer_config(kafka_admin))
    try:
        while await Relay(store, producer, topic).publish_batch():
            pass
    finally:
        await asyncio.to_thread(producer.close, 10)


def produce(kafka_admin: KafkaAccess, topic: str, value: bytes, key: bytes, headers: dict[str, str]) -> None:
    producer = KafkaProducer(**producer_config(kafka_admin))
    try:
        producer.send(topic, value=value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]).get(30)
    finally:
        producer.close(10)


async def test_topic_redeliveries_are_ignored_and_a_tampered_copy_or_forged_record_is_named(
    store: EventStore, topic: str, kafka_admin: KafkaAccess
) -> None:
    await publish(store, kafka_admin, topic)
    records = await asyncio.to_thread(read_topic, kafka_admin, topic)
    bodies = [(json.loads(r.value), r) for r in records]
    first, second, third = (
        next(r for b, r in bodies if (b["stream_id"], b["stream_version"]) == ("counter-1", v)) for v in (1, 2, 3)
    )
    await asyncio.to_thread(produce, kafka_admin, topic, second.value, second.key, second.headers)  # a redelivery
    expected = await store_hashes(store.pool)
    report = await asyncio.to_thread(check_topic, kafka_admin, topic, expected)
    assert (report.findings, report.events, report.streams) == ([], 5, 2)

    # A tampered copy of version 2, with a hash header recomputed over its new content.
    body = json.loads(second.value)
    forged = canonical_json({**body, "payload": {"text": "forged"}})
    headers = {**second.headers, "hash": hashlib.sha256(bytes.fromhex(first.headers["hash"]) + forged).hexdigest()}
    await asyncio.to_thread(produce, kafka_admin, topic, forged, second.key, headers)
    for known in (None, expected):  # which copy is genuine: the one version 3 chains from / the store's
        findings = await asyncio.to_thread(verify_topic, kafka_admin, topic, known)
        assert ("ALTERED", "counter-1", 2, body["event_id"]) in summary(findings)
        assert all(f.event_id == body["event_id"] and f.where == f"topic:{topic}" for f in findings)
        assert any("a different copy of the event" in f.detail for f in findings)

    # A forged next event, correctly chained: the chain cannot tell, the store's hashes can.
    invented = canonical_json({**json.loads(third.value), "stream_version": 4, "event_id": str(uuid.uuid4())})
    digest = hashlib.sha256(bytes.fromhex(third.headers["hash"]) + invented).hexdigest()
    await asyncio.to_thread(produce, kafka_admin, topic, invented, third.key, {**third.headers, "hash": digest})
    findings = await asyncio.to_thread(verify_topic, kafka_admin, topic, expected)
    assert ("INSERTED", "counter-1", 4, json.loads(invented)["event_id"]) in summary(findings)
    assert await asyncio.to_thread(verify_topic, kafka_admin, topic, None) == findings[:1]  # the copy only

    # Records without a hash header (an older relay): the store's hash stands in; else UNVERIFIED.
    legacy = {k: v for k, v in third.headers.items() if k != "hash"}
    await asyncio.to_thread(produce, kafka_admin, topic, third.value, third.key, legacy)
    orphan = {**json.loads(third.value), "stream_id": "legacy-1", "stream_version": 1, "event_id": str(uuid.uuid4())}
    await asyncio.to_thread(produce, kafka_admin, topic, canonical_json(orphan), b"legacy-1", legacy)
    findings = await asyncio.to_thread(verify_topic, kafka_admin, topic, expected)
    assert [f[0] for f in summary(findings) if f[1] == "legacy-1"] == ["UNVERIFIED", "INSERTED"]


class ExamFormChosen(DomainEvent):
    event_type: ClassVar[str] = "ExamFormChosen"
    form: str
    units: tuple[str, ...]


class DocumentUploaded(DomainEvent):
    event_type: ClassVar[str] = "DocumentUploaded"
    document_id: str
    kind: str


T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)  # 10:00 in Paris


async def test_timeline_across_two_stores_as_of_a_moment_and_the_cli(
    isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = isolated_settings
    clock = FixedClock(T0)
    registry = EventRegistry([ExamFormChosen, DocumentUploaded, Counted, Noted])
    stores = {}
    for service in ("registration", "documents"):
        opened = await open_store(settings.database_url_for(service), settings.db_schema(service))  # its role
        stores[service] = EventStore(opened.pool, registry, clock=clock)
    try:
        registration, documents = stores["registration"], stores["documents"]
        cand = "cand-7"
        await registration.append(
            f"registration-{cand}", 0, [ExamFormChosen(form="globale", units=("U1", "U2"))], context(cand)
        )
        await registration.append("registration-other", 0, [Noted(text="not theirs")], context("cand-8"))
        clock.advance(timedelta(hours=1))
        staff = context(cand).model_copy(update={"actor": "staff:reviewer"})
        await documents.append(f"dossier-{cand}", 0, [DocumentUploaded(document_id="d1", kind="identite")], staff)
        clock.advance(timedelta(hours=1))
        await registration.append(f"calendar-{cand}", 0, [Noted(text="named after them")], context(None))
        pools = {service: store.pool for service, store in stores.items()}

        entries = await timeline(pools, cand)
        assert [(e.service, e.event_type, e.actor, e.stream_version) for e in entries] == [
            ("registration", "ExamFormChosen", "staff:test", 1),
            ("documents", "DocumentUploaded", "staff:reviewer", 1),
            ("registration", "Noted", "staff:test", 1),
        ]
        assert entries[0].change == "form=globale units=U1,U2" and entries[0].recorded_at == T0
        assert [e.event_type for e in await as_of(pools, cand, T0 + timedelta(minutes=90))] == [
            "ExamFormChosen",
            "DocumentUploaded",
        ]

        for service, store in stores.items():
            await publish(store, kafka_access(settings, ADMIN), settings.topic(service))
        use_settings(monkeypatch, settings)
        monkeypatch.setenv("ARCHIPEL_TOKEN", token(settings, Role.NATIONAL_AUDITOR, "national"))
        assert await asyncio.to_thread(main, ["audit", "verify"]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == "8 events checked in 8 streams, 0 findings"

        await registration.pool.execute(
            "UPDATE events SET actor = 'staff:someone-else' WHERE stream_id = 'registration-other'"
        )
        assert await asyncio.to_thread(main, ["audit", "verify", "--service", "registration"]) == 1
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith(f"ALTERED store:{settings.db_schema('registration')} registration-other v1 event ")
        assert out[-1] == "6 events checked in 6 streams, 1 finding"

        assert await asyncio.to_thread(main, ["audit", "timeline", cand]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 4 and lines[1].startswith("2025-03-01 10:00:00  registration  ExamFormChosen")

        assert await asyncio.to_thread(main, ["audit", "as-of", cand, "2025-03-01T11:30"]) == 0
        text = capsys.readouterr().out
        assert "DocumentUploaded" in text and "named after them" not in text
        assert "form globale units U1,U2, confirmed no" in text and "uploaded identite" in text
    finally:
        for store in stores.values():
            await store.pool.close()
