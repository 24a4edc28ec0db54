"""Reading a topic from its first offset with a consumer of the test's own (kafka-python)."""

from __future__ import annotations

import json
import time

from kafka import KafkaConsumer, TopicPartition

from shared.kafka import ADMIN, consumer_config, kafka_access
from shared.settings import Settings


def events_of(
    settings: Settings, topic: str, key: str, wanted: set[str], timeout: float = 30.0
) -> list[dict[str, object]]:
    """Reads the whole topic with a consumer of its own until the wanted event types of `key` are seen."""
    consumer = KafkaConsumer(**consumer_config(kafka_access(settings, ADMIN)))
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found: list[dict[str, object]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if record.key == key.encode():
                        body = json.loads(record.value)
                        headers = {k: v.decode() for k, v in record.headers}
                        assert headers["event_type"] == body["event_type"]
                        assert headers["schema_version"] == str(body["schema_version"])
                        found.append(body)
            if wanted <= {str(event["event_type"]) for event in found}:
                return found
        raise AssertionError(f"only {[e['event_type'] for e in found]} reached {topic} for {key}")
    finally:
        consumer.close()
