"""The relay against the real PostgreSQL and Kafka: delivery is at least once (DESIGN rule 5) even
when the relay process is killed in the middle of publishing, and records follow the Kafka
conventions (rule 6): key = candidate id, headers with the event type and schema version."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from uuid import UUID

import pytest
from kafka import KafkaProducer

from shared.events import Envelope
from shared.eventstore import EventStore
from shared.infra.topics import ensure_topics
from shared.kafka import KafkaAccess, producer_config
from shared.relay import Relay
from tests.integration.sample_events import Counted, Noted, context, read_topic

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES, STREAMS_PER_CANDIDATE, ROUNDS, PER_APPEND = 250, 2, 5, 2  # 5,000 events
TOTAL = CANDIDATES * STREAMS_PER_CANDIDATE * ROUNDS * PER_APPEND


@pytest.fixture
async def topic(kafka_admin: KafkaAccess, unique: str) -> str:
    name = f"t{unique}.relay.events"
    await asyncio.to_thread(ensure_topics, kafka_admin, [name], 3)
    return name


async def fill(store: EventStore) -> list[Envelope]:
    """Rounds of appends over every stream, so that the log interleaves the streams."""
    written: list[Envelope] = []
    for round_ in range(ROUNDS):
        batches = await asyncio.gather(
            *(
                store.append(
                    f"counter-{c}-{s}",
                    round_ * PER_APPEND,
                    [Counted(amount=round_), Noted(text=f"r{round_}")],
                    context(f"cand-{c}"),
                )
                for c in range(CANDIDATES)
                for s in range(STREAMS_PER_CANDIDATE)
            )
        )
        written.extend(e for batch in batches for e in batch)
    return written


async def relayed(store: EventStore, name: str) -> int:
    """How many events lie at or below the relay's stored checkpoint."""
    return int(
        await store.pool.fetchval(
            "SELECT count(*) FROM events e JOIN relay_checkpoints c ON c.name = $1"
            " WHERE (e.tx_id, e.position) <= (c.tx_id, c.position)",
            name,
        )
    )


