"""The running system for end-to-end tests: every service, its relay and its projections as separate
processes (as `archipel run` starts them) on the real servers, with a real SMTP server (aiosmtpd) in the
test process, or (system_without_smtp) its mail written as .eml files into its home/mail. Topics are the
real `archipel.<service>.events`; schemas, consumer groups and ports are this run's own, so a `make run`
on the same machine is not disturbed."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.db import drop_schema
from shared.grpc_tls import aio_channel
from shared.settings import SERVICES, Settings
from shared.token_keys import ensure_keys
from tests.conftest import derived_settings, env_of, kafka_grants
from tests.smtp_tls import smtp_server, smtp_server_context

RUNNING = ("accounts", "registration", "documents", "results", "dossier")
# Fifteen processes start at once; on a loaded 2-core machine the first one serves after about 60 s.
START_TIMEOUT = 180.0


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = getattr(envelope, "original_content", None) or getattr(envelope, "content", None)
        assert isinstance(content, bytes), "the SMTP envelope carries no content"
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    async def wait_for(self, recipient: str, timeout: float = 20.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if message["To"] == recipient:
                    return message
            await asyncio.sleep(0.1)
        raise AssertionError(f"no mail for {recipient} within {timeout} s")


def _free_port_block(size: int) -> int:
    """A base port such that base..base+size-1 are free right now. Chosen below the kernel's
    ephemeral range (32768 and up), so that the clients' own outgoing connections cannot take
    them between this check and the servers' start."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - size)
        if all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free block of ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def inbox(base_settings: Settings) -> Iterator[Inbox]:
    """The SMTP server the services send to: STARTTLS required, a certificate of the local CA."""
    handler = Inbox(port=_free_port_block(1))
    with smtp_server(handler, handler.port, tls=smtp_server_context(base_settings)):
        yield handler


@dataclass(frozen=True)
class RunningSystem:
    settings: Settings
    logs: Path


@pytest.fixture(scope="module")
async def system(
    base_settings: Settings, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningSystem]:
    async with _running_system(base_settings, tmp_path_factory, inbox) as running:
        yield running


@pytest.fixture(scope="module")
async def system_without_smtp(
    base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningSystem]:
    """The same system with no SMTP settings: the services write each mail as an .eml file into
    the system's home/mail (the FolderMailer), where `archipel demo` reads the activation links."""
    async with _running_system(base_settings, tmp_path_factory, None) as running:
        yield running


@asynccontextmanager
async def _running_system(
    base_settings: Settings, tmp_path_factory: pytest.TempPathFactory, inbox: Inbox | None
) -> AsyncIterator[RunningSystem]:
    """Every RUNNING service (serve, relay, projections) as subprocesses; mail to `inbox` by SMTP,
    or into home/mail when `inbox` is None."""
    home = tmp_path_factory.mktemp("e2e-home")
    settings = derived_settings(
        base_settings,
        **{
            "database_url": base_settings.resolved_database_url(),
            "kafka_bootstrap_servers": base_settings.resolved_kafka(),
            "db_schema_prefix": f"e2e{int(time.time() * 1000) % 10**9}_",
            "home": home,
            "grpc_port_base": _free_port_block(len(SERVICES)),
            "smtp_host": "127.0.0.1" if inbox is not None else None,
            "smtp_port": inbox.port if inbox is not None else base_settings.smtp_port,
            "smtp_ca_file": base_settings.secrets_path() / "ca.pem",
        },
    )
    ensure_keys(settings.signing_key_path().parent)  # the token keys of this system's home
    grants = kafka_grants(base_settings, settings)  # its services' groups (db_schema_prefix) on Kafka
    grants.__enter__()
    env = env_of(settings)
    if inbox is None:
        env.pop("SMTP_HOST", None)
        env.pop("SMTP_PORT", None)
    processes = []
    for service in RUNNING:
        for role in ("serve", "relay", "projections"):
            log = (home / f"{service}-{role}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "services", service, role], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
    try:
        for service in RUNNING:
            await _wait_serving(settings, service, processes, home)
        yield RunningSystem(settings, home)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        for service in SERVICES:
            await drop_schema(settings.resolved_database_url(), settings.db_schema(service))
        grants.__exit__(None, None, None)


async def _wait_serving(settings: Settings, service: str, processes: list[subprocess.Popen[bytes]], home: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    target = settings.grpc_target(service)
    async with aio_channel(settings, service) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes):
                logs = "\n".join(path.read_text() for path in home.glob("*.log"))
                raise AssertionError(f"a service process exited at start:\n{logs}")
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{service} service not serving on {target} within {START_TIMEOUT:.0f} s")
