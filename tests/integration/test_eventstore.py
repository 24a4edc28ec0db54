"""The event store against the real PostgreSQL: appends are atomic and checked (DESIGN rule 3),
stored events read back through the registry (rule 2), and the global log is safe to tail under many
concurrent writers committing out of order, where a naive "position > last" reader skips (rule 4)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import ClassVar
from uuid import UUID

import asyncpg
import pytest

from shared.db import Connection, create_pool
from shared.errors import ConcurrencyError, InvalidEvent, UnknownEventType
from shared.events import DomainEvent, Envelope, EventRegistry
from shared.eventstore import Append, EventStore, LoggedEvent, LogPosition, chain_hash
from tests.integration import sample_events as sample
from tests.integration.sample_events import ACADEMY, ACTOR, Counted, Noted, context, registry

Solo = Callable[[], Awaitable[EventStore]]


@pytest.fixture
async def solo(database_url: str, schema: str, store: EventStore) -> AsyncIterator[Solo]:
    """Makes stores on the same schema, each with its own single connection."""
    pools: list[asyncpg.Pool] = []

    async def make() -> EventStore:
        pools.append(await create_pool(database_url, schema, min_size=1, max_size=1))
        return EventStore(pools[-1], registry())

    yield make
    for pool in pools:
        try:
            await asyncio.wait_for(pool.close(), 10)
        except TimeoutError:  # a failed test left a transaction open
            pool.terminate()


async def test_append_then_read_stream_returns_the_envelopes_in_order(store: EventStore) -> None:
    first, second = context("cand-1"), context("cand-1")
    written = await store.append("counter-1", 0, [Counted(amount=1), Noted(text="a"), Counted(amount=2)], first)
    written += await store.append("counter-1", 3, [Counted(amount=5, label="x")], second)

    read = await store.read_stream("counter-1")

    assert read == written
    assert [e.stream_version for e in read] == [1, 2, 3, 4]
    assert [e.payload for e in read] == [Counted(amount=1), Noted(text="a"), Counted(amount=2), written[3].payload]
    assert [e.event_type for e in read] == ["Counted", "Noted", "Counted", "Counted"]
    assert len({e.event_id for e in read}) == 4
    assert all(
        (e.stream_id, e.academy, e.actor, e.candidate_id) == ("counter-1", ACADEMY, ACTOR, "cand-1") for e in read
    )
    assert [e.correlation_id for e in read] == [first.correlation_id] * 3 + [second.correlation_id]
    assert all(e.occurred_at == first.occurred_at and e.recorded_at.tzinfo is not None for e in read)
    assert read[0].recorded_at == read[2].recorded_at <= read[3].recorded_at
    assert await store.read_stream("counter-1", after_version=2) == written[2:]
    assert await store.read_stream("nothing-here") == []


async def test_an_append_is_all_or_none(store: EventStore) -> None:
    before = await store.append("counter-1", 0, [Counted(amount=1)], context())

    async def fail_after_insert(connection: Connection) -> None:
        assert await connection.fetchval("SELECT count(*) FROM events WHERE stream_id = 'counter-1'") == 4
        raise RuntimeError("the extra write failed")

    with pytest.raises(RuntimeError, match="extra write failed"):
        await store.append("counter-1", 1, [Counted(amount=2)] * 3, context(), extra=fail_after_insert)

    assert await store.read_stream("counter-1") == before
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 1
    assert [e.envelope for e in await store.read_log(LogPosition.start())] == before


async def test_a_wrong_expected_version_is_refused_and_writes_nothing(store: EventStore) -> None:
    await store.append("counter-1", 0, [Counted(amount=1), Counted(amount=2)], context())

    for expected in (0, 1, 3):
        with pytest.raises(ConcurrencyError, match="version 2"):
            await store.append("counter-1", expected, [Counted(amount=9)], context())
    with pytest.raises(ConcurrencyError):
        await store.append("new-stream", 1, [Counted(amount=9)], context())

    assert [e.payload for e in await store.read_stream("counter-1")] == [Counted(amount=1), Counted(amount=2)]
    assert await store.pool.fetchval("SELECT count(*) FROM events") == 2


async def test_two_writers_racing_on_one_version_one_wins_the_other_gets_a_concurrency_error(
    store: EventStore, solo: Solo
) -> None:
    await store.append("race", 0, [Counted(amount=0)], context())
    store_a, store_b = await solo(), await solo()
    pid_b = await store_b.pool.fetchval("SELECT pg_backend_pid()")
    inserted, release = asyncio.Event(), asyncio.Event()
    hold = sample.hold_until(inserted, release)

    task_a = asyncio.create_task(store_a.append("race", 1, [Counted(amount=10)], context(), extra=hold))
    try:
        await asyncio.wait_for(inserted.wait(), 10)
        # B read version 1 as well (A has not committed) and now waits on A's row of version 2.
        task_b = asyncio.create_task(store_b.append("race", 1, [Counted(amount=20)], context()))
        deadline = time.monotonic() + 10
        while await store.pool.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid_b) != "Lock":
            assert time.monotonic() < deadline, "writer B never blocked on writer A's insert"
            await asyncio.sleep(0.01)
    finally:
        release.set()
    won, lost = await asyncio.gather(task_a, task_b, return_exceptions=True)

    assert isinstance(won, list)
    assert isinstance(lost, ConcurrencyError), lost
    assert [e.payload for e in await store.read_stream("race")] == [Counted(amount=0), Counted(amount=10)]


async def test_of_eight_concurrent_appends_with_the_same_expected_version_exactly_one_wins(
    store: EventStore, solo: Solo
) -> None:
    stores = [await solo() for _ in range(8)]

    async def slow(_: Connection) -> None:
        await asyncio.sleep(0.05)

    results = await asyncio.gather(
        *(
            s.append("race", 0, [Counted(amount=n), Counted(amount=n)], context(), extra=slow)
            for n, s in enumerate(stores)
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, list)]
    assert len(winners) == 1, results
    assert all(isinstance(r, ConcurrencyError) for r in results if not isinstance(r, list)), results
    assert await store.read_stream("race") == winners[0]


async def test_an_unknown_event_type_is_refused_by_the_registry(store: EventStore) -> None:
    await store.append("counter-1", 0, [Counted(amount=1)], context())

    with pytest.raises(UnknownEventType, match="Counted"):
        await EventStore(store.pool, EventRegistry([Noted])).read_stream("counter-1")


async def test_an_invalid_stored_payload_is_an_invalid_event(store: EventStore) -> None:
    await store.append("counter-1", 0, [Counted(amount=1)], context())
    await store.pool.execute("""UPDATE events SET payload = '{"amount": "lots"}' WHERE stream_id = 'counter-1'""")

    with pytest.raises(InvalidEvent, match="amount"):
        await store.read_stream("counter-1")


class NotedV2(DomainEvent):
    event_type: ClassVar[str] = "Noted"
    schema_version: ClassVar[int] = 2

    body: str
    language: str


async def test_an_upcaster_reads_an_old_schema_version(store: EventStore) -> None:
    await store.append("notes", 0, [Noted(text="bonjour")], context("cand-1"))  # written by the v1 code
    v2 = EventRegistry([Counted, NotedV2])
    v2.register_upcaster("Noted", 1, lambda old: {"body": old["text"], "language": "fr"})
    store_v2 = EventStore(store.pool, v2)

    (read,) = await store_v2.read_stream("notes")
    # The global log shows an event once every transaction older than its own has ended, on the
    # whole server (DESIGN rule 4): other tests' transactions may hold it back for a moment.
    deadline = time.monotonic() + 30
    while not (log := await store_v2.read_log(LogPosition.start())):
        assert time.monotonic() < deadline, "read_log still hides the event after 30 s"
        await asyncio.sleep(0.05)
    (logged,) = log

    assert read.payload == NotedV2(body="bonjour", language="fr")
    assert logged.envelope == read
    # What the relay publishes from it is readable by a consumer with the same registry.
    assert v2.decode_envelope(read.to_json()) == read
    assert read.schema_version == 2
    with pytest.raises(InvalidEvent, match="newer"):  # the v1 code cannot read what v2 publishes
        registry().decode_envelope(read.to_json())


# --- tail safety (DESIGN rule 4) ---------------------------------------------------------------

WRITERS, APPENDS, STREAMS = 16, 250, 64


async def write(store: EventStore, seed: int, committed: list[Envelope], stats: Counter[str]) -> None:
    rng = random.Random(seed)
    for n in range(APPENDS):
        stream = f"s-{rng.randrange(STREAMS)}"
        version = await store.pool.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream
        )
        events = [Counted(amount=n, label=f"w{seed}") for _ in range(rng.randint(1, 3))]
        extra = sample.hold_then(rng.uniform(0, 0.02), rng.random() < 0.1)
        try:
            committed.extend(await store.append(stream, version, events, context(stream), extra=extra))
            stats["committed appends"] += 1
        except sample.Rollback:
            stats["rolled back"] += 1
        except ConcurrencyError:
            stats["conflicts"] += 1


async def tail(store: EventStore, done: asyncio.Event, seen: list[LoggedEvent]) -> None:
    cursor = LogPosition.start()
    deadline = None
    below_horizon = False
    while True:
        batch = await store.read_log(cursor, limit=50)
        if batch:
            seen.extend(batch)
            cursor = batch[-1].position
        elif done.is_set():
            # Drained once a read finds nothing after every row ever written was seen to lie below
            # the in-flight horizon (a read before that check may have run while the last writes
            # were still in flight).
            if below_horizon:
                return
            below_horizon = not await store.pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM events WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot()))"
            )
            if below_horizon:
                continue
            deadline = deadline or time.monotonic() + 30
            assert time.monotonic() < deadline, "the horizon stayed below the last writes for 30 s"
        await asyncio.sleep(0 if batch else 0.002)


async def naive_tail(pool: asyncpg.Pool, done: asyncio.Event, seen: list[UUID]) -> None:
    last = 0
    while True:
        rows = await pool.fetch(
            "SELECT position, event_id FROM events WHERE position > $1 ORDER BY position LIMIT 50", last
        )
        if rows:
            seen.extend(row["event_id"] for row in rows)
            last = rows[-1]["position"]
        elif done.is_set():
            return
        await asyncio.sleep(0 if rows else 0.002)


async def test_a_tailing_reader_sees_every_committed_event_once_under_concurrent_writers(
    store: EventStore, solo: Solo
) -> None:
    writers = [await solo() for _ in range(WRITERS)]
    reader, naive = await solo(), await solo()
    committed: list[Envelope] = []
    stats: Counter[str] = Counter()
    seen: list[LoggedEvent] = []
    naive_seen: list[UUID] = []
    done = asyncio.Event()
    started = time.monotonic()
    readers = asyncio.gather(tail(reader, done, seen), naive_tail(naive.pool, done, naive_seen))

    await asyncio.gather(*(write(w, seed, committed, stats) for seed, w in enumerate(writers)))
    done.set()
    await asyncio.wait_for(readers, 60)

    committed_ids = {e.event_id for e in committed}
    seen_ids = [e.envelope.event_id for e in seen]
    print(
        f"\n{dict(stats)}, {len(committed)} events committed, read in {time.monotonic() - started:.1f} s;"
        f" the naive reader missed {len(committed_ids - set(naive_seen))}"
    )
    assert stats["rolled back"] > 0 and len(committed) >= 3000, stats
    assert len(seen_ids) == len(set(seen_ids)), "the reader saw an event twice"
    assert set(seen_ids) == committed_ids, (len(committed_ids - set(seen_ids)), len(set(seen_ids) - committed_ids))
    assert await store.pool.fetchval("SELECT count(*) FROM events") == len(committed)
    assert [e.position for e in seen] == sorted(e.position for e in seen)
    versions: dict[str, list[int]] = defaultdict(list)
    for e in seen:
        versions[e.envelope.stream_id].append(e.envelope.stream_version)
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values()), versions
    # Negative control: the same run read naively skips events committed out of order.
    assert committed_ids - set(naive_seen), "the naive reader skipped nothing: the run did not interleave commits"
    assert set(naive_seen) <= committed_ids


async def test_a_naive_reader_skips_an_earlier_position_committed_later_but_read_log_does_not(
    store: EventStore, solo: Solo
) -> None:
    store_a, store_b = await solo(), await solo()
    inserted, release = asyncio.Event(), asyncio.Event()
    hold = sample.hold_until(inserted, release)

    task_a = asyncio.create_task(store_a.append("a", 0, [Counted(amount=1)], context(), extra=hold))
    try:
        await asyncio.wait_for(inserted.wait(), 10)  # A holds the lower position, uncommitted
        (b,) = await store_b.append("b", 0, [Counted(amount=2)], context())  # B commits first
        naive = [r["event_id"] for r in await store.pool.fetch("SELECT event_id FROM events WHERE position > 0")]
        last = await store.pool.fetchval("SELECT max(position) FROM events")
        assert naive == [b.event_id]
        assert await store.read_log(LogPosition.start()) == [], "read_log returned B while A was in flight"
    finally:
        release.set()
    (a,) = await task_a

    assert await store.pool.fetch("SELECT event_id FROM events WHERE position > $1", last) == []  # A is lost
    deadline = time.monotonic() + 10
    while len(logged := await store.read_log(LogPosition.start())) < 2:
        assert time.monotonic() < deadline, f"read_log still returns {logged} after 10 s"
        await asyncio.sleep(0.01)
    assert [e.envelope.event_id for e in logged] == [a.event_id, b.event_id]


async def test_append_many_writes_every_stream_or_none(store: EventStore) -> None:
    """A jury's file spans many candidates: all its streams are written in one transaction, or none."""
    await store.append("s-b", 0, [Counted(amount=1)], context())
    good = Append("s-a", 0, (Counted(amount=2),), context())
    stale = Append("s-b", 0, (Counted(amount=3),), context())  # s-b is at version 1: a conflict
    with pytest.raises(ConcurrencyError):
        await store.append_many([good, stale])
    assert await store.read_stream("s-a") == []
    assert len(await store.read_stream("s-b")) == 1

    written = await store.append_many([good, Append("s-b", 1, (Counted(amount=3), Counted(amount=4)), context())])
    assert [len(envelopes) for envelopes in written] == [1, 2]
    assert [e.stream_version for e in await store.read_stream("s-b")] == [1, 2, 3]
    assert [e.stream_version for e in await store.read_stream("s-a")] == [1]


async def test_the_stored_form_recomputes_the_hash_chain_recorded_at_append(store: EventStore) -> None:
    """Tamper evidence: each event's hash covers its stored JSON and the previous hash of its stream."""
    await store.append("s-1", 0, [Counted(amount=1), Noted(text="é")], context("c"))
    await store.append("s-1", 2, [Counted(amount=3)], context("c"))
    logged = await store.read_log(LogPosition.start())
    previous = b""
    for event in logged:
        assert event.stored.to_json() == event.envelope.to_json()  # no upcasting here: the same bytes
        previous = chain_hash(previous, event.stored)
        assert previous == event.hash
    await store.pool.execute("UPDATE events SET payload = '{\"amount\": 2}' WHERE stream_version = 1")
    tampered = (await store.read_log(LogPosition.start()))[0]
    assert chain_hash(b"", tampered.stored) != tampered.hash
