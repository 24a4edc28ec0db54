"""The local certificate authority and the secrets of the local servers, under `settings.secrets_path()`
(`<home>/secrets`, every file mode 0600): a CA made once with `cryptography` (ca.pem, ca.key), the
broker's key and certificate chain signed by it (kafka-broker.pem, a PEM keystore Kafka reads
directly), the gRPC server's and clients' certificates (shared/grpc_tls.py) and one generated
password per Kafka principal (shared.kafka.password_file)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CA_YEARS = 10
_LEAF_DAYS = 825
_RENEW_BEFORE = datetime.timedelta(days=30)


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to `path`, readable by its owner only, atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    os.chmod(staging, 0o600)
    staging.replace(path)


def ensure_password(path: Path) -> str:
    """The password kept in `path`, generated on first use."""
    if not path.exists():
        write_private(path, (secrets.token_urlsafe(32) + "\n").encode())
    return path.read_text().strip()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Archipel"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ensure_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The local CA (ca.pem, ca.key), created on first use."""
    cert_file, key_file = directory / "ca.pem", directory / "ca.key"
    if cert_file.exists() and key_file.exists():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return x509.load_pem_x509_certificate(cert_file.read_bytes()), key
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Archipel local CA"))
        .issuer_name(_name("Archipel local CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_file, _key_pem(key))
    write_private(cert_file, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_server_keystore(directory: Path, name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Path:
    """`<name>.pem`: a server's private key and certificate chain (for `hosts`, by the local CA),
    made again when missing, about to expire or no longer signed by the CA in `directory`."""
    return ensure_certificate(directory, name, hosts=hosts)


def ensure_certificate(
    directory: Path,
    name: str,
    *,
    hosts: tuple[str, ...] = (),
    common_name: str | None = None,
    server: bool = True,
) -> Path:
    """`<name>.pem` (key, certificate, CA certificate) signed by the local CA in `directory`, its
    subject `common_name` (default `name`): a server's (for `hosts`, usable as a client too) or a
    client's only (`server=False`). Made again when missing, about to expire, signed by another CA
    or no longer naming the same hosts or subject."""
    path = directory / f"{name}.pem"
    ca_cert, ca_key = ensure_ca(directory)
    subject = _name(common_name or name)
    if path.exists() and _still_valid(path, ca_cert, subject, hosts):
        return path
    key = ec.generate_private_key(ec.SECP256R1())
    usages = (
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        if server
        else [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_general_names(hosts)), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    write_private(path, _key_pem(key) + cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    return path


def _general_names(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _still_valid(path: Path, ca_cert: x509.Certificate, subject: x509.Name, hosts: tuple[str, ...]) -> bool:
    certs = x509.load_pem_x509_certificates(path.read_bytes())
    if not certs or certs[0].issuer != ca_cert.subject or certs[0].subject != subject:
        return False
    if certs[0].not_valid_after_utc - _now() <= _RENEW_BEFORE:
        return False
    try:
        certs[0].verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):  # signed by another CA: make it again
        return False
    if hosts:
        try:
            named = certs[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        return set(named) == set(_general_names(hosts))
    return True
