"""Shared fixtures. Integration and e2e tests use the real servers: DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS when set, else the local ones that `archipel infra up` started (make test
starts them). Each test gets its own schema and topic names, so tests never see each other's data."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.db import drop_schema
from shared.dead_letter import dead_letter_topic
from shared.infra.acls import deployment_grants, grant, revoke
from shared.infra.topics import ensure_topics
from shared.kafka import ADMIN, KafkaAccess, kafka_access
from shared.settings import SERVICES, Settings
from shared.token_keys import ensure_keys

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The folder decides the tier marker, so `-m unit` runs exactly tests/unit."""
    for item in items:
        tier = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        if tier in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """ARCHIPEL_HOME (make test sets .archipel/test), else the repository's .archipel."""
    return Settings() if os.environ.get("ARCHIPEL_HOME") else Settings(home=ROOT / ".archipel")


@pytest.fixture(scope="session")
def database_url(base_settings: Settings) -> str:
    return base_settings.resolved_database_url()


@pytest.fixture(scope="session")
def kafka_admin(base_settings: Settings) -> KafkaAccess:
    """The admin's access to the cluster: what the tests' own clients (topics, producers,
    readers) connect as. The services under test connect as their own principals."""
    return kafka_access(base_settings, ADMIN)


def derived_settings(base: Settings, **update: object) -> Settings:
    """`base` with `update`, and with base's Kafka security and secrets whatever the home."""
    kafka = {"kafka_security_protocol": base.resolved_kafka_security(), "secrets_dir": base.secrets_path()}
    return base.model_copy(update={**kafka, **update})


@contextmanager
def kafka_grants(base: Settings, settings: Settings) -> Iterator[None]:
    """The ACLs of the deployment of `settings` (its topic and group prefixes: the same rules as
    `archipel infra up` gives the base deployment), removed afterwards but for the base's own."""
    admin = kafka_access(base, ADMIN)
    if not admin.sasl:
        yield
        return
    kept = set(deployment_grants(base))
    own = [g for g in deployment_grants(settings) if g not in kept]
    grant(admin, own)
    try:
        yield
    finally:
        revoke(admin, own)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def schema(database_url: str, unique: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    name = f"t_{unique}"
    yield name
    await drop_schema(database_url, name)


@pytest.fixture
async def isolated_settings(
    base_settings: Settings, database_url: str, kafka_admin: KafkaAccess, unique: str, tmp_path: Path
) -> AsyncIterator[Settings]:
    """Settings of a whole Archipel isolated from other tests: own schemas, topics, home, and the
    services' Kafka ACLs on its own topics and groups."""
    settings = derived_settings(
        base_settings,
        **{
            "database_url": database_url,
            "kafka_bootstrap_servers": kafka_admin.bootstrap_servers,
            "topic_prefix": f"t{unique}",
            "db_schema_prefix": f"t{unique}_",
            "home": tmp_path / "home",
            "kafka_partitions": 3,
        },
    )
    ensure_keys(settings.signing_key_path().parent)  # the token keys of this home (tests.tokens)
    topics = [*(settings.topic(name) for name in SERVICES), dead_letter_topic(settings.topic_prefix)]
    await asyncio.to_thread(ensure_topics, kafka_admin, topics, 3)
    with kafka_grants(base_settings, settings):
        yield settings
    for name in SERVICES:
        await drop_schema(database_url, settings.db_schema(name))


def env_of(settings: Settings) -> dict[str, str]:
    """Environment variables that make a child process use `settings`."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.resolved_database_url(),
            "KAFKA_BOOTSTRAP_SERVERS": settings.resolved_kafka(),
            "ARCHIPEL_TOPIC_PREFIX": settings.topic_prefix,
            "ARCHIPEL_DB_SCHEMA_PREFIX": settings.db_schema_prefix,
            "ARCHIPEL_HOME": str(settings.home),
            "ARCHIPEL_KAFKA_SECURITY_PROTOCOL": settings.resolved_kafka_security(),
            "ARCHIPEL_SECRETS_DIR": str(settings.secrets_path()),
            "ARCHIPEL_GRPC_PORT_BASE": str(settings.grpc_port_base),
        }
    )
    env["ARCHIPEL_GRPC_SECURITY"] = settings.grpc_security
    if settings.smtp_host:
        env["SMTP_HOST"] = settings.smtp_host
        env["SMTP_PORT"] = str(settings.smtp_port)
    if settings.smtp_ca_file:
        env["ARCHIPEL_SMTP_CA_FILE"] = str(settings.smtp_ca_file)
    return env
