"""A service's gRPC server in the test process, on a free port of 127.0.0.1, with a client channel:
both through shared.grpc_tls (mutual TLS with the certificates of the tests' secrets), so that the
in-process tests exercise the same transport as the running services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc

from shared.grpc_tls import aio_channel, channel, listen
from shared.rpc import mark_serving
from shared.service import GrpcServer
from shared.settings import Settings


@dataclass(frozen=True)
class Serving:
    settings: Settings
    target: str
    channel: grpc.aio.Channel

    def blocking_channel(self) -> grpc.Channel:
        return channel(self.settings, target=self.target)


@asynccontextmanager
async def serving(
    built: GrpcServer, settings: Settings, health_names: Sequence[str] | None = None
) -> AsyncIterator[Serving]:
    """Starts `built` (marked serving for `health_names`, default its services) and yields a
    channel to it; closes the channel and stops the server afterwards."""
    port = listen(built.server, settings, "127.0.0.1:0")
    await built.server.start()
    await mark_serving(built.health, list(health_names if health_names is not None else built.names))
    target = f"127.0.0.1:{port}"
    client = aio_channel(settings, target=target)
    try:
        yield Serving(settings, target, client)
    finally:
        await client.close()
        await built.server.stop(None)
