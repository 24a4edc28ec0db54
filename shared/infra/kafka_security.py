"""The local broker's security (issue 13): a SASL_SSL client listener, SCRAM-SHA-512 over TLS with the
broker's PEM keystore signed by the local CA (shared/infra/tls.py), an authorizer that denies what no
ACL allows (shared/infra/acls.py), the admin its super user, created with the storage."""

from __future__ import annotations

from pathlib import Path

from shared.infra.tls import ensure_password, ensure_server_keystore
from shared.kafka import ADMIN, KafkaAccess, password_file
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


def security_properties(
    settings: Settings, protocol: str, listener: str, *, admin_plain: bool = False
) -> dict[str, str]:
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
        **(_admin_plain(password) if admin_plain else {}),
    }


def _admin_plain(password: str) -> dict[str, str]:
    """Once, for storage without the admin's SCRAM credential: the admin alone may log in with PLAIN."""
    plain = f'{_PLAIN_MODULE} required username="{ADMIN}" password="{password}" user_{ADMIN}="{password}";'
    return {
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512,PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": plain,
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
    }


def add_admin_scram(plain_admin: KafkaAccess, secrets: Path, data: Path) -> None:
    """Storage formatted before the broker was secured has no SCRAM admin: the admin, logged in with
    PLAIN over TLS on a first start (`admin_plain`), creates its own SCRAM credential, once."""
    from shared.infra.acls import ensure_principals  # noqa: PLC0415 (acls imports this module's users)

    ensure_principals(plain_admin, secrets, [ADMIN], "SCRAM-SHA-512")
    (data / SCRAM_MARKER).touch()
