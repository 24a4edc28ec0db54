"""Peer b (Kafka): the raw limits with kafka-python, the client Archipel uses: the same messages
(value, key, headers, as the relay publishes them) produced with the same producer settings (acks=all,
idempotent) to fresh topics of the same partition count, then consumed from the first offset."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench.common import SERVICES, Config, Recorder, Sandbox
from shared.eventstore import EventStore, LogPosition
from shared.kafka import Headers, consumer_config, headers_for, producer_config

Message = tuple[str, bytes, bytes, Headers]


async def messages(stores: dict[str, EventStore], topics: dict[str, str]) -> list[Message]:
    """What the relays published, rebuilt from the stores (not timed)."""
    out: list[Message] = []
    for service, store in stores.items():
        async for logged in store.tail(LogPosition.start(), 1000):
            envelope = logged.envelope
            out.append(
                (topics[service], envelope.to_json(), envelope.partition_key.encode(), headers_for(envelope, {}))
            )
    return out


def _produce(config: Config, batch: Sequence[Message]) -> float:
    producer = KafkaProducer(**producer_config(config.kafka))
    try:
        started = time.perf_counter()
        futures = [producer.send(topic, value=value, key=key, headers=headers) for topic, value, key, headers in batch]
        producer.flush(60)
        for future in futures:
            future.get(timeout=60)
        return time.perf_counter() - started
    finally:
        producer.close(10)


def _consume(config: Config, topics: Sequence[str], expected: int) -> float:
    consumer = KafkaConsumer(**consumer_config(config.kafka))
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        started, read = time.perf_counter(), 0
        deadline = started + 120
        while read < expected and time.perf_counter() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=2000).values():
                read += len(records)
        return time.perf_counter() - started
    finally:
        consumer.close()


async def measure(config: Config, rec: Recorder, box: Sandbox, stores: dict[str, EventStore]) -> dict[str, float]:
    names = await box.topics([f"raw{s}" for s in SERVICES])
    batch = await messages(stores, dict(zip(SERVICES, names, strict=True)))
    produced = await asyncio.to_thread(_produce, config, batch)
    consumed = await asyncio.to_thread(_consume, config, names, len(batch))
    rates = {"produce": len(batch) / produced, "consume": len(batch) / consumed}
    rec.put(
        "raw_kafka",
        messages=len(batch),
        produce_events_per_s=round(rates["produce"], 1),
        consume_events_per_s=round(rates["consume"], 1),
    )
    rec.say(f"raw kafka-python: produce {rates['produce']:,.0f} msg/s, consume {rates['consume']:,.0f} msg/s")
    return rates
