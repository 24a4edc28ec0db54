"""archipel run: the local servers (unless external ones are given), then every service, its
relay and its projections under one supervisor in the foreground. Ctrl-C stops everything."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from archipel_cli.common import Subparsers

if TYPE_CHECKING:
    from shared.settings import Settings

ROLES = ("serve", "relay", "projections")
READY_TIMEOUT = 90.0
CLEAN_EXIT_GRACE = 2.0  # seconds a cleanly stopped child waits for the stop request before a restart


def register(groups: Subparsers) -> None:
    parser = groups.add_parser("run", help="run the whole system in the foreground (Ctrl-C stops it)")
    parser.add_argument("--keep-servers", action="store_true", help="leave PostgreSQL and Kafka running at exit")
    parser.set_defaults(handler=_run)


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(self.argv, stdout=output, stderr=subprocess.STDOUT)
        self.started_at = time.monotonic()


def _run(arguments: argparse.Namespace) -> int:
    from archipel_cli.runtime import settings  # noqa: PLC0415 (keep `archipel --help` light)
    from archipel_cli.services import specs  # noqa: PLC0415
    from shared.infra import manager  # noqa: PLC0415
    from shared.infra.process import InfraError  # noqa: PLC0415

    config = settings()
    was_up = all(server.answers for server in manager.status(config))
    try:
        endpoints = manager.up(config)
    except InfraError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"PostgreSQL  {manager.redact(endpoints.database_url)}")
    print(f"Kafka       {endpoints.kafka_bootstrap_servers}")
    logs = config.home / "logs"
    children = [
        Child(
            f"{spec.name}-{role}",
            [sys.executable, "-m", "services", spec.name, role],
            logs / f"{spec.name}-{role}.log",
        )
        for spec in specs()
        for role in ROLES
    ]
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for child in children:
        child.start()
    try:
        if not _wait_ready(config, children, lambda: stopping):
            return 1
        for spec in specs():
            transport = "plaintext" if config.grpc_security == "plaintext" else "mutual TLS"
            print(f"{spec.name:<11} grpc://{config.grpc_target(spec.name)}  ({transport}, health, reflection)")
        print(f"Logs in {logs}/; mail in {config.home / 'mail'}/. Ready. Ctrl-C stops everything.")
        _supervise(children, lambda: stopping)
    finally:
        _stop(children)
        if not was_up and not arguments.keep_servers:
            manager.down(config)
            print("Local servers stopped.")
    return 0


def _wait_ready(config: Settings, children: list[Child], stopping: Callable[[], bool]) -> bool:
    import grpc  # noqa: PLC0415
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: PLC0415

    from archipel_cli.services import specs  # noqa: PLC0415
    from shared import grpc_tls  # noqa: PLC0415

    deadline = time.monotonic() + READY_TIMEOUT
    for spec in specs():
        with grpc_tls.channel(config, spec.name) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                if stopping():
                    return False
                dead = [c for c in children if c.process is not None and c.process.poll() is not None]
                if dead:
                    print(f"error: {dead[0].name} exited at start; see {dead[0].log}", file=sys.stderr)
                    return False
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    print(f"error: {spec.name} not serving after {READY_TIMEOUT:.0f} s", file=sys.stderr)
                    return False
                time.sleep(0.3)
    return True


def _supervise(children: list[Child], stopping: Callable[[], bool]) -> None:
    """Restarts a child that dies (with a growing pause) until a stop is requested. A child that
    stopped cleanly (exit 0, e.g. on the Ctrl-C its process group received too) is given a moment
    for the stop request to arrive, and no child is restarted once a stop is requested."""
    while not stopping():
        for child in children:
            assert child.process is not None
            code = child.process.poll()
            if code is None:
                continue
            if code == 0 and _pause(CLEAN_EXIT_GRACE, stopping):
                return
            child.restarts += 1
            pause = min(30.0, 2.0**child.restarts)
            print(
                f"{child.name} exited with {code}; restarting in {pause:.0f} s (see {child.log})",
                file=sys.stderr,
            )
            if _pause(pause, stopping):
                return
            child.start()
        time.sleep(0.5)


def _pause(seconds: float, stopping: Callable[[], bool]) -> bool:
    """Sleeps `seconds`, or less when a stop is requested; tells whether one was."""
    deadline = time.monotonic() + seconds
    while not stopping():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(0.1, left))
    return True


def _stop(children: list[Child]) -> None:
    running = [c.process for c in children if c.process is not None and c.process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in running:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    print("Services stopped.")
