"""FastStream subscribers that feed projection runners from Kafka."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.dead_letter import BrokerDeadLetters, Source
from shared.kafka import decode_headers
from shared.projections import ProjectionRunner

log = logging.getLogger(__name__)


BATCH_RECORDS = 500
BATCH_WAIT_MS = 10


def subscribe_projection(
    broker: KafkaBroker,
    runner: ProjectionRunner,
    topics: Sequence[str],
    group_prefix: str = "",
    dead_letter_topic: str | None = None,
) -> None:
    """One consumer group per projection, from the first offset. Records come in batches applied in
    one read-model transaction; the offsets are committed after it, and a failure (database down...)
    rewinds the batch so Kafka delivers it again (the stream versions make that harmless).
    `group_prefix` keeps deployments that share a cluster (tests, a second campaign) apart.
    Records the runner parks go to `dead_letter_topic` through this broker (else only logged)."""
    if dead_letter_topic is not None:
        runner.dead_letters = BrokerDeadLetters(broker, dead_letter_topic)

    @broker.subscriber(
        *topics,
        group_id=f"{group_prefix}{runner.projection.name}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=BATCH_RECORDS,
        batch_timeout_ms=BATCH_WAIT_MS,
    )
    async def on_batch(message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        await runner.handle_records(
            [
                (
                    record.value,
                    decode_headers(record.headers),
                    Source(record.topic, record.partition, record.offset, record.key),
                )
                for record in records
            ]
        )
