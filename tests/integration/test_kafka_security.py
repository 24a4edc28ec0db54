"""Kafka, authenticated and authorized (issue 13), tried as an attacker would on the real broker:
no client gets in without a principal's password over TLS, and each principal does only what its
ACLs allow. `isolated_settings` gives the principals the same rules on the test's own topics as
`archipel infra up` gives them on the deployment's (shared/infra/acls.py); the refusals on
`archipel.*` are those of the deployment itself."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaConnectionError
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from shared.audit.verify import read_records
from shared.dead_letter import dead_letter_topic
from shared.kafka import ADMIN, AUDITOR, KafkaAccess, consumer_config, kafka_access, producer_config
from shared.settings import SERVICES, Settings


@pytest.fixture(autouse=True)
def _secured(base_settings: Settings) -> None:
    assert base_settings.resolved_kafka_security() == "SASL_SSL", "the local broker must be the secured one"


async def _start(access: KafkaAccess) -> None:
    producer = AIOKafkaProducer(**access.aiokafka(), request_timeout_ms=10_000)
    try:
        await producer.start()
    finally:
        await producer.stop()


async def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(
    base_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    genuine = kafka_access(base_settings, "registration")
    await _start(genuine)  # the door opens to the principal's password

    with pytest.raises(KafkaConnectionError):  # no TLS, no SASL: the listener speaks neither
        await _start(KafkaAccess(genuine.bootstrap_servers))
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        await _start(dataclasses.replace(genuine, password="guessed-" + str(genuine.password)[:4]))
    assert "SaslAuthenticationFailed" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        await _start(dataclasses.replace(genuine, username="mallory"))
    assert "SaslAuthenticationFailed" in caplog.text


def _produce(access: KafkaAccess, topic: str, *, idempotent: bool = True) -> None:
    config = producer_config(access) if idempotent else {**access.kafka_python(), "acks": 1}
    producer = KafkaProducer(**config, max_block_ms=20_000)
    try:
        producer.send(topic, value=b"{}", key=b"probe").get(timeout=20)
    finally:
        producer.close(5)


def _end_offsets(access: KafkaAccess, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(**consumer_config(access))
    try:
        return dict(consumer.end_offsets([TopicPartition(topic, 0)]))
    finally:
        consumer.close()


def test_the_registration_principal_cannot_write_the_results_topic(base_settings: Settings) -> None:
    registration = kafka_access(base_settings, "registration")

    with pytest.raises(TopicAuthorizationFailedError):
        _produce(registration, "archipel.results.events")
    with pytest.raises(TopicAuthorizationFailedError):
        _produce(registration, base_settings.topic("results"))


async def test_a_service_writes_its_own_topic_and_reads_only_what_it_consumes(
    isolated_settings: Settings,
) -> None:
    settings = isolated_settings
    registration = kafka_access(settings, "registration")

    await asyncio.to_thread(_produce, registration, settings.topic("registration"))
    await asyncio.to_thread(_produce, registration, dead_letter_topic(settings.topic_prefix))
    with pytest.raises(TopicAuthorizationFailedError):
        await asyncio.to_thread(_produce, registration, settings.topic("results"))
    assert await asyncio.to_thread(_end_offsets, registration, settings.topic("results"))  # it consumes results
    for other in ("documents", "dossier"):  # it consumes neither
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.to_thread(_end_offsets, registration, settings.topic(other))
    with pytest.raises(TopicAuthorizationFailedError):  # nor the deployment's, on another prefix
        await asyncio.to_thread(_end_offsets, registration, "archipel.documents.events")


async def test_a_service_joins_only_its_own_consumer_groups(isolated_settings: Settings) -> None:
    settings = isolated_settings
    registration = kafka_access(settings, "registration")

    async def join(group: str) -> None:
        consumer = AIOKafkaConsumer(
            settings.topic("results"), **registration.aiokafka(), group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            await consumer.getmany(timeout_ms=2000)
        finally:
            await consumer.stop()

    await join(f"{settings.db_schema_prefix}registration_list")
    with pytest.raises(GroupAuthorizationFailedError):
        await join(f"{settings.db_schema_prefix}results_outcomes")


async def test_the_auditor_reads_every_topic_and_writes_none(isolated_settings: Settings) -> None:
    settings = isolated_settings
    admin, auditor = kafka_access(settings, ADMIN), kafka_access(settings, AUDITOR)
    await asyncio.to_thread(_produce, admin, settings.topic("results"))

    for service in SERVICES:
        await asyncio.to_thread(_end_offsets, auditor, settings.topic(service))
    records = await asyncio.to_thread(read_records, auditor, settings.topic("results"))
    assert [value for _, _, value, _ in records] == [b"{}"]
    for topic in (settings.topic("results"), dead_letter_topic(settings.topic_prefix)):
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.to_thread(_produce, auditor, topic, idempotent=False)
        with pytest.raises(KafkaError, match="ClusterAuthorizationFailed"):  # no producer id either
            await asyncio.to_thread(_produce, auditor, topic)
