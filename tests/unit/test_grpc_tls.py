"""The gRPC certificates made from the local CA (shared.grpc_tls), and those an external deployment
gives by the environment."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.grpc_tls import client_identity, client_principals, ensure_local_certificates, server_identity
from shared.settings import Settings


def _settings(home: Path, **values: Any) -> Settings:
    """Settings of `home` whatever the environment says of the secrets or the gRPC transport."""
    values = {"secrets_dir": None, "grpc_security": "mtls", "grpc_host": "127.0.0.1", **values}
    return Settings(home=home, **values)


def _leaf(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def _hosts(cert: x509.Certificate) -> set[str]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in names}


def test_infra_makes_a_server_certificate_and_one_client_certificate_per_principal(tmp_path: Path) -> None:
    settings = _settings(tmp_path, grpc_host="archipel.internal")
    ensure_local_certificates(settings)
    secrets = settings.secrets_path()
    ca = x509.load_pem_x509_certificate((secrets / "ca.pem").read_bytes())
    server = _leaf(secrets / "grpc-server.pem")
    assert _hosts(server) == {str(ipaddress.ip_address("127.0.0.1")), "localhost", "archipel.internal"}
    server.verify_directly_issued_by(ca)
    assert set(client_principals()) >= {"accounts", "registration", "documents", "results", "dossier", "cli", "portal"}
    for principal in client_principals():
        path = secrets / f"grpc-client-{principal}.pem"
        cert = _leaf(path)
        cert.verify_directly_issued_by(ca)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == principal
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((secrets / "grpc-server.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((secrets / "ca.key").stat().st_mode) == 0o600


def test_a_new_grpc_host_gets_a_new_server_certificate_the_clients_keep_theirs(tmp_path: Path) -> None:
    ensure_local_certificates(_settings(tmp_path))
    secrets = tmp_path / "secrets"
    client = (secrets / "grpc-client-cli.pem").read_bytes()
    ensure_local_certificates(_settings(tmp_path, grpc_host="10.1.2.3"))
    assert "10.1.2.3" in _hosts(_leaf(secrets / "grpc-server.pem"))
    assert (secrets / "grpc-client-cli.pem").read_bytes() == client


def test_plaintext_makes_nothing(tmp_path: Path) -> None:
    ensure_local_certificates(_settings(tmp_path, grpc_security="plaintext"))
    assert not (tmp_path / "secrets").exists()


def test_an_external_deployment_gives_its_files(tmp_path: Path) -> None:
    """ARCHIPEL_GRPC_CA_FILE, _CERT_FILE and _KEY_FILE: this process's identity, whoever it calls as."""
    ensure_local_certificates(_settings(tmp_path / "elsewhere"))  # stands for the deployment's PKI
    made = (tmp_path / "elsewhere" / "secrets" / "grpc-server.pem").read_bytes()
    key, _, chain = made.partition(b"-----END PRIVATE KEY-----\n")
    (tmp_path / "key.pem").write_bytes(key + b"-----END PRIVATE KEY-----\n")
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "ca.pem").write_bytes((tmp_path / "elsewhere" / "secrets" / "ca.pem").read_bytes())
    settings = _settings(
        tmp_path / "home",
        grpc_ca_file=tmp_path / "ca.pem",
        grpc_cert_file=tmp_path / "chain.pem",
        grpc_key_file=tmp_path / "key.pem",
    )
    ensure_local_certificates(settings)
    assert not (tmp_path / "home").exists()  # nothing local is made
    for identity in (server_identity(settings), client_identity(settings, "cli")):
        assert identity.chain == chain and identity.key.startswith(b"-----BEGIN PRIVATE KEY-----")
        assert identity.ca == (tmp_path / "ca.pem").read_bytes()


def test_a_ca_without_a_certificate_is_refused_by_name(tmp_path: Path) -> None:
    settings = _settings(tmp_path, grpc_ca_file=tmp_path / "ca.pem")
    with pytest.raises(RuntimeError, match="ARCHIPEL_GRPC_CERT_FILE"):
        client_identity(settings)


def test_a_process_without_the_local_ca_says_so_instead_of_making_its_own(tmp_path: Path) -> None:
    """A client pointed at the wrong secrets would otherwise trust a CA of its own and fail every
    handshake with a bare "bad signature"; only `infra up` makes the CA."""
    with pytest.raises(RuntimeError, match=r"no local CA .*archipel infra up"):
        client_identity(_settings(tmp_path))
    with pytest.raises(RuntimeError, match="no local CA"):
        server_identity(_settings(tmp_path))
    assert not (tmp_path / "secrets" / "ca.pem").exists()
