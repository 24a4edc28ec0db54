"""A new command needs only a decider, a facts entry and one line of declaration to be served
over gRPC, appended, relayed and projected: the throwaway service of throwaway_service.py, run as
separate processes on the real servers, through the generic Commands endpoint."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import grpc
import pytest

from archipel.commands.v1 import commands_pb2 as pb
from archipel.commands.v1 import commands_pb2_grpc as pb_grpc
from shared.auth import Principal, Role
from shared.db import drop_schema
from shared.grpc_tls import aio_channel
from shared.infra.acls import ensure_principals, grant, revoke, service_grants
from shared.infra.topics import ensure_topics
from shared.kafka import ADMIN, kafka_access
from shared.settings import Settings
from tests.conftest import derived_settings, env_of
from tests.e2e.conftest import _free_port_block, _wait_serving
from tests.e2e.throwaway_service import SERVICE as THROWAWAY
from tests.tokens import mint, signing_key

MODULE = "tests.e2e.throwaway_service"
BAD_UUID = '{"candidate_id": "not-a-uuid", "academy": "lyon", "text": "x"}'


@pytest.fixture(scope="module")
async def throwaway(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    home = tmp_path_factory.mktemp("throwaway-home")
    tag = f"tw{int(time.time() * 1000) % 10**9}"
    settings = derived_settings(
        base_settings,
        **{
            "database_url": base_settings.resolved_database_url(),
            "kafka_bootstrap_servers": base_settings.resolved_kafka(),
            "db_schema_prefix": f"{tag}_",
            "topic_prefix": tag,
            "home": home,
            "grpc_ports": {"throwaway": _free_port_block(1)},
        },
    )
    signing_key(settings)  # the token keys of this home
    admin = kafka_access(base_settings, ADMIN)
    await asyncio.to_thread(ensure_topics, admin, [settings.topic("throwaway")], 3)
    # A service of its own gets a principal of its own, with the rules `infra up` gives every service.
    groups = [projection.name for projection in THROWAWAY.projections()]
    grants = service_grants(settings, "throwaway", THROWAWAY.projection_topics, groups) if admin.sasl else []
    if admin.sasl:
        names = ["throwaway"]
        ensure_principals(admin, settings.secrets_path(), names, settings.kafka_sasl_mechanism)
        grant(admin, grants)
    env = {**env_of(settings), "ARCHIPEL_GRPC_PORTS": json.dumps(settings.grpc_ports)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "shared.launch", MODULE, role],
            env=env,
            stdout=(home / f"{role}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for role in ("serve", "relay", "projections")
    ]
    try:
        await _wait_serving(settings, "throwaway", processes, home)
        yield settings
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        await drop_schema(settings.resolved_database_url(), settings.db_schema("throwaway"))
        revoke(admin, grants)


def _bearer(settings: Settings, principal: Principal) -> tuple[tuple[str, str], ...]:
    token = mint(settings, principal, datetime.now(UTC), timedelta(minutes=10), audience=["throwaway"])
    return (("authorization", f"Bearer {token}"),)


async def _projected(settings: Settings, candidate: uuid.UUID, expected: int, home: Path) -> list[str]:
    connection = await asyncpg.connect(settings.resolved_database_url())
    try:
        deadline = time.monotonic() + 30
        while True:
            rows = await connection.fetch(
                f"SELECT text FROM {settings.db_schema('throwaway')}.notes WHERE candidate_id = $1", candidate
            )
            if len(rows) >= expected or time.monotonic() > deadline:
                return [row["text"] for row in rows]
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def test_a_declared_command_is_served_appended_relayed_and_projected(throwaway: Settings) -> None:
    candidate = uuid.uuid4()
    me = _bearer(throwaway, Principal(subject=str(candidate), role=Role.CANDIDATE, academy="lyon"))
    payload = json.dumps({"candidate_id": str(candidate), "academy": "lyon", "text": "bonjour"})
    async with aio_channel(throwaway, "throwaway") as channel:
        stub = pb_grpc.CommandsStub(channel)
        reply = await stub.Execute(pb.ExecuteRequest(command="RecordNote", payload_json=payload), metadata=me)
        assert (reply.stream_id, reply.version, list(reply.event_types)) == (f"note-{candidate}", 1, ["NoteRecorded"])
        # Through the relay, the topic and the projection process, into its read model.
        assert await _projected(throwaway, candidate, 1, throwaway.home) == ["bonjour"]

        # The decider's rule, with its facts: the fourth note is refused, nothing more is written.
        for _ in range(2):
            await stub.Execute(pb.ExecuteRequest(command="RecordNote", payload_json=payload), metadata=me)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Execute(pb.ExecuteRequest(command="RecordNote", payload_json=payload), metadata=me)
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "R-00" in (refused.value.details() or "")
        assert len(await _projected(throwaway, candidate, 3, throwaway.home)) == 3


@pytest.mark.parametrize(
    ("command", "payload", "code", "names"),
    [
        ("RecordNote", BAD_UUID, "INVALID_ARGUMENT", "candidate_id"),
        ("RecordNote", '{"candidate_id": "%s", "academy": "lyon", "text": "%s"}', "INVALID_ARGUMENT", "text"),
        ("RecordNote", "[not json", "INVALID_ARGUMENT", ""),
        ("DropEverything", "{}", "INVALID_ARGUMENT", "command"),
        ("RecordNote", '{"candidate_id": "%s", "academy": "lyon", "text": "x"}', "PERMISSION_DENIED", ""),
    ],
    ids=["bad-uuid", "text-too-long", "not-json", "unknown-command", "someone-else"],
)
async def test_bad_or_hostile_calls_are_refused_and_write_nothing(
    throwaway: Settings, command: str, payload: str, code: str, names: str
) -> None:
    me, someone_else = uuid.uuid4(), uuid.uuid4()
    if code == "PERMISSION_DENIED":
        payload = payload % someone_else
    elif payload.count("%s") == 2:
        payload = payload % (me, "x" * 201)
    metadata = _bearer(throwaway, Principal(subject=str(me), role=Role.CANDIDATE, academy="lyon"))
    async with aio_channel(throwaway, "throwaway") as channel:
        stub = pb_grpc.CommandsStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Execute(pb.ExecuteRequest(command=command, payload_json=payload), metadata=metadata)
        assert refused.value.code().name == code
        assert names in (refused.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await stub.Execute(pb.ExecuteRequest(command=command, payload_json=payload))
        assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
    connection = await asyncpg.connect(throwaway.resolved_database_url())
    try:
        schema = throwaway.db_schema("throwaway")
        written = await connection.fetchval(
            f"SELECT count(*) FROM {schema}.events WHERE stream_id = ANY($1::text[])",
            [f"note-{me}", f"note-{someone_else}"],
        )
    finally:
        await connection.close()
    assert written == 0
