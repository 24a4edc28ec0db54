"""`archipel audit replay` against the real PostgreSQL and Kafka: a live read model fed from the
topic the relay writes is rebuilt identically in a fresh schema; a tampered live row is named."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from kafka import KafkaProducer

from services.accounts.projections import AccountsReadModel
from services.accounts.service import SERVICE as SPEC
from shared.audit.replay import ReplayResult, replay
from shared.db import drop_schema
from shared.kafka import ADMIN, kafka_access
from shared.projections import ProjectionRunner
from shared.relay import Relay
from shared.settings import Settings
from tests.integration.grpc_fixtures import AccountsServer, accounts_server  # noqa: F401 (fixture)
from tests.integration.sample_events import read_topic


async def _live_read_model(accounts: AccountsServer, producer: KafkaProducer) -> str:
    """Three accounts (one activated) relayed to the topic and applied from its records."""
    await accounts.create()
    await accounts.create(academy="lyon")
    activated, _ = await accounts.create_active()
    settings = accounts.settings
    topic = settings.topic("accounts")
    relay = Relay(accounts.store, producer, topic, name="test-relay", batch_size=100)
    published, deadline = 0, time.monotonic() + 60
    while published < await accounts.event_count():
        assert time.monotonic() < deadline, "the relay did not publish every event"
        published += await relay.publish_batch()
    runner = ProjectionRunner(accounts.store.pool, SPEC.projection_registry, AccountsReadModel())
    for record in await asyncio.to_thread(read_topic, kafka_access(settings, ADMIN), topic):
        await runner.handle_raw(record.value, record.headers)
    return activated


async def _present(settings: Settings, result: ReplayResult) -> set[str]:
    """Those of the replay's schemas that still exist."""
    connection = await asyncpg.connect(settings.resolved_database_url())
    try:
        names = {r["nspname"] for r in await connection.fetch("SELECT nspname FROM pg_namespace")}
    finally:
        await connection.close()
    return names & set(result.schemas)


async def test_a_replay_of_an_untouched_read_model_finds_no_difference_and_drops_its_schemas(
    accounts: AccountsServer, producer: KafkaProducer
) -> None:
    await _live_read_model(accounts, producer)

    result = await replay(accounts.settings, [SPEC])

    (projection,) = result.projections
    assert projection.projection == "accounts_read_model"
    assert projection.rows == {"account_status": (3, 3)}
    assert projection.records_read == projection.events_applied == await accounts.event_count()
    assert result.differences == []
    assert await _present(accounts.settings, result) == set()


async def test_a_tampered_live_row_is_named_with_its_live_and_replayed_values(
    accounts: AccountsServer, producer: KafkaProducer
) -> None:
    await _live_read_model(accounts, producer)
    tampered = await accounts.store.pool.fetchval(
        "UPDATE account_status SET status = 'active' WHERE academy = 'lyon' RETURNING account_id"
    )

    result = await replay(accounts.settings, [SPEC], keep=True)

    (difference,) = result.differences
    assert difference.table == "account_status"
    assert difference.key == f"account_id={tampered}"
    assert difference.changes() == "status: live 'active' vs replayed 'pending_activation'"
    assert await _present(accounts.settings, result) == set(result.schemas)
    for schema in result.schemas:
        await drop_schema(accounts.settings.resolved_database_url(), schema)
