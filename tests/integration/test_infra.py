"""`archipel infra up` against the real servers: both answer, the service topics exist with
unlimited retention and the configured partition count, and ensure_topics is idempotent."""

from __future__ import annotations

import uuid

import pytest

from shared.infra import describe_topic, ensure_topics, status, up
from shared.kafka import ADMIN, kafka_access
from shared.settings import SERVICES, Settings
from shared.token_keys import load_key_set, load_signing_key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings() -> Settings:
    settings = Settings()
    up(settings)  # idempotent: fast when `archipel infra up` already ran
    return settings


def test_status_reports_both_servers_answering(settings: Settings) -> None:
    servers = {server.name: server for server in status(settings)}

    assert set(servers) == {"postgres", "kafka"}
    assert all(server.answers for server in servers.values()), servers
    assert servers["postgres"].endpoint == settings.resolved_database_url()
    assert servers["kafka"].endpoint == settings.resolved_kafka()


def test_a_second_up_is_idempotent_and_records_the_endpoints(settings: Settings) -> None:
    found = up(settings)

    assert found.database_url == settings.resolved_database_url()
    assert found.kafka_bootstrap_servers == settings.resolved_kafka()
    keys = settings.signing_key_path()
    assert keys.stat().st_mode & 0o777 == 0o600  # the accounts service's only
    assert load_signing_key(keys).kid in load_key_set(settings.token_keys_path()).keys


@pytest.mark.parametrize("service", SERVICES)
def test_service_topics_keep_events_forever(settings: Settings, service: str) -> None:
    topic = describe_topic(kafka_access(settings, ADMIN), settings.topic(service))

    assert topic.partitions == settings.kafka_partitions
    assert topic.config["retention.ms"] == "-1"
    assert topic.config["retention.bytes"] == "-1"


def test_ensure_topics_creates_a_test_topic_once(settings: Settings) -> None:
    bootstrap = kafka_access(settings, ADMIN)
    name = f"archipel.test-infra-{uuid.uuid4().hex[:8]}.events"

    ensure_topics(bootstrap, [name], partitions=3)
    ensure_topics(bootstrap, [name], partitions=3)  # already exists: no error

    topic = describe_topic(bootstrap, name)
    assert topic.partitions == 3
    assert topic.config["retention.ms"] == "-1"
