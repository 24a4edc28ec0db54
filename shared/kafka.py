"""Kafka conventions (DESIGN rule 6): topic `archipel.<service>.events`, key = candidate id,
headers = event type, schema version, event id and trace context; acks=all, idempotent producer.
Every client connects through a `KafkaAccess` (issue 13): the cluster, and the principal a process
acts as (SASL_SSL with SCRAM-SHA-512 by default), whatever the client library."""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.events import EnvelopeHeader
from shared.settings import Settings

Headers = list[tuple[str, bytes]]

ADMIN = "admin"  # creates topics, principals and ACLs; the tests' and the bench's own clients
AUDITOR = "auditor"  # reads every topic of a deployment, writes nothing


@dataclass(frozen=True)
class KafkaAccess:
    """Where the cluster is and who connects: kwargs for kafka-python, aiokafka and FastStream."""

    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    mechanism: str = "SCRAM-SHA-512"

    @property
    def servers(self) -> list[str]:
        return self.bootstrap_servers.split(",")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.security_protocol.endswith("SSL"):
            return None
        return ssl.create_default_context(cafile=self.ca_file)

    def kafka_python(self) -> dict[str, Any]:
        """Connection kwargs of kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        config: dict[str, Any] = {"bootstrap_servers": self.servers, "security_protocol": self.security_protocol}
        if self.security_protocol.endswith("SSL"):
            config.update(ssl_cafile=self.ca_file, ssl_check_hostname=True)
        if self.sasl:
            config.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username)
            config.update(sasl_plain_password=self.password)
        return config

    def aiokafka(self) -> dict[str, Any]:
        """Connection kwargs of AIOKafkaProducer and AIOKafkaConsumer."""
        config: dict[str, Any] = {"bootstrap_servers": self.servers, "security_protocol": self.security_protocol}
        if self.security_protocol.endswith("SSL"):
            config["ssl_context"] = self.ssl_context()
        if self.sasl:
            config.update(sasl_mechanism=self.mechanism, sasl_plain_username=self.username)
            config.update(sasl_plain_password=self.password)
        return config

    def faststream(self) -> dict[str, Any]:
        """Connection kwargs of FastStream's KafkaBroker."""
        from faststream.security import (  # noqa: PLC0415 (FastStream only where a broker is made)
            BaseSecurity,
            SASLPlaintext,
            SASLScram256,
            SASLScram512,
        )

        context = self.ssl_context()
        security: BaseSecurity | None = BaseSecurity(ssl_context=context) if context else None
        if self.sasl:
            kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}
            security = kind[self.mechanism](
                str(self.username), str(self.password), ssl_context=context, use_ssl=context is not None
            )
        return {"bootstrap_servers": self.bootstrap_servers, "security": security}


def password_file(settings: Settings, principal: str) -> Path:
    """Where `archipel infra up` keeps a principal's password for the local broker (mode 0600)."""
    return settings.secrets_path() / f"kafka-{principal}.password"


def ca_file(settings: Settings) -> Path:
    return settings.kafka_ca_file or settings.secrets_path() / "ca.pem"


def kafka_access(settings: Settings, principal: str) -> KafkaAccess:
    """How a process acting as `principal` (a service's name, AUDITOR or ADMIN) connects: the
    username and password of the environment (an external cluster: one per process), else the
    principal's password made by `archipel infra up` for the local broker."""
    protocol = settings.resolved_kafka_security()
    username, password = settings.kafka_sasl_username, settings.kafka_sasl_password
    if protocol.startswith("SASL") and username is None:
        username = principal
        try:
            password = password_file(settings, principal).read_text().strip()
        except OSError:
            raise RuntimeError(
                f"no ARCHIPEL_KAFKA_SASL_USERNAME and no password of the Kafka principal {principal!r} in "
                f"{settings.secrets_path()}: run `archipel infra up` first"
            ) from None
    ca = ca_file(settings)
    return KafkaAccess(
        bootstrap_servers=settings.resolved_kafka(),
        security_protocol=protocol,
        username=username,
        password=password,
        ca_file=str(ca) if protocol.endswith("SSL") and ca.exists() else None,
        mechanism=settings.kafka_sasl_mechanism,
    )


def producer_config(access: KafkaAccess) -> dict[str, Any]:
    return {
        **access.kafka_python(),
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "retries": 2**31 - 1,
        "linger_ms": 5,
        "compression_type": None,
    }


def consumer_config(access: KafkaAccess) -> dict[str, Any]:
    """A kafka-python KafkaConsumer reading by assignment from the first offset, committing nothing."""
    return {**access.kafka_python(), "group_id": None, "enable_auto_commit": False, "auto_offset_reset": "earliest"}


def headers_for(envelope: EnvelopeHeader, trace_context: Mapping[str, str]) -> Headers:
    headers: Headers = [
        ("event_type", envelope.event_type.encode()),
        ("schema_version", str(envelope.schema_version).encode()),
        ("event_id", str(envelope.event_id).encode()),
        ("academy", envelope.academy.encode()),
    ]
    headers.extend((key, value.encode()) for key, value in trace_context.items())
    return headers


def decode_headers(headers: Iterable[tuple[str, bytes | str | None]]) -> dict[str, str]:
    decoded: dict[str, str] = {}
    for key, value in headers:
        if value is None:
            continue
        # A hostile record's headers must not make it unreadable: bad bytes are replaced.
        decoded[key] = value.decode(errors="replace") if isinstance(value, bytes) else value
    return decoded
