"""`archipel infra up | down | status` as functions: bring up PostgreSQL and Kafka (local servers
under `settings.home`, or the external ones of DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS), create the
topics, the local signing key and the gRPC certificates, and record the endpoints in
`settings.infra_file`."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shared.grpc_tls import ensure_local_certificates
from shared.infra import acls, kafka, postgres
from shared.infra.process import InfraError
from shared.infra.topics import ensure_topics
from shared.kafka import ADMIN, kafka_access
from shared.settings import SERVICES, Settings
from shared.token_keys import ensure_keys


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    kafka_bootstrap_servers: str


@dataclass(frozen=True)
class ServerStatus:
    name: str
    endpoint: str
    local: bool
    answers: bool


def endpoints(settings: Settings) -> Endpoints:
    """The endpoints in force: the environment's, else the local servers'."""
    return Endpoints(
        database_url=settings.database_url or postgres.local_url(settings),
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers or kafka.local_bootstrap(settings),
    )


@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    """One `up` or `down` at a time per home (e.g. parallel make targets)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with (settings.home / "infra.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def up(settings: Settings) -> Endpoints:
    """Make both servers answer and the topics exist; idempotent and fast when all is up.
    Raises InfraError with a one-line reason (plus a log tail) on failure."""
    found = endpoints(settings)
    with _lock(settings):
        if settings.database_url:
            if not postgres.answers(settings.database_url):
                raise InfraError(f"DATABASE_URL does not answer: {redact(settings.database_url)}")
        else:
            postgres.start(settings)
        if settings.kafka_bootstrap_servers:
            admin = kafka_access(settings, ADMIN)
            if not kafka.answers(admin, timeout=10.0):
                raise InfraError(f"KAFKA_BOOTSTRAP_SERVERS does not answer: {found.kafka_bootstrap_servers}")
            replication = None
        else:
            kafka.start(settings)
            admin = kafka.local_admin(settings)
            acls.secure_local(settings, admin)  # its principals and their ACLs
            replication = 1
        ensure_topics(
            admin,
            [settings.topic(service) for service in SERVICES],
            settings.kafka_partitions,
            replication,
        )
        ensure_local_certificates(settings)  # gRPC's, from the local CA (unless given or plaintext)
        if settings.token_signing_key_file is None:  # the local default: the token keys under home/keys
            ensure_keys(settings.home / "keys")
        _write_json(
            settings.infra_file,
            {
                "database_url": found.database_url,
                "kafka_bootstrap_servers": found.kafka_bootstrap_servers,
                "kafka_security_protocol": admin.security_protocol,
                "started": {
                    "postgres": not settings.database_url,
                    "kafka": not settings.kafka_bootstrap_servers,
                },
            },
        )
    return found


def down(settings: Settings, purge: bool = False) -> None:
    """Stop the local servers of this home (never external ones); with `purge`, delete their data
    too. Idempotent."""
    if not settings.home.exists():
        return
    with _lock(settings):
        errors: list[str] = []
        for server in (kafka, postgres):
            try:
                server.stop(settings)
            except InfraError as error:
                errors.append(str(error))
        if errors:
            raise InfraError("; ".join(errors))
        if purge:
            kafka.purge(settings)
            postgres.purge(settings)
        settings.infra_file.unlink(missing_ok=True)


def status(settings: Settings) -> list[ServerStatus]:
    """Whether each server in force answers."""
    found = endpoints(settings)
    return [
        ServerStatus(
            "postgres", redact(found.database_url), not settings.database_url, postgres.answers(found.database_url)
        ),
        ServerStatus(
            "kafka",
            found.kafka_bootstrap_servers,
            not settings.kafka_bootstrap_servers,
            kafka.answers(
                kafka_access(settings, ADMIN) if settings.kafka_bootstrap_servers else kafka.local_admin(settings)
            ),
        ),
    ]


def _write_json(path: Path, content: dict[str, object]) -> None:
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(content, indent=2) + "\n")
    staging.replace(path)


def redact(url: str) -> str:
    """The URL without its password, for messages and banners."""
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, credentials = head.partition("//")
    user = credentials.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"
