"""gRPC transport security (issue 13): every server listens and every client connects through here.

Policy: mutual TLS on the one port of each service. The server presents a certificate signed by the
deployment's CA (SAN 127.0.0.1, localhost and ARCHIPEL_GRPC_HOST), requires a client certificate
signed by the same CA and refuses the handshake without one (`require_client_auth=True`); TLS 1.2 is
gRPC core's minimum. Every caller presents its own certificate, its subject naming the principal:
one per service (for service-to-service calls), one for the CLI (`cli`), one for the portal
(`portal`). Why: gRPC is Archipel's internal interface; the public reaches it only through the
portal, so no caller without a certificate has any business on these ports, and a national
deployment should not leave them open to whoever reaches the network. Who may do what is still
decided by the bearer token (shared.auth): the certificate says which process calls, the token on
whose behalf. A separate mTLS port beside a server-only TLS port would double the ports and the
ways in for no caller that needs one.

Local default: `archipel infra up` makes the local CA (shared/local_ca.py) and, from it, the
certificates (again by each server or client whose file is missing) under `settings.secrets_path()`,
mode 0600:
`grpc-server.pem` and `grpc-client-<principal>.pem`, each the key, the certificate and the CA.
An external deployment gives each process ARCHIPEL_GRPC_CA_FILE, ARCHIPEL_GRPC_CERT_FILE and
ARCHIPEL_GRPC_KEY_FILE (its own certificate, valid for serving and calling: serverAuth and
clientAuth). ARCHIPEL_GRPC_SECURITY=plaintext opens plaintext ports instead (a mesh that already
encrypts, say); the default is mutual TLS."""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from shared.local_ca import ensure_certificate
from shared.names import SERVICES
from shared.settings import Settings

CLI = "cli"  # the CLI's own principal; the tests and the bench call as it too
PORTAL = "portal"
SERVER = "grpc-server"

_KEY = re.compile(rb"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----.+?-----END (?:[A-Z]+ )?PRIVATE KEY-----\s*", re.S)
_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\s*", re.S)


def client_principals() -> tuple[str, ...]:
    """Who gets a client certificate from the local CA: every service, the CLI and the portal."""
    return (*SERVICES, CLI, PORTAL)


def plaintext(settings: Settings) -> bool:
    return settings.grpc_security == "plaintext"


@dataclass(frozen=True)
class Identity:
    """What a TLS peer presents and trusts, as gRPC takes them (PEM bytes)."""

    ca: bytes
    chain: bytes
    key: bytes = field(repr=False)


def server_hosts(settings: Settings) -> tuple[str, ...]:
    return ("127.0.0.1", "localhost", settings.grpc_host)


def ensure_local_certificates(settings: Settings) -> None:
    """The server's and every client principal's certificates, made from the local CA when missing,
    expiring or stale (`archipel infra up`); nothing when plaintext or given by the environment."""
    if plaintext(settings) or settings.grpc_cert_file is not None:
        return
    _local(settings, SERVER, server=True, make_ca=True)
    for principal in client_principals():
        _local(settings, principal, server=False, make_ca=True)


def server_identity(settings: Settings) -> Identity:
    return _identity(settings, SERVER, server=True)


def client_identity(settings: Settings, principal: str = CLI) -> Identity:
    return _identity(settings, principal, server=False)


def server_credentials(settings: Settings) -> grpc.ServerCredentials:
    """TLS with the server's certificate; a client certificate signed by the CA is required."""
    identity = server_identity(settings)
    return grpc.ssl_server_credentials(
        [(identity.key, identity.chain)], root_certificates=identity.ca, require_client_auth=True
    )


def client_credentials(settings: Settings, principal: str = CLI) -> grpc.ChannelCredentials:
    identity = client_identity(settings, principal)
    return grpc.ssl_channel_credentials(identity.ca, identity.key, identity.chain)


def listen(server: grpc.aio.Server, settings: Settings, address: str) -> int:
    """Adds the port `address` to `server` (mutual TLS unless plaintext) and returns its number."""
    if plaintext(settings):
        port: int = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, server_credentials(settings))
    if port == 0:
        raise RuntimeError(f"gRPC cannot listen on {address}")
    return port


def channel(
    settings: Settings, service: str | None = None, *, principal: str = CLI, target: str | None = None
) -> grpc.Channel:
    """A blocking channel to `service` (or `target`), as `principal`."""
    address = _target(settings, service, target)
    if plaintext(settings):
        return grpc.insecure_channel(address)
    return grpc.secure_channel(address, client_credentials(settings, principal))


def aio_channel(
    settings: Settings, service: str | None = None, *, principal: str = CLI, target: str | None = None
) -> grpc.aio.Channel:
    """An asyncio channel to `service` (or `target`), as `principal`."""
    address = _target(settings, service, target)
    if plaintext(settings):
        return grpc.aio.insecure_channel(address)
    return grpc.aio.secure_channel(address, client_credentials(settings, principal))


def _target(settings: Settings, service: str | None, target: str | None) -> str:
    if target is not None:
        return target
    if service is None:
        raise ValueError("a gRPC channel needs a service or a target")
    return settings.grpc_target(service)


def _identity(settings: Settings, principal: str, *, server: bool) -> Identity:
    if settings.grpc_cert_file is not None:
        cert_file = settings.grpc_cert_file
        key_file = settings.grpc_key_file or cert_file
        ca_file = settings.grpc_ca_file or settings.secrets_path() / "ca.pem"
    elif settings.grpc_ca_file is not None:
        raise RuntimeError("ARCHIPEL_GRPC_CA_FILE is set without ARCHIPEL_GRPC_CERT_FILE: set both (and the key)")
    else:
        cert_file = key_file = _local(settings, principal, server=server)
        ca_file = settings.secrets_path() / "ca.pem"
    try:
        keys, chain = _KEY.findall(key_file.read_bytes()), _CERT.findall(cert_file.read_bytes())
        ca = ca_file.read_bytes()
    except OSError as error:
        raise RuntimeError(f"gRPC TLS: cannot read {error.filename}: {error.strerror}") from None
    if len(keys) != 1 or not chain:
        raise RuntimeError(f"gRPC TLS: {key_file} must hold one private key and {cert_file} a certificate")
    return Identity(ca=ca, chain=b"".join(chain), key=keys[0])


def _local(settings: Settings, principal: str, *, server: bool, make_ca: bool = False) -> Path:
    """The local certificate of `principal`, made from the local CA if need be. Only `infra up`
    makes the CA itself: a process that finds none (wrong secrets_dir, say) would otherwise trust a
    CA of its own and fail every handshake with an obscure "bad signature"."""
    secrets = settings.secrets_path()
    if not make_ca and not ((secrets / "ca.pem").is_file() and (secrets / "ca.key").is_file()):
        raise RuntimeError(
            f"gRPC TLS: no local CA in {secrets}: run `archipel infra up` first, or set "
            "ARCHIPEL_SECRETS_DIR, or ARCHIPEL_GRPC_CA_FILE, ARCHIPEL_GRPC_CERT_FILE and ARCHIPEL_GRPC_KEY_FILE"
        )
    with _locked(secrets):  # several processes start at once: one file each
        if server:
            return ensure_certificate(secrets, SERVER, hosts=server_hosts(settings))
        return ensure_certificate(secrets, f"grpc-client-{principal}", common_name=principal, server=False)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with os.fdopen(os.open(directory / ".grpc-tls.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
