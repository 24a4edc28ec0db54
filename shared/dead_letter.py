"""The dead-letter topic `<prefix>.dead-letter` (issues 13 and 17): where a consumer parks a record
it will not apply, with the reason, instead of skipping it silently. A parked record keeps its
value, key and headers, and gains headers naming where it was read and why it was parked:
`dead_letter.topic`, `dead_letter.partition`, `dead_letter.offset`, `dead_letter.consumer` (the
projection) and `dead_letter.reason`. Each parked record is also logged on one line.

Records are parked before the consumer commits (its read model's transaction, then its offsets):
a failure to park fails the batch, which Kafka delivers again, so no parked record is lost (it may
be parked twice)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from shared.kafka import KafkaAccess

log = logging.getLogger(__name__)

HEADER = "dead_letter."
MAX_REASON = 500  # a reason quoting a hostile value stays bounded


def dead_letter_topic(prefix: str) -> str:
    """The dead-letter topic of a deployment whose topics are `<prefix>.<service>.events`."""
    return f"{prefix}.dead-letter"


@dataclass(frozen=True)
class Source:
    """Where a record was read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None


@dataclass(frozen=True)
class Parked:
    value: bytes
    headers: Mapping[str, str]
    source: Source | None  # None: handed in-process, not read from Kafka
    consumer: str
    reason: str

    def dead_letter_headers(self) -> list[tuple[str, bytes]]:
        kept = [(key, value.encode()) for key, value in self.headers.items() if not key.startswith(HEADER)]
        source = self.source
        return [
            *kept,
            (f"{HEADER}topic", (source.topic if source else "").encode()),
            (f"{HEADER}partition", str(source.partition if source else -1).encode()),
            (f"{HEADER}offset", str(source.offset if source else -1).encode()),
            (f"{HEADER}consumer", self.consumer.encode()),
            (f"{HEADER}reason", self.reason[:MAX_REASON].encode()),
        ]


def log_parked(parked: Parked) -> None:
    source = parked.source
    log.error(
        "parked a record: topic=%s partition=%s offset=%s projection=%s reason=%s",
        source.topic if source else "-",
        source.partition if source else "-",
        source.offset if source else "-",
        parked.consumer,
        parked.reason[:MAX_REASON],
    )


class DeadLetters(Protocol):
    async def park(self, records: Sequence[Parked]) -> None: ...


class LogOnly:
    """No topic (a consumer fed in-process): parked records are only logged."""

    async def park(self, records: Sequence[Parked]) -> None:
        return None


class KafkaDeadLetters:
    """Parks on a topic with a producer of its own, started at the first parked record."""

    def __init__(self, access: KafkaAccess, topic: str) -> None:
        self.topic = topic
        self._access = access
        self._producer: AIOKafkaProducer | None = None

    async def park(self, records: Sequence[Parked]) -> None:
        if not records:
            return
        if self._producer is None:
            producer = AIOKafkaProducer(**self._access.aiokafka(), acks="all")
            await producer.start()
            self._producer = producer
        sent = [
            await self._producer.send(
                self.topic, value=r.value, key=r.source.key if r.source else None, headers=r.dead_letter_headers()
            )
            for r in records
        ]
        await asyncio.gather(*sent)

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


class BrokerDeadLetters:
    """Parks through a started FastStream broker (a service's projections process)."""

    def __init__(self, broker: Any, topic: str) -> None:
        self.topic = topic
        self._broker = broker

    async def park(self, records: Sequence[Parked]) -> None:
        for r in records:
            headers = {key: value.decode() for key, value in r.dead_letter_headers()}
            key = r.source.key if r.source else None
            await self._broker.publish(r.value, topic=self.topic, key=key, headers=headers)
