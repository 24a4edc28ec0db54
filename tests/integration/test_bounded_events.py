"""No record can block a relay (issue 13): the store refuses an event over its bound before anything
is written, and a relay that meets a record the broker will not take (here a real topic whose
max.message.bytes is small) says so, counts it and publishes the events after it."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from kafka import KafkaProducer
from kafka.admin import NewTopic

from shared.errors import InvalidInput
from shared.eventstore import MAX_EVENT_BYTES, Append, EventStore
from shared.infra.topics import admin_client
from shared.kafka import KafkaAccess, producer_config
from shared.relay import Relay
from tests.integration.sample_events import Counted, Noted, context, read_topic


async def count(store: EventStore) -> int:
    return int(await store.pool.fetchval("SELECT count(*) FROM events"))


async def test_an_event_over_the_bound_is_refused_naming_its_type_and_size_and_nothing_is_written(
    store: EventStore,
) -> None:
    await store.append("counter-1", 0, [Counted(amount=1)], context())
    too_big = Noted(text="x" * MAX_EVENT_BYTES)

    with pytest.raises(InvalidInput) as caught:
        await store.append("counter-1", 1, [Counted(amount=2), too_big], context())
    assert caught.value.field == "Noted"
    assert f"over the store's bound of {MAX_EVENT_BYTES:,}" in caught.value.reason
    size = int(caught.value.reason.split(" bytes")[0].rsplit(" ", 1)[-1].replace(",", ""))
    assert MAX_EVENT_BYTES < size < MAX_EVENT_BYTES + 2048
    assert len(caught.value.message) < 200

    with pytest.raises(InvalidInput):  # several streams: none is written
        await store.append_many(
            [
                Append("counter-2", 0, (Counted(amount=1),), context()),
                Append("counter-3", 0, (too_big,), context()),
            ]
        )
    assert await count(store) == 1

    fits = Noted(text="x" * (MAX_EVENT_BYTES - 2048))
    await store.append("counter-1", 1, [fits], context())
    assert [e.payload for e in await store.read_stream("counter-1")][-1] == fits


@pytest.fixture
async def small_topic(kafka_admin: KafkaAccess, unique: str) -> str:
    """A real topic that takes no record over 4 KiB (max.message.bytes), one partition."""
    name = f"t{unique}.small.events"

    def create() -> None:
        with admin_client(kafka_admin) as admin:
            admin.create_topics([NewTopic(name, 1, 1, topic_configs={"max.message.bytes": "4096"})])

    await asyncio.to_thread(create)
    return name


async def test_a_record_the_broker_refuses_is_said_counted_and_passed_over(
    store: EventStore,
    kafka_admin: KafkaAccess,
    small_topic: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = await store.append("counter-1", 0, [Counted(amount=1), Noted(text="small")], context("cand-1"))
    [big] = await store.append("counter-1", 2, [Noted(text="x" * 20_000)], context("cand-1"))
    after = await store.append("counter-1", 3, [Counted(amount=2)], context("cand-1"))

    def new_producer() -> KafkaProducer:
        return KafkaProducer(**producer_config(kafka_admin))

    relay = Relay(store, new_producer(), small_topic, name="small-relay", send_timeout=30, renew=new_producer)

    with caplog.at_level(logging.ERROR, logger="shared.relay"):
        assert await relay.publish_batch() == 4  # the batch is done: the relay does not stop there
    assert await relay.publish_batch() == 0  # and its checkpoint is past the refused record

    assert relay.unpublishable == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "shared.relay"]
    for part in (str(big.event_id), "stream counter-1 version 3", "Noted", small_topic, "MessageSizeTooLarge"):
        assert part in line, (part, line)
    published = [json.loads(r.value)["event_id"] for r in await asyncio.to_thread(read_topic, kafka_admin, small_topic)]
    expected = [str(e.event_id) for e in (*before, *after)]
    assert list(dict.fromkeys(published)) == expected  # in order; a record published twice is allowed

    [later] = await store.append("counter-1", 4, [Counted(amount=3)], context("cand-1"))
    assert await relay.publish_batch() == 1
    records = await asyncio.to_thread(read_topic, kafka_admin, small_topic)
    assert json.loads(records[-1].value)["event_id"] == str(later.event_id)
    assert relay.unpublishable == 1
    await asyncio.to_thread(relay.producer.close, 10)
