"""The local broker's security (issue 13): a SASL_SSL client listener, SCRAM-SHA-512 over TLS with the
broker's PEM keystore signed by the local CA (shared/infra/tls.py), an authorizer that denies what no
ACL allows (shared/infra/acls.py), the admin its super user, created with the storage."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from shared.infra.process import InfraError, port_open
from shared.infra.tls import ensure_password, ensure_server_keystore, write_private
from shared.kafka import ADMIN, password_file
from shared.settings import Settings

_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
_PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MARKER = ".archipel-scram"  # in the data folder: the admin's SCRAM credential exists


def format_arguments(settings: Settings, protocol: str) -> list[str]:
    """`kafka-storage format` creates the admin's SCRAM credential with the storage."""
    if protocol == "PLAINTEXT":
        return []
    password = ensure_password(password_file(settings, ADMIN))
    return ["--add-scram", f"SCRAM-SHA-512=[name={ADMIN},password={password}]"]


def security_properties(settings: Settings, protocol: str, listener: str) -> dict[str, str]:
    """SASL_SSL: SCRAM-SHA-512 over TLS (the broker's PEM keystore, signed by the local CA) for
    clients and between brokers; the controller listener, on 127.0.0.1 only, takes the admin
    alone (SASL PLAIN with a static password: SCRAM users live in the metadata it serves); an
    authorizer that denies what no ACL allows, the admin its super user."""
    controller = f"127.0.0.1:{settings.kafka_controller_port}"
    if protocol == "PLAINTEXT":
        return {
            "listeners": f"PLAINTEXT://{listener},CONTROLLER://{controller}",
            "advertised.listeners": f"PLAINTEXT://{listener}",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        }
    secrets = settings.secrets_path()
    password = ensure_password(password_file(settings, ADMIN))
    keystore = ensure_server_keystore(secrets, "kafka-broker")
    scram = f'username="{ADMIN}" password="{password}";'
    return {
        "listeners": f"SASL_SSL://{listener},CONTROLLER://{controller}",
        "advertised.listeners": f"SASL_SSL://{listener}",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": f"{_SCRAM_MODULE} required {scram}",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": (
            f'{_PLAIN_MODULE} required username="{ADMIN}" password="{password}" user_{ADMIN}="{password}";'
        ),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(secrets / "ca.pem"),
        "ssl.client.auth": "none",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN}",
        "allow.everyone.if.no.acl.found": "false",
    }


def add_admin_through_controller(settings: Settings, java: list[str], root: Path, timeout: float) -> None:
    """Storage formatted before the broker was secured has no SCRAM admin: the admin, known to the
    controller listener by its static password, creates its own SCRAM credential there, once."""
    data = root / "data"
    if (data / SCRAM_MARKER).exists():
        return
    password = ensure_password(password_file(settings, ADMIN))
    config = root / "controller-admin.properties"
    jaas = f'{_PLAIN_MODULE} required username="{ADMIN}" password="{password}";'
    write_private(config, f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config={jaas}\n".encode())
    controller = f"127.0.0.1:{settings.kafka_controller_port}"
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", settings.kafka_controller_port) and time.monotonic() < deadline:
        time.sleep(0.5)
    command = [
        *java, "kafka.admin.ConfigCommand",
        "--bootstrap-controller", controller, "--command-config", str(config),
        "--alter", "--entity-type", "users", "--entity-name", ADMIN,
        "--add-config", f"SCRAM-SHA-512=[password={password}]",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    config.unlink(missing_ok=True)
    if result.returncode != 0:
        raise InfraError(f"creating the Kafka admin failed: {(result.stdout + result.stderr).strip()[-2000:]}")
    (data / SCRAM_MARKER).touch()
