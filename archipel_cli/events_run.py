"""The handler of `archipel events read` (the parser is in archipel_cli/events.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from archipel_cli.readers import reading
from archipel_cli.runtime import settings
from shared.auth import READERS, Principal
from shared.kafka import AUDITOR, kafka_access
from shared.settings import Settings


def _records(config: Settings, topic: str) -> list[Any] | None:
    """Every record of `topic` up to the end offsets seen now, read as the auditors' principal (read
    only); None when the topic does not exist."""
    consumer = KafkaConsumer(**kafka_access(config, AUDITOR).kafka_python(), enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return None
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = {tp: offset for tp, offset in consumer.end_offsets(partitions).items() if offset > 0}
        records = []
        while end:
            for tp, batch in consumer.poll(timeout_ms=1000).items():
                for record in batch:
                    if record.offset < end.get(tp, 0):
                        records.append(record)
            end = {tp: offset for tp, offset in end.items() if consumer.position(tp) < offset}
        return records
    finally:
        consumer.close()


def _body(value: bytes) -> dict[str, object] | None:
    try:
        body = json.loads(value)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@reading(READERS, lambda arguments: [arguments.service])
def read(arguments: argparse.Namespace, principal: Principal) -> int:
    config = settings()
    topic = config.topic(arguments.service)
    records = _records(config, topic)
    if records is None:
        print(f"error: no topic {topic}", file=sys.stderr)
        return 1
    wanted_key = arguments.candidate.encode() if arguments.candidate else None
    # Only the events of the reader's académie (every académie: a national auditor); a record that is
    # not an event's JSON names no académie and is shown to nobody here (audit verify names it).
    shown = [
        (record, body)
        for record in records
        if (body := _body(record.value)) is not None and principal.reads_academy(str(body.get("academy", "")))
    ]
    # Within a partition the order is the publication order; across partitions, by recorded time.
    for record, body in sorted(
        shown, key=lambda rb: (str(rb[1].get("recorded_at", "")), rb[0].partition, rb[0].offset)
    ):
        if wanted_key is not None and record.key != wanted_key:
            continue
        if arguments.event_type and body.get("event_type") != arguments.event_type:
            continue
        line: dict[str, object] = body
        if arguments.headers:
            line = {
                "partition": record.partition,
                "offset": record.offset,
                "key": (record.key or b"").decode(),
                "headers": {k: (v or b"").decode() for k, v in record.headers},
                "event": body,
            }
        print(json.dumps(line, ensure_ascii=False))
    return 0
