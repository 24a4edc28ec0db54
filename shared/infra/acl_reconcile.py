"""`archipel infra up` reconciles the Kafka ACLs of its deployment (issue 13): the rules that follow
from the services' declarations (shared.infra.acls.deployment_grants) are added, and those of the
deployment's principals, on the deployment's own topics and consumer groups, that no longer follow
from them are removed (a service that stopped consuming a topic no longer reads it). Other
deployments' rules on the same broker (a test's, another campaign's, on other prefixes) and other
resources are never touched. Each change is logged: a removal as a warning, additions as info."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import KafkaError

from shared.infra.acls import AclChanges, consumption, deployment_grants, grant, principals
from shared.infra.process import InfraError
from shared.kafka import KafkaAccess
from shared.settings import Settings

log = logging.getLogger(__name__)


AclKey = tuple[str, str, int, int, int, str, int]


def _exact(acl: ACL) -> AclKey:
    """An ACL whole: principal, host, operation, permission and resource pattern."""
    pattern = acl.resource_pattern
    return (
        acl.principal,
        acl.host,
        int(acl.operation),
        int(acl.permission_type),
        int(pattern.resource_type),
        str(pattern.resource_name),
        int(pattern.pattern_type),
    )


def describe(acl: ACL) -> str:
    """One line for a log: `User:registration ALLOW READ TOPIC archipel.results.events`."""
    pattern = acl.resource_pattern
    kind = "" if pattern.pattern_type == ACLResourcePatternType.LITERAL else f" ({pattern.pattern_type.name})"
    host = "" if acl.host == "*" else f" from {acl.host}"
    return (
        f"{acl.principal} {acl.permission_type.name} {acl.operation.name} "
        f"{pattern.resource_type.name} {pattern.resource_name}{kind}{host}"
    )


def owned(settings: Settings, acl: ACL) -> bool:
    """Whether `acl` is the deployment's to manage: one of its principals', on its topics (named
    `<topic_prefix>.…`) or its consumer groups (`<db_schema_prefix>…`; with no prefix, exactly the
    names of the services' groups, so that a prefixed deployment's groups are never taken for its
    own). Other resources and other deployments' names are never touched."""
    if acl.principal.removeprefix("User:") not in principals():
        return False
    pattern = acl.resource_pattern
    name = str(pattern.resource_name)
    if pattern.resource_type == ResourceType.TOPIC:
        return name.startswith(f"{settings.topic_prefix}.")
    if pattern.resource_type == ResourceType.GROUP:
        if settings.db_schema_prefix:
            return name.startswith(settings.db_schema_prefix)
        return name == "*" or name in {group for reads in consumption().values() for group in reads.groups}
    return False


def reconcile(admin: KafkaAccess, settings: Settings) -> AclChanges:
    """The ACLs of the deployment of `settings` become exactly `deployment_grants(settings)`: the
    missing ones are added, those of its principals on its own names that no longer follow from the
    declarations are removed (and no longer in force when this returns); each change is logged."""
    from shared.infra.topics import admin_client  # noqa: PLC0415

    wanted = deployment_grants(settings)
    wanted_keys = {_exact(g.acl()) for g in wanted}
    any_resource = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
    with admin_client(admin) as client:
        try:
            present: list[ACL] = []
            for principal in principals():
                query = ACLFilter(f"User:{principal}", None, ACLOperation.ANY, ACLPermissionType.ANY, any_resource)
                found, error = client.describe_acls(query)
                if error and error.errno:
                    raise InfraError(f"cannot list the Kafka ACLs of {principal}: {error!r}")
                present.extend(found)
            stray = [acl for acl in present if owned(settings, acl) and _exact(acl) not in wanted_keys]
            if stray:
                failed = [error for _, _, error in client.delete_acls(stray) if error and error.errno]
                if failed:
                    raise InfraError(f"cannot delete the Kafka ACLs no longer derived: {failed[:3]}")
                _wait_until_gone(client, stray)
        except KafkaError as error:
            raise InfraError(f"cannot reconcile the Kafka ACLs: {error!r}") from error
    present_keys = {_exact(acl) for acl in present}
    missing = [g for g in wanted if _exact(g.acl()) not in present_keys]
    grant(admin, missing)
    for acl in stray:
        log.warning("kafka ACL removed (no longer derived from the services' declarations): %s", describe(acl))
    if missing:
        log.info("kafka ACLs added: %s", "; ".join(describe(g.acl()) for g in missing))
    return AclChanges(tuple(missing), tuple(stray))


def _wait_until_gone(client: KafkaAdminClient, removed: Sequence[ACL], timeout: float = 30.0) -> None:
    """The broker stops applying deleted ACLs a moment after the controller: wait until it no
    longer describes them, so that what they allowed is refused from now on."""
    gone = {_exact(acl) for acl in removed}
    any_resource = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
    deadline = time.monotonic() + timeout
    while True:
        seen: set[AclKey] = set()
        for principal in {acl.principal for acl in removed}:
            query = ACLFilter(principal, None, ACLOperation.ANY, ACLPermissionType.ANY, any_resource)
            found, _ = client.describe_acls(query)
            seen.update(_exact(acl) for acl in found)
        if not gone & seen:
            return
        if time.monotonic() > deadline:
            raise InfraError(f"deleted Kafka ACLs still in force after {timeout:.0f} s: {sorted(gone & seen)[:3]}")
        time.sleep(0.1)
