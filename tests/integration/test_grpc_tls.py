"""gRPC over mutual TLS, tried as an attacker would against a real server (the registration
service's, listening as `serve` does through shared.grpc_tls): plaintext, a client that does not
trust the CA, a client without a certificate or with one from another CA are all refused; the
tests' own channel (the CLI's certificate) gets through, over TLS 1.2 or later."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shared.grpc_tls import CLI, client_identity
from shared.local_ca import ensure_certificate
from tests.integration.registration_fixtures import (  # noqa: F401 (registration_server is the `registration` fixture)
    RegistrationServer,
    registration_server,
)

SERVING = health_pb2.HealthCheckResponse.SERVING


async def _check(channel: grpc.aio.Channel) -> int:
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    return int(reply.status)


async def _refused(channel: grpc.aio.Channel) -> None:
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _check(channel)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE, caught.value.details()


async def test_the_cli_certificate_gets_through(registration: RegistrationServer) -> None:
    assert await _check(registration.channel) == SERVING


async def test_a_plaintext_client_is_refused(registration: RegistrationServer) -> None:
    await _refused(grpc.aio.insecure_channel(registration.target))


async def test_a_client_that_does_not_trust_the_ca_is_refused(registration: RegistrationServer, tmp_path: Path) -> None:
    """Its own certificate is genuine, but it trusts another CA (or the system's): the server's
    certificate does not verify, the client gives up."""
    own = client_identity(registration.settings, CLI)
    ensure_certificate(tmp_path, "other", common_name="other")
    credentials = grpc.ssl_channel_credentials((tmp_path / "ca.pem").read_bytes(), own.key, own.chain)
    await _refused(grpc.aio.secure_channel(registration.target, credentials))
    system_roots = grpc.ssl_channel_credentials(None, own.key, own.chain)
    await _refused(grpc.aio.secure_channel(registration.target, system_roots))


async def test_a_client_without_a_certificate_is_refused(registration: RegistrationServer) -> None:
    ca = client_identity(registration.settings, CLI).ca
    await _refused(grpc.aio.secure_channel(registration.target, grpc.ssl_channel_credentials(ca)))


async def test_a_client_certificate_of_another_ca_is_refused(registration: RegistrationServer, tmp_path: Path) -> None:
    """A certificate naming the CLI, signed by a CA the attacker made: the server refuses it."""
    forged = ensure_certificate(tmp_path, "grpc-client-cli", common_name=CLI, server=False).read_bytes()
    key, _, chain = forged.partition(b"-----END PRIVATE KEY-----\n")
    ca = client_identity(registration.settings, CLI).ca
    credentials = grpc.ssl_channel_credentials(ca, key + b"-----END PRIVATE KEY-----\n", chain)
    await _refused(grpc.aio.secure_channel(registration.target, credentials))


def _handshake(target: str, context: ssl.SSLContext) -> tuple[str, x509.Certificate]:
    host, _, port = target.rpartition(":")
    raw = socket.create_connection((host, int(port)), timeout=10)
    with context.wrap_socket(raw, server_hostname=host) as tls:
        peer = tls.getpeercert(binary_form=True)
        assert peer is not None
        return str(tls.version()), x509.load_der_x509_certificate(peer)


async def test_the_server_speaks_tls_1_2_or_later_with_the_ca_s_certificate(
    registration: RegistrationServer,
) -> None:
    secrets = registration.settings.secrets_path()
    context = ssl.create_default_context(cafile=str(secrets / "ca.pem"))  # verifies the name: 127.0.0.1
    context.load_cert_chain(secrets / "grpc-client-cli.pem")
    context.set_alpn_protocols(["h2"])
    version, certificate = await asyncio.to_thread(_handshake, registration.target, context)
    assert version in ("TLSv1.2", "TLSv1.3")
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "grpc-server"
