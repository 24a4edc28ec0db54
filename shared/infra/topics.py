"""Kafka topics of Archipel (DESIGN rule 6): unlimited retention, a fixed partition count, created
explicitly (the local broker does not auto-create topics)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from shared.dead_letter import dead_letter_topic
from shared.infra.process import InfraError
from shared.kafka import KafkaAccess

UNLIMITED_RETENTION = {"retention.ms": "-1", "retention.bytes": "-1"}
_TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code
_MAX_REPLICATION = 3


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str]


@contextmanager
def admin_client(access: KafkaAccess, timeout: float = 15.0) -> Iterator[KafkaAdminClient]:
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    bootstrap = access.bootstrap_servers
    try:
        admin = KafkaAdminClient(
            **access.kafka_python(),
            bootstrap_timeout_ms=int(timeout * 1000),
            request_timeout_ms=int(timeout * 1000),
            client_id="archipel-infra",
        )
    except KafkaError as error:
        raise InfraError(f"Kafka at {bootstrap} does not answer: {error!r}") from error
    try:
        yield admin
    finally:
        admin.close()


def ensure_topics(
    access: KafkaAccess, topics: Sequence[str], partitions: int, replication_factor: int | None = None
) -> None:
    """Create the missing `topics` with `partitions` partitions and unlimited retention, and wait
    until every partition has a leader. Topics that already exist are left as they are.
    The replication factor defaults to min(3, number of brokers). With the event topics of a
    deployment (`<prefix>.<service>.events`) comes its dead-letter topic (`<prefix>.dead-letter`,
    shared.dead_letter), where consumers park the records they will not apply."""
    if not topics:
        return
    topics = with_dead_letters(topics)
    bootstrap = access.bootstrap_servers
    with admin_client(access) as admin:
        if replication_factor is None:
            brokers = len(admin.describe_cluster().get("brokers") or [])
            replication_factor = max(1, min(_MAX_REPLICATION, brokers))
        wanted = {
            name: {
                "num_partitions": partitions,
                "replication_factor": replication_factor,
                "configs": dict(UNLIMITED_RETENTION),
            }
            for name in topics
        }
        try:
            response: dict[str, Any] = admin.create_topics(wanted, timeout_ms=30_000, raise_errors=False)
            failures = [
                f"{topic['name']}: {topic.get('error_message') or topic['error_code']}"
                for topic in response.get("topics", [])
                if topic.get("error_code") not in (0, _TOPIC_ALREADY_EXISTS)
            ]
            if failures:
                raise InfraError(f"cannot create Kafka topics on {bootstrap}: {'; '.join(failures)}")
            admin.wait_for_topics(list(topics), timeout_ms=30_000)
        except KafkaError as error:
            raise InfraError(f"cannot create Kafka topics on {bootstrap}: {error!r}") from error


def with_dead_letters(topics: Sequence[str]) -> list[str]:
    """`topics`, and the dead-letter topic of each prefix of event topics among them."""
    prefixes = [name.rsplit(".", 2)[0] for name in topics if name.endswith(".events") and name.count(".") >= 2]
    extra = [dead_letter_topic(prefix) for prefix in dict.fromkeys(prefixes)]
    return [*topics, *(name for name in extra if name not in topics)]


def describe_topic(access: KafkaAccess, topic: str) -> TopicInfo:
    """Partition count, replication factor and effective configuration of one topic."""
    bootstrap = access.bootstrap_servers
    with admin_client(access) as admin:
        try:
            (description,) = admin.describe_topics([topic])
            if description.get("error_code", 0) != 0:
                raise InfraError(f"no topic {topic!r} on {bootstrap} (error {description['error_code']})")
            resource = ConfigResource(ConfigResourceType.TOPIC, topic)
            configs = admin.describe_configs([resource], config_filter="all")
        except KafkaError as error:
            raise InfraError(f"cannot describe topic {topic!r} on {bootstrap}: {error!r}") from error
    partitions = description.get("partitions") or []
    entries: dict[str, Any] = configs["topic"][topic]
    return TopicInfo(
        name=topic,
        partitions=len(partitions),
        replication_factor=max((len(p.get("replica_nodes") or []) for p in partitions), default=0),
        config={key: str(value.get("value") if isinstance(value, dict) else value) for key, value in entries.items()},
    )
