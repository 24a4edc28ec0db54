"""`archipel events read` shows a topic's records from the first offset, as a downstream consumer sees
them, to staff and auditors of the events' académie (every académie: a national auditor) only."""

from __future__ import annotations

import asyncio
import json

import pytest
from kafka import KafkaProducer

from archipel_cli.common import EXIT_REFUSED
from archipel_cli.main import main
from shared.auth import Role
from shared.kafka import ADMIN, kafka_access, producer_config
from shared.relay import Relay
from shared.settings import Settings
from shared.token_keys import SigningKey
from tests.integration.cli_readers import token, use_settings
from tests.integration.sample_events import Counted, Noted, context, open_store

READ = ["events", "read", "--service", "registration"]


@pytest.fixture
async def published(isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Two candidates of ac-lyon and one of ac-nice, on the registration topic."""
    settings = isolated_settings
    store = await open_store(settings.resolved_database_url(), settings.db_schema("registration"))
    producer = KafkaProducer(**producer_config(kafka_access(settings, ADMIN)))
    try:
        await store.append("a-1", 0, [Counted(amount=1), Noted(text="première")], context("cand-a"))
        await store.append("b-1", 0, [Counted(amount=2)], context("cand-b"))
        await store.append("n-1", 0, [Counted(amount=3), Noted(text="niçoise")], context("cand-n", academy="ac-nice"))
        while await Relay(store, producer, settings.topic("registration")).publish_batch():
            pass
    finally:
        producer.close()
        await store.pool.close()
    use_settings(monkeypatch, settings)
    return settings


async def test_events_read_filters_by_candidate_and_type(
    published: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    staff = token(published, Role.STAFF)
    code = await asyncio.to_thread(main, [*READ, "--candidate", "cand-a", "--token", staff])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [(e["event_type"], e["stream_version"]) for e in lines] == [("Counted", 1), ("Noted", 2)]
    assert lines[1]["payload"] == {"text": "première"}

    code = await asyncio.to_thread(main, [*READ, "--type", "Counted", "--headers", "--token", staff])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert sorted(r["key"] for r in records) == ["cand-a", "cand-b"]  # not ac-nice's cand-n
    assert all(r["headers"]["event_type"] == "Counted" for r in records)


async def read_as(token_text: str | None, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str, str]:
    arguments = [*READ, *more, *(["--token", token_text] if token_text else [])]
    code = await asyncio.to_thread(main, arguments)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_events_read_without_a_token_or_with_a_candidates_is_refused(
    published: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = await read_as(None, capsys)
    assert (code, out) == (EXIT_REFUSED, "")
    assert err.startswith("error: UNAUTHENTICATED: a staff or auditor token is required: --token, ARCHIPEL_TOKEN")

    candidate = token(published, Role.CANDIDATE)
    code, out, err = await read_as(candidate, capsys, "--candidate", "cand-a")
    assert (code, out) == (EXIT_REFUSED, "")
    assert err.startswith("error: PERMISSION_DENIED: candidate tokens may not run this command")

    forged = token(published, Role.NATIONAL_AUDITOR, key=SigningKey.generate())  # a key nobody published
    code, out, err = await read_as(forged, capsys)
    assert (code, out) == (EXIT_REFUSED, "")
    assert err.startswith("error: UNAUTHENTICATED: invalid token")

    monkeypatch.setenv("ARCHIPEL_TOKEN", candidate)  # the environment's token is checked the same way
    code, out, err = await read_as(None, capsys)
    assert (code, out) == (EXIT_REFUSED, "")
    assert "PERMISSION_DENIED" in err


async def test_each_academy_sees_its_own_events_and_a_national_auditor_all(
    published: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def keys(out: str) -> list[str]:
        return sorted(json.loads(line)["candidate_id"] for line in out.splitlines())

    code, out, _ = await read_as(token(published, Role.STAFF, "ac-nice"), capsys)
    assert (code, keys(out)) == (0, ["cand-n", "cand-n"])
    code, out, _ = await read_as(token(published, Role.STAFF, "ac-nice"), capsys, "--candidate", "cand-a")
    assert (code, out) == (0, "")  # another académie's candidate: nothing, whoever asks by name
    code, out, _ = await read_as(token(published, Role.AUDITOR, "ac-lyon"), capsys)
    assert (code, keys(out)) == (0, ["cand-a", "cand-a", "cand-b"])

    monkeypatch.setenv("ARCHIPEL_TOKEN", token(published, Role.NATIONAL_AUDITOR, "national"))
    code, out, _ = await read_as(None, capsys)
    assert (code, keys(out)) == (0, ["cand-a", "cand-a", "cand-b", "cand-n", "cand-n"])
