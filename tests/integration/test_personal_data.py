"""The key store and the sealed events on the real PostgreSQL (issue 13 part 7): a service's store
writes an account's personal fields as ciphertext only (the hash chain covers it), reads them back
in clear, and as erased once the key store's role destroyed the candidate's key, the chain still
valid; the services' roles may get keys, never destroy them nor read the table; the key store holds
wrapped keys only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from uuid import uuid4

import asyncpg
import pytest
from kafka import KafkaProducer

from archipel_cli.main import main
from services.accounts.forget import forget_candidate
from services.accounts.service import SERVICE
from services.registration.service import SERVICE as REGISTRATION
from shared.auth import Role
from shared.contracts.accounts import AccountCreated
from shared.contracts.registration import HandicapDeclared
from shared.errors import InvalidInput, NotFound
from shared.events import CommandContext
from shared.eventstore import LogPosition, chain_hash
from shared.kafka import ADMIN, kafka_access, producer_config
from shared.keystore import destroy_key
from shared.relay import Relay
from shared.service import open_store
from shared.settings import Settings
from tests.integration.cli_readers import token, use_settings
from tests.integration.sample_events import read_topic


async def _row(pool: asyncpg.Pool, query: str, *arguments: object) -> asyncpg.Record:
    row = await pool.fetchrow(query, *arguments)
    assert row is not None
    return row


def _created(candidate: object) -> AccountCreated:
    return AccountCreated(
        account_id=candidate,
        role=Role.CANDIDATE,
        last_name="Keystoretest",
        first_names="Camille",
        birth_date=date(1999, 9, 9),
        email="camille.keystoretest@example.org",
        academy="aix-marseille",
    )


async def test_sealed_at_append_clear_at_read_erased_once_the_key_is_destroyed(isolated_settings: Settings) -> None:
    settings = isolated_settings
    candidate = uuid4()
    context = CommandContext(
        academy="aix-marseille", actor="test", occurred_at=datetime.now(UTC), candidate_id=str(candidate)
    )
    async with open_store(settings, SERVICE) as store:
        stream = f"account-{candidate}"
        await store.append(stream, 0, [_created(candidate)], context)
        row = await _row(store.pool, "SELECT payload::text AS payload, hash FROM events WHERE stream_id = $1", stream)
        for clear in ("Keystoretest", "Camille", "1999-09-09", "camille."):
            assert clear not in row["payload"]
        assert json.loads(row["payload"])["sealed"]["s"] == str(candidate)
        (read,) = await store.read_stream(stream)
        assert read.payload == _created(candidate)
        (logged,) = [e for e in await store.read_log(LogPosition.start()) if e.stored.stream_id == stream]
        assert chain_hash(b"", logged.stored) == bytes(row["hash"])  # the chain covers the ciphertext

        await destroy_key(settings, str(candidate))
        (erased,) = await store.read_stream(stream)
        assert isinstance(erased.payload, AccountCreated)
        assert (erased.payload.last_name, erased.payload.email, erased.payload.birth_date) == ("", "", None)
        after = await _row(store.pool, "SELECT payload::text AS payload, hash FROM events WHERE stream_id = $1", stream)
        assert (after["payload"], after["hash"]) == (row["payload"], row["hash"])  # nothing rewritten
        wrapped = await store.pool.fetchval(
            f"SELECT wrapped FROM {settings.keystore_schema}.keys_of($1)", [str(candidate)]
        )
        assert wrapped is None

        # After the destruction, a new event of the candidate writes the erased values, never a new key.
        await store.append(f"other-{candidate}", 0, [_created(candidate)], context)
        late = await store.pool.fetchval("SELECT payload::text FROM events WHERE stream_id = $1", f"other-{candidate}")
        assert "Keystoretest" not in late and "sealed" not in late


async def test_a_service_role_gets_keys_but_cannot_destroy_or_read_the_table(isolated_settings: Settings) -> None:
    settings = isolated_settings
    async with open_store(settings, SERVICE):
        pass  # the key store exists
    connection = await asyncpg.connect(settings.database_url_for("registration"))
    schema = settings.keystore_schema
    try:
        subject = str(uuid4())
        rows = await connection.fetch(
            f"SELECT * FROM {schema}.key_for($1::text[], $2::bytea[])", [subject], [b"x" * 60]
        )
        assert [row["subject"] for row in rows] == [subject]
        for statement in (
            f"SELECT {schema}.destroy('{subject}')",
            f"SELECT * FROM {schema}.data_keys",
            f"UPDATE {schema}.data_keys SET wrapped = NULL",
            f"DELETE FROM {schema}.data_keys",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.execute(statement)
    finally:
        await connection.close()
    auditor = await asyncpg.connect(settings.database_url_for("auditor"))
    try:
        assert await auditor.fetch(f"SELECT * FROM {schema}.keys_of($1::text[])", [subject])
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await auditor.fetch(f"SELECT * FROM {schema}.key_for($1::text[], $2::bytea[])", [str(uuid4())], [b"x"])
    finally:
        await auditor.close()


async def test_forget_erases_the_candidate_everywhere_in_a_deployment_of_its_own(
    isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The forget path (services.accounts.forget) on a deployment with its own topics: the event is
    appended, the private rows go, the relayed records hold no clear field, `audit verify` finds
    nothing; refused without a reason, for an unknown candidate; a second time appends nothing."""
    settings = isolated_settings
    candidate = uuid4()
    context = CommandContext(
        academy="aix-marseille", actor="test", occurred_at=datetime.now(UTC), candidate_id=str(candidate)
    )
    handicap = HandicapDeclared(handicap=True, amex_reference="AMEX-FORGETME-77", existing_decision=True)
    needles = ["Keystoretest", "Camille", "1999-09-09", "camille.keystoretest", "AMEX-FORGETME-77"]
    producer = KafkaProducer(**producer_config(kafka_access(settings, ADMIN)))
    try:
        async with open_store(settings, SERVICE) as accounts, open_store(settings, REGISTRATION) as registration:
            await accounts.append(f"account-{candidate}", 0, [_created(candidate)], context)
            await accounts.pool.execute(
                "INSERT INTO account_emails (email, account_id) VALUES ($1, $2)",
                "camille.keystoretest@example.org",
                candidate,
            )
            await registration.append(f"registration-{candidate}-2027-SIO-SISR", 0, [handicap], context)
            with pytest.raises(InvalidInput, match="reason"):
                await forget_candidate(settings, candidate, reason="  ", operator="dpo")
            with pytest.raises(NotFound):
                await forget_candidate(settings, uuid4(), reason="RGPD", operator="dpo")
            done = await forget_candidate(settings, candidate, reason="demande RGPD", operator="dpo")
            assert not done.already
            assert (await forget_candidate(settings, candidate, reason="encore", operator="dpo")).already
            events = await accounts.read_stream(f"account-{candidate}")
            assert [e.event_type for e in events] == ["AccountCreated", "CandidateForgotten"]
            assert events[1].actor == "privacy:dpo" and events[0].payload.last_name == ""  # type: ignore[attr-defined]
            assert (
                await accounts.pool.fetchval("SELECT count(*) FROM account_emails WHERE account_id = $1", candidate)
                == 0
            )
            (declared,) = await registration.read_stream(f"registration-{candidate}-2027-SIO-SISR")
            assert declared.payload == HandicapDeclared(handicap=False, amex_reference=None, existing_decision=False)
            for store, service in ((accounts, "accounts"), (registration, "registration")):
                rows = await store.pool.fetch("SELECT payload::text AS p FROM events")
                assert not [n for n in needles for row in rows if n.lower() in row["p"].lower()]
                while await Relay(store, producer, settings.topic(service)).publish_batch():
                    pass
    finally:
        producer.close()
    for service in ("accounts", "registration"):
        records = read_topic(kafka_access(settings, ADMIN), settings.topic(service))
        assert records and not [n for n in needles for r in records if n.lower().encode() in r.value.lower()]
    use_settings(monkeypatch, settings)
    national = token(settings, Role.NATIONAL_AUDITOR, "national")
    code = await asyncio.to_thread(main, ["audit", "verify", "--token", national])
    out = capsys.readouterr().out
    assert (code, out.splitlines()[-1]) == (0, "6 events checked in 4 streams, 0 findings"), out  # store, topics


REASON = "error: reason: String should have "


async def test_the_forget_command_refuses_bad_input_with_one_line(
    isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_settings(monkeypatch, isolated_settings)
    cases = (
        (["not-a-uuid", "--reason", "RGPD", "--operator", "dpo"], 2, "error: candidate: not a candidate id (a UUID)"),
        ([str(uuid4()), "--reason", "RGPD", "--operator", "dpo"], 1, "error: no candidate account has this id"),
        (
            [str(uuid4()), "--reason", " ", "--operator", "dpo"],
            1,
            "error: reason: String should have at least 1 character",
        ),
        (
            [str(uuid4()), "--reason", "x" * 501, "--operator", "dpo"],
            1,
            "error: reason: String should have at most 500 characters",
        ),
    )
    for arguments, code, line in cases:
        assert await asyncio.to_thread(main, ["privacy", "forget", *arguments]) == code
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", f"{line}\n")
