"""Who may do what on Kafka (issue 13), derived from the settings and the services' declarations:
each service's principal writes its own topic and the dead-letter topic, reads the topics it
consumes (`Service.projection_topics`) in the consumer groups of its projections and intakes
(`<db_schema_prefix><name>`, literal: exactly its own); the auditor reads every topic of the deployment
(`<topic_prefix>.…`) and describes its groups; the admin is the broker's super user. A deployment
on another prefix (a test's, a second campaign's) is granted the same rules on its own names.

`archipel infra up` reconciles (shared.infra.acl_reconcile): it adds the rules that follow from the
declarations and removes those of the deployment's principals, on the deployment's own names, that
no longer do (a service that stopped consuming a topic no longer reads it); other deployments'
rules stay."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError

from shared.dead_letter import dead_letter_topic
from shared.infra.process import InfraError
from shared.infra.tls import ensure_password
from shared.kafka import AUDITOR, KafkaAccess
from shared.names import SERVICES
from shared.settings import Settings

_SCRAM = {"SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512, "SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256}


@dataclass(frozen=True)
class Grant:
    """One ALLOW rule: `principal` may `operation` the topic or group `name` (or every name
    starting with it, when `prefixed`)."""

    principal: str
    operation: str  # READ, WRITE, DESCRIBE
    resource: str  # TOPIC, GROUP
    name: str
    prefixed: bool = False

    def acl(self) -> ACL:
        pattern = ACLResourcePatternType.PREFIXED if self.prefixed else ACLResourcePatternType.LITERAL
        return ACL(
            principal=f"User:{self.principal}",
            host="*",
            operation=ACLOperation[self.operation],
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(ResourceType[self.resource], self.name, pattern),
        )


def service_grants(
    settings: Settings, service: str, consumed: Sequence[str], groups: Sequence[str] = ()
) -> list[Grant]:
    """What the principal `service` may do in the deployment of `settings`: write its topic and
    the dead letters, read the topics it consumes, in the consumer groups of its projections and
    intakes (each `<db_schema_prefix><name>`, shared.consumers)."""
    return [
        Grant(service, "WRITE", "TOPIC", settings.topic(service)),
        Grant(service, "WRITE", "TOPIC", dead_letter_topic(settings.topic_prefix)),
        *(Grant(service, "READ", "TOPIC", settings.topic(name)) for name in consumed),
        *(Grant(service, "READ", "GROUP", f"{settings.db_schema_prefix}{group}") for group in groups),
    ]


def auditor_grants(settings: Settings) -> list[Grant]:
    groups = Grant(AUDITOR, "DESCRIBE", "GROUP", settings.db_schema_prefix, prefixed=True)
    if not settings.db_schema_prefix:
        groups = Grant(AUDITOR, "DESCRIBE", "GROUP", "*")
    return [Grant(AUDITOR, "READ", "TOPIC", f"{settings.topic_prefix}.", prefixed=True), groups]


@dataclass(frozen=True)
class AclChanges:
    """What a reconciliation did: the rules added, the ACLs removed."""

    added: tuple[Grant, ...]
    removed: tuple[ACL, ...]


@dataclass(frozen=True)
class Consumption:
    topics: tuple[str, ...]  # the services whose topics it reads
    groups: tuple[str, ...]  # its consumer groups, without the deployment's prefix


def consumption(services: Iterable[str] = SERVICES) -> dict[str, Consumption]:
    """What each service reads, from its declaration (services/<name>/service.py): its
    `projection_topics`, and the names of its projections, intakes and reactions (its consumer groups)."""
    found: dict[str, Consumption] = {}
    for name in services:
        declaration = importlib.import_module(f"services.{name}.service").SERVICE
        groups = [
            *(p.name for p in declaration.projections()),
            *(i.name for i in declaration.intakes),
            *(r.name for r in declaration.reactions),
        ]
        found[name] = Consumption(tuple(declaration.projection_topics), tuple(groups))
    return found


def deployment_grants(settings: Settings) -> list[Grant]:
    """Every rule of the deployment of `settings`: its services' and its auditor's."""
    grants = [
        g for name, reads in consumption().items() for g in service_grants(settings, name, reads.topics, reads.groups)
    ]
    return [*grants, *auditor_grants(settings)]


def principals() -> tuple[str, ...]:
    """The SCRAM users `archipel infra up` creates (besides the admin, made at format time)."""
    return (*SERVICES, AUDITOR)


def ensure_principals(admin: KafkaAccess, secrets: Path, names: Sequence[str], mechanism: str) -> None:
    """Each principal of `names` exists with the password kept in `secrets` (made on first use)."""
    from shared.infra.topics import admin_client  # noqa: PLC0415 (topics imports nothing of ours back)

    upserts = [
        UserScramCredentialUpsertion(name, _SCRAM[mechanism], ensure_password(secrets / f"kafka-{name}.password"))
        for name in names
    ]
    with admin_client(admin) as client:
        try:
            failures = {user: error for user, error in client.alter_user_scram_credentials(upserts).items() if error}
        except KafkaError as error:
            raise InfraError(f"cannot create the Kafka principals: {error!r}") from error
    if failures:
        raise InfraError(f"cannot create the Kafka principals: {failures}")


def grant(admin: KafkaAccess, grants: Sequence[Grant]) -> None:
    """Create the rules (creating one that exists changes nothing)."""
    from shared.infra.topics import admin_client  # noqa: PLC0415

    if not grants:
        return
    with admin_client(admin) as client:
        try:
            result = client.create_acls([g.acl() for g in grants])
        except KafkaError as error:
            raise InfraError(f"cannot create the Kafka ACLs: {error!r}") from error
        if result.get("failed"):
            raise InfraError(f"cannot create the Kafka ACLs: {result['failed'][:3]}")
        _wait_until_in_force(client, grants)


def _key(acl: ACL) -> tuple[str, int, int, str, int]:
    pattern = acl.resource_pattern
    return (
        acl.principal,
        int(acl.operation),
        int(pattern.resource_type),
        pattern.resource_name,
        int(pattern.pattern_type),
    )


def _wait_until_in_force(client: KafkaAdminClient, grants: Sequence[Grant], timeout: float = 30.0) -> None:
    """The broker applies new ACLs a moment after the controller has them: wait until it describes
    them all, so that a process started next is not refused."""
    wanted = {_key(g.acl()) for g in grants}
    any_resource = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
    deadline = time.monotonic() + timeout
    while True:
        seen: set[tuple[str, int, int, str, int]] = set()
        for principal in {g.principal for g in grants}:
            query = ACLFilter(f"User:{principal}", None, ACLOperation.ANY, ACLPermissionType.ANY, any_resource)
            found, _ = client.describe_acls(query)
            seen.update(_key(acl) for acl in found)
        if wanted <= seen:
            return
        if time.monotonic() > deadline:
            raise InfraError(f"the Kafka ACLs were not in force within {timeout:.0f} s: {sorted(wanted - seen)[:3]}")
        time.sleep(0.1)


def revoke(admin: KafkaAccess, grants: Sequence[Grant]) -> None:
    from shared.infra.topics import admin_client  # noqa: PLC0415

    if not grants:
        return
    with admin_client(admin) as client:
        try:
            client.delete_acls([g.acl() for g in grants])
        except KafkaError as error:
            raise InfraError(f"cannot delete the Kafka ACLs: {error!r}") from error


def secure_local(settings: Settings, admin: KafkaAccess) -> AclChanges:
    """The local broker's principals (their passwords in the secrets folder) and the ACLs of the
    deployment of `settings`, reconciled; nothing for an open (PLAINTEXT) broker."""
    if not admin.sasl:
        return AclChanges((), ())
    from shared.infra.acl_reconcile import reconcile  # noqa: PLC0415 (it builds on this module)

    ensure_principals(admin, settings.secrets_path(), principals(), settings.kafka_sasl_mechanism)
    return reconcile(admin, settings)
