"""archipel events read --service S [--candidate ID] [--type T]: the published events of a service's
topic, from its first offset, one JSON object a line (what a downstream consumer sees)."""

from __future__ import annotations

import argparse
import json
import sys

from archipel_cli.common import SERVICES, Subparsers


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("events", help="read the events published on the topics")
    commands = parser.add_subparsers(dest="command", required=True)
    read = commands.add_parser("read", help="a topic's events from the first offset, one JSON a line")
    read.add_argument("--service", required=True, choices=SERVICES)
    read.add_argument("--candidate", help="only this candidate's events (the record key)")
    read.add_argument("--type", dest="event_type", help="only this event type, e.g. RegistrationConfirmed")
    read.add_argument("--headers", action="store_true", help="print the Kafka headers and offset too")
    read.set_defaults(handler=_read)


def _read(arguments: argparse.Namespace) -> int:
    from kafka import KafkaConsumer, TopicPartition  # noqa: PLC0415 (keep `archipel --help` light)

    from archipel_cli.runtime import settings  # noqa: PLC0415
    from shared.kafka import AUDITOR, consumer_config, kafka_access  # noqa: PLC0415

    config = settings()
    topic = config.topic(arguments.service)
    consumer = KafkaConsumer(**consumer_config(kafka_access(config, AUDITOR)))  # reads, writes nothing
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            print(f"error: no topic {topic}", file=sys.stderr)
            return 1
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
    finally:
        consumer.close()
    wanted_key = arguments.candidate.encode() if arguments.candidate else None
    # Within a partition the order is the publication order; across partitions, by recorded time.
    for record in sorted(records, key=lambda r: (json.loads(r.value).get("recorded_at", ""), r.partition, r.offset)):
        body = json.loads(record.value)
        if wanted_key is not None and record.key != wanted_key:
            continue
        if arguments.event_type and body.get("event_type") != arguments.event_type:
            continue
        if arguments.headers:
            body = {
                "partition": record.partition,
                "offset": record.offset,
                "key": (record.key or b"").decode(),
                "headers": {k: (v or b"").decode() for k, v in record.headers},
                "event": body,
            }
        print(json.dumps(body, ensure_ascii=False))
    return 0
