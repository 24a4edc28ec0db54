"""`archipel events read` shows a topic's records from the first offset, as a downstream consumer sees them."""

from __future__ import annotations

import asyncio
import json

import pytest
from kafka import KafkaProducer

from archipel_cli.main import main
from shared.kafka import ADMIN, kafka_access, producer_config
from shared.relay import Relay
from shared.settings import Settings
from tests.integration.sample_events import Counted, Noted, context, open_store


async def test_events_read_filters_by_candidate_and_type(
    isolated_settings: Settings, schema: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = isolated_settings
    store = await open_store(settings.resolved_database_url(), schema)
    producer = KafkaProducer(**producer_config(kafka_access(settings, ADMIN)))
    try:
        await store.append("a-1", 0, [Counted(amount=1), Noted(text="première")], context("cand-a"))
        await store.append("b-1", 0, [Counted(amount=2)], context("cand-b"))
        while await Relay(store, producer, settings.topic("registration")).publish_batch():
            pass
    finally:
        producer.close()
        await store.pool.close()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.resolved_kafka())
    monkeypatch.setenv("ARCHIPEL_TOPIC_PREFIX", settings.topic_prefix)

    code = await asyncio.to_thread(main, ["events", "read", "--service", "registration", "--candidate", "cand-a"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [(e["event_type"], e["stream_version"]) for e in lines] == [("Counted", 1), ("Noted", 2)]
    assert lines[1]["payload"] == {"text": "première"}

    code = await asyncio.to_thread(
        main, ["events", "read", "--service", "registration", "--type", "Counted", "--headers"]
    )
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert sorted(r["key"] for r in records) == ["cand-a", "cand-b"]
    assert all(r["headers"]["event_type"] == "Counted" for r in records)
