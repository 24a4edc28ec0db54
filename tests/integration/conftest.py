"""Fixtures of the integration tier: a migrated event store in a fresh schema (with the sample
CounterTotals read model's table), and a Kafka producer configured as the relays' are."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kafka import KafkaProducer

from shared.eventstore import EventStore
from shared.kafka import KafkaAccess, producer_config
from tests.integration.sample_events import CounterTotals, open_store


@pytest.fixture
async def store(database_url: str, schema: str) -> AsyncIterator[EventStore]:
    store = await open_store(database_url, schema, *CounterTotals.migrations)
    yield store
    await store.pool.close()


@pytest.fixture
async def producer(kafka_admin: KafkaAccess) -> AsyncIterator[KafkaProducer]:
    producer = KafkaProducer(**producer_config(kafka_admin))
    yield producer
    await asyncio.to_thread(producer.close, 10)
