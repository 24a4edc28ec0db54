"""`archipel audit *` are the auditors' commands (issue 13 part 8): without a token, with a candidate's
or a staff member's, they are refused with a clear line and exit code 3; an académie's auditor checks
and reads only that académie's streams; a national auditor all of them, and alone runs `replay`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kafka import KafkaProducer

from archipel_cli.common import EXIT_REFUSED
from archipel_cli.main import main
from shared.auth import Role
from shared.eventstore import EventStore
from shared.kafka import ADMIN, kafka_access, producer_config
from shared.relay import Relay
from shared.settings import Settings
from tests.integration.cli_readers import token, use_settings
from tests.integration.sample_events import Counted, Noted, context, open_store

LYON, NICE = "cand-lyon", "cand-nice"
COMMANDS = (
    ["audit", "verify"],
    ["audit", "timeline", LYON],
    ["audit", "as-of", LYON, "2030-01-01T00:00"],
    ["audit", "replay", "--wait", "0"],
)


@pytest.fixture
async def store(isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EventStore]:
    """A candidate of ac-lyon and one of ac-nice in the registration store and on its topic."""
    settings = isolated_settings
    store = await open_store(settings.database_url_for("registration"), settings.db_schema("registration"))  # its role
    await store.append(f"registration-{LYON}", 0, [Counted(amount=1), Noted(text="lyonnais")], context(LYON))
    await store.append(f"registration-{NICE}", 0, [Counted(amount=2)], context(NICE, academy="ac-nice"))
    producer = KafkaProducer(**producer_config(kafka_access(settings, ADMIN)))
    try:
        while await Relay(store, producer, settings.topic("registration")).publish_batch():
            pass
    finally:
        producer.close()
    use_settings(monkeypatch, settings)
    yield store
    await store.pool.close()


async def run(capsys: pytest.CaptureFixture[str], arguments: list[str], token_text: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, [*arguments, "--token", token_text] if token_text else arguments)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_audit_commands_refuse_no_token_a_candidate_and_staff(
    store: EventStore, isolated_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = token(isolated_settings, Role.CANDIDATE)
    staff = token(isolated_settings, Role.STAFF)
    for arguments in COMMANDS:
        code, out, err = await run(capsys, arguments, "")
        assert (code, out) == (EXIT_REFUSED, ""), arguments
        assert err.startswith("error: UNAUTHENTICATED: a staff or auditor token is required"), arguments
        for refused, role in ((candidate, "candidate"), (staff, "staff")):
            code, out, err = await run(capsys, arguments, refused)
            assert (code, out) == (EXIT_REFUSED, ""), arguments
            assert err.startswith(f"error: PERMISSION_DENIED: {role} tokens may not run this command"), arguments
    code, out, err = await run(capsys, ["audit", "replay"], token(isolated_settings, Role.AUDITOR))
    assert (code, out) == (EXIT_REFUSED, "")
    assert err.startswith("error: PERMISSION_DENIED: auditor tokens may not run this command (only national_auditor)")


async def test_an_academys_auditor_sees_its_streams_only_and_the_national_auditor_all(
    store: EventStore, isolated_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    nice = token(isolated_settings, Role.AUDITOR, "ac-nice")
    lyon = token(isolated_settings, Role.AUDITOR, "ac-lyon")
    national = token(isolated_settings, Role.NATIONAL_AUDITOR, "national")
    verify = ["audit", "verify", "--service", "registration"]

    code, out, err = await run(capsys, ["audit", "timeline", LYON], nice)
    assert (code, out, err) == (1, "", f"no event for candidate {LYON}\n")  # as if there were none
    code, out, _ = await run(capsys, ["audit", "as-of", LYON, "2030-01-01T00:00"], nice)
    assert code == 0 and "lyonnais" not in out and "Counted" not in out
    for reader in (lyon, national):
        code, out, _ = await run(capsys, ["audit", "timeline", LYON], reader)
        assert code == 0 and [line.split()[3] for line in out.splitlines()[1:]] == ["Counted", "Noted"]

    # Store and topic: the académie's streams only; tampering in Lyon is Lyon's and the nation's finding.
    code, out, _ = await run(capsys, verify, nice)
    assert (code, out.splitlines()) == (0, ["2 events checked in 2 streams, 0 findings"])
    code, out, _ = await run(capsys, verify, national)
    assert (code, out.splitlines()) == (0, ["6 events checked in 4 streams, 0 findings"])
    await store.pool.execute("UPDATE events SET actor = 'staff:forger' WHERE stream_id = $1", f"registration-{LYON}")
    code, out, _ = await run(capsys, verify, nice)
    assert (code, out.splitlines()[-1]) == (0, "2 events checked in 2 streams, 0 findings")
    for reader in (lyon, national):
        code, out, _ = await run(capsys, verify, reader)
        assert code == 1 and out.splitlines()[0].startswith("ALTERED store:") and f"registration-{LYON} v1" in out
