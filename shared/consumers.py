"""FastStream subscribers that feed projection runners from Kafka."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.errors import InvalidEvent, UnknownEventType
from shared.projections import ProjectionRunner

log = logging.getLogger(__name__)


def subscribe_projection(
    broker: KafkaBroker, runner: ProjectionRunner, topics: Sequence[str], group_prefix: str = ""
) -> None:
    """One consumer group per projection, from the first offset; the offset is committed after the
    read-model transaction, and a failure (database down...) makes Kafka deliver the record again.
    `group_prefix` keeps deployments that share a cluster (tests, a second campaign) apart."""

    @broker.subscriber(
        *topics,
        group_id=f"{group_prefix}{runner.projection.name}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_event(message: KafkaMessage) -> None:
        try:
            await runner.handle_raw(message.body, message.headers)
        except (InvalidEvent, UnknownEventType) as error:
            # A record no version of this code can read: skipping it is the only way forward;
            # it stays in the topic for an auditor's replay.
            log.error("projection %s skipped an unreadable record: %s", runner.projection.name, error)
