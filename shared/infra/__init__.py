"""Local infrastructure for development and tests: a real PostgreSQL server and a real single-node
Kafka broker (KRaft) under `settings.home`, or the external ones named by DATABASE_URL /
KAFKA_BOOTSTRAP_SERVERS. Nothing here does I/O at import time."""

from __future__ import annotations

from shared.infra.manager import Endpoints, ServerStatus, down, status, up
from shared.infra.process import InfraError
from shared.infra.topics import TopicInfo, describe_topic, ensure_topics

__all__ = [
    "Endpoints",
    "InfraError",
    "ServerStatus",
    "TopicInfo",
    "describe_topic",
    "down",
    "ensure_topics",
    "status",
    "up",
]