async def start_child(
    database_url: str, kafka: KafkaAccess, schema: str, topic: str, *, flush_delay: float, log: Path
) -> asyncio.subprocess.Process:
    """The relay in a child process, batches of 100; it logs to `log` and counts its flushes in
    `log` with the suffix .flushes."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "RELAY_SCHEMA": schema,
        "RELAY_TOPIC": topic,
        "RELAY_NAME": "crash-relay",
        "RELAY_BATCH_SIZE": "100",
        "RELAY_FLUSH_DELAY": str(flush_delay),
        "RELAY_FLUSH_MARKER": str(log.with_suffix(".flushes")),
    }
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.relay_child", cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def wait_for_progress(
    store: EventStore, child: asyncio.subprocess.Process, log: Path, at_least: int, timeout: float
) -> int:
    deadline = time.monotonic() + timeout
    while (done := await relayed(store, "crash-relay")) < at_least:
        assert child.returncode is None, f"the relay exited ({child.returncode}):\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"relay at {done}/{at_least} after {timeout} s:\n{log.read_text()[-3000:]}"
        await asyncio.sleep(0.01)
    return done


async def test_a_relay_killed_mid_publish_resumes_and_every_event_reaches_kafka(
    store: EventStore, topic: str, database_url: str, kafka_admin: KafkaAccess, tmp_path: Path
) -> None:
    started = time.monotonic()
    schema = await store.pool.fetchval("SELECT current_schema()")
    written = await fill(store)
    assert len(written) == TOTAL
    log = tmp_path / "relay.log"

    flushes = log.with_suffix(".flushes")
    first = await start_child(database_url, kafka_admin, schema, topic, flush_delay=0.3, log=log)
    try:
        deadline = time.monotonic() + 60
        while not flushes.exists() or int(flushes.read_text()) < 11:
            assert first.returncode is None, f"the relay exited ({first.returncode}):\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the relay did not flush 11 batches in 60 s:\n{log.read_text()}"
            await asyncio.sleep(0.005)
    finally:
        # SIGKILL while batch 11 is in Kafka but its end is not yet stored (the child sleeps 0.3 s).
        first.kill()
        await first.wait()
    at_kill = await relayed(store, "crash-relay")
    assert first.returncode == -signal.SIGKILL
    assert at_kill == 1000, f"the kill did not land between batch 11's flush and its checkpoint ({at_kill})"

    second = await start_child(database_url, kafka_admin, schema, topic, flush_delay=0.0, log=log)
    try:
        await wait_for_progress(store, second, log, TOTAL, 120)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    assert second.returncode == 0, log.read_text()[-3000:]

    records = await asyncio.to_thread(read_topic, kafka_admin, topic)
    bodies = [json.loads(r.value) for r in records]
    ids = [UUID(b["event_id"]) for b in bodies]
    by_id = {e.event_id: e for e in written}
    duplicates = len(ids) - len(set(ids))
    print(
        f"\nkilled at {at_kill}/{TOTAL} relayed; {len(records)} records, {duplicates} duplicates;"
        f" {time.monotonic() - started:.1f} s"
    )
    assert set(ids) == set(by_id), (len(set(by_id) - set(ids)), len(set(ids) - set(by_id)))
    assert duplicates == 100, "the restart republishes exactly the batch that was published but unrecorded"
    for record, body, event_id in zip(records, bodies, ids, strict=True):
        envelope = by_id[event_id]
        assert record.key.decode() == envelope.candidate_id == body["candidate_id"]
        assert record.headers["event_type"] == envelope.event_type == body["event_type"]
        assert record.headers["schema_version"] == "1" == str(body["schema_version"])
        assert record.headers["event_id"] == str(event_id)
        assert body["stream_version"] == envelope.stream_version

    partitions: dict[bytes, set[int]] = defaultdict(set)
    seen: dict[str, list[int]] = defaultdict(list)
    for record, body in zip(records, bodies, strict=True):  # partition by partition, in offset order
        partitions[record.key].add(record.partition)
        versions, version = seen[body["stream_id"]], body["stream_version"]
        assert version == (max(versions, default=0) + 1) or version in versions, (
            f"{body['stream_id']}: version {version} after {versions}"
        )
        versions.append(version)
    assert all(len(p) == 1 for p in partitions.values()), "a candidate's events span partitions"
    assert len(seen) == CANDIDATES * STREAMS_PER_CANDIDATE
    assert all(set(v) == set(range(1, ROUNDS * PER_APPEND + 1)) for v in seen.values())


async def test_publish_batch_publishes_in_log_order_and_stores_its_checkpoint(
    store: EventStore, topic: str, kafka_admin: KafkaAccess
) -> None:
    written = await store.append("counter-1", 0, [Counted(amount=1), Noted(text="a")], context("cand-1"))
    written += await store.append("counter-2", 0, [Counted(amount=2)], context(None))
    producer = KafkaProducer(**producer_config(kafka_admin))
    try:
        relay = Relay(store, producer, topic, name="one", batch_size=2)
        assert [await relay.publish_batch() for _ in range(3)] == [2, 1, 0]
    finally:
        await asyncio.to_thread(producer.close, 10)

    assert await store.read_log(await relay.checkpoint(), 10) == []
    records = await asyncio.to_thread(read_topic, kafka_admin, topic)
    assert sorted(r.value for r in records) == sorted(e.to_json() for e in written)
    assert {r.key for r in records} == {b"cand-1", b"counter-2"}  # no candidate: the stream id


async def test_a_running_relay_wakes_on_every_commit_without_polling(
    store: EventStore, topic: str, kafka_admin: KafkaAccess
) -> None:
    """Commits arriving while the relay publishes are not lost: with polling all but off (60 s),
    only the NOTIFY of each commit can wake it, and every event still reaches Kafka."""
    producer = KafkaProducer(**producer_config(kafka_admin))
    relay = Relay(store, producer, topic, name="awake", poll_interval=60.0)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        written: list[Envelope] = []
        for burst in range(6):  # bursts of concurrent commits, many landing while a batch is published
            appended = await asyncio.gather(
                *(store.append(f"counter-{burst}-{n}", 0, [Counted(amount=n)], context(f"cand-{n}")) for n in range(25))
            )
            written += [e for batch in appended for e in batch]
            await asyncio.sleep(0.01 * burst)
        deadline = time.monotonic() + 30
        while await relayed(store, "awake") < len(written):
            assert time.monotonic() < deadline, f"{await relayed(store, 'awake')}/{len(written)} relayed"
            assert not running.done(), running
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await asyncio.to_thread(producer.close, 10)
    records = await asyncio.to_thread(read_topic, kafka_admin, topic)
    assert sorted(r.value for r in records) == sorted(e.to_json() for e in written)
