"""Median login times for a known and an unknown email (issue 13 part 5: `login` answers in the
same time whatever the email, a dummy argon2 verification standing in for a missing hash).

`.venv/bin/python -m bench.login_timing [ROUNDS]` with the servers' environment (ARCHIPEL_HOME,
ARCHIPEL_PG_PORT...): an accounts server in this process over a schema of its own (dropped at the
end), one active account; ROUNDS logins with a wrong password for its email and ROUNDS for unknown
emails, interleaved, over gRPC; the medians and their ratio are printed as JSON. No rate limits."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc

from archipel.accounts.v1 import accounts_pb2 as pb
from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc
from bench.tools import BenchMailer
from services.accounts.service import SERVICE, ports
from shared.clock import FixedClock
from shared.db import drop_schema
from shared.grpc_tls import aio_channel, ensure_local_certificates, listen
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from shared.token_keys import ensure_keys

PASSWORD = "correct horse battery"


async def _timed(stub: pb_grpc.AccountsStub, email: str) -> float:
    started = time.perf_counter()
    try:
        await stub.Login(pb.LoginRequest(email=email, password="not the password"))
    except grpc.aio.AioRpcError as error:
        assert error.code() is grpc.StatusCode.UNAUTHENTICATED, error.details()
    return (time.perf_counter() - started) * 1000


async def measure(rounds: int) -> dict[str, object]:
    prefix = f"lt{uuid.uuid4().hex[:8]}"
    settings = Settings().model_copy(
        update={"db_schema_prefix": f"{prefix}_", "topic_prefix": prefix, "home": Path(tempfile.mkdtemp())}
    )
    ensure_keys(settings.signing_key_path().parent)  # the token keys of this run
    ensure_local_certificates(settings)  # and its gRPC certificates, when its secrets are its own
    clock, mailer = FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC)), BenchMailer()
    try:
        async with open_store(settings, SERVICE, clock) as store:
            runtime = Runtime(settings, store, clock)
            server = build_grpc_server(SERVICE, runtime, ports(runtime, mailer, limits={})).server
            port = listen(server, settings, "127.0.0.1:0")
            await server.start()
            async with aio_channel(settings, target=f"127.0.0.1:{port}") as channel:
                stub = pb_grpc.AccountsStub(channel)
                known = "known@example.fr"
                await stub.CreateAccount(
                    pb.CreateAccountRequest(
                        last_name="Martin", first_names="Léa", birth_date="2004-05-14", email=known,
                        academy="aix-marseille",
                    )
                )  # fmt: skip
                token = mailer.tokens[known]
                await stub.ActivateAccount(pb.ActivateAccountRequest(token=token, password=PASSWORD))
                await _timed(stub, known)  # warm up (and the dummy hash, made once)
                await _timed(stub, "warm@example.fr")
                times: dict[str, list[float]] = {"known": [], "unknown": []}
                for index in range(rounds):
                    times["known"].append(await _timed(stub, known))
                    times["unknown"].append(await _timed(stub, f"u{index}@example.fr"))
            await server.stop(None)
    finally:
        await drop_schema(settings.resolved_database_url(), settings.db_schema("accounts"))
    known_ms, unknown_ms = statistics.median(times["known"]), statistics.median(times["unknown"])
    return {
        "rounds": rounds,
        "median_ms_known_email": round(known_ms, 1),
        "median_ms_unknown_email": round(unknown_ms, 1),
        "difference_percent": round(abs(known_ms - unknown_ms) / max(known_ms, unknown_ms) * 100, 1),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 40))))
