"""`archipel infra up` reconciles the Kafka ACLs (issue 13), tried on the real broker: a grant that no
longer follows from the services' declarations (here a stray one: registration may read the
documents topic, a group of the results service) is removed and no longer in force, the expected
grants stay, and the ACLs of another deployment on the same broker (the test's own prefixes, as
tests/conftest.py's kafka_grants gives them) are left alone until that deployment reconciles."""

from __future__ import annotations

import asyncio
import logging

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePatternFilter
from kafka.admin import ResourceType as Resource
from kafka.errors import TopicAuthorizationFailedError

from shared.infra import acl_reconcile
from shared.infra.acl_reconcile import reconcile
from shared.infra.acls import Grant, deployment_grants, grant, principals, revoke, secure_local
from shared.infra.topics import admin_client
from shared.kafka import ADMIN, KafkaAccess, consumer_config, kafka_access
from shared.settings import Settings

Key = tuple[str, str, str, str, str, str]


@pytest.fixture(autouse=True)
def _secured(base_settings: Settings) -> None:
    assert base_settings.resolved_kafka_security() == "SASL_SSL", "the local broker must be the secured one"


def acls_in_force(admin: KafkaAccess) -> set[Key]:
    """Every ACL of the deployments' principals, as the broker describes them."""
    found: set[Key] = set()
    any_resource = ResourcePatternFilter(Resource.ANY, None, ACLResourcePatternType.ANY)
    with admin_client(admin) as client:
        for principal in principals():
            query = ACLFilter(f"User:{principal}", None, ACLOperation.ANY, ACLPermissionType.ANY, any_resource)
            acls, _ = client.describe_acls(query)
            found.update(acl_key(acl) for acl in acls)
    return found


def acl_key(acl: ACL) -> Key:
    pattern = acl.resource_pattern
    return (
        acl.principal,
        acl.permission_type.name,
        acl.operation.name,
        pattern.resource_type.name,
        pattern.resource_name,
        pattern.pattern_type.name,
    )


def key(g: Grant) -> Key:
    return (f"User:{g.principal}", "ALLOW", g.operation, g.resource, g.name, "PREFIXED" if g.prefixed else "LITERAL")


def end_offsets(access: KafkaAccess, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(**consumer_config(access))
    try:
        return dict(consumer.end_offsets([TopicPartition(topic, 0)]))
    finally:
        consumer.close()


async def test_infra_up_removes_the_acls_that_no_longer_follow_and_only_its_own(
    base_settings: Settings, isolated_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    base, other = base_settings, isolated_settings  # `other`: a second deployment on the same broker
    admin = kafka_access(base, ADMIN)
    stray = [
        Grant("registration", "READ", "TOPIC", base.topic("documents")),  # it does not consume documents
        Grant("registration", "READ", "GROUP", f"{base.db_schema_prefix}results_outcomes"),  # the results'
        Grant("auditor", "WRITE", "TOPIC", base.topic("results")),
    ]
    foreign = Grant("registration", "READ", "TOPIC", other.topic("documents"))  # the other deployment's names
    await asyncio.to_thread(reconcile, admin, base)  # in step with the declarations of this tree first
    await asyncio.to_thread(grant, admin, [*stray, foreign])
    try:
        before = await asyncio.to_thread(acls_in_force, admin)
        assert {key(g) for g in [*stray, foreign]} <= before
        registration = kafka_access(base, "registration")
        assert await asyncio.to_thread(end_offsets, registration, base.topic("documents"))  # the stray works

        with caplog.at_level(logging.INFO, logger=acl_reconcile.__name__):
            changes = await asyncio.to_thread(secure_local, base, admin)  # what `archipel infra up` runs

        assert {acl_key(a) for a in changes.removed} == {key(g) for g in stray}
        assert changes.added == ()
        after = await asyncio.to_thread(acls_in_force, admin)
        assert not {key(g) for g in stray} & after
        assert {key(g) for g in deployment_grants(base)} <= after  # the expected grants are intact
        assert {key(g) for g in [*deployment_grants(other), foreign]} <= after  # another deployment's too
        assert after == before - {key(g) for g in stray}
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.to_thread(end_offsets, registration, base.topic("documents"))
        assert await asyncio.to_thread(end_offsets, registration, base.topic("results"))  # what it consumes
        removed = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(removed) == 3
        assert any(f"User:registration ALLOW READ TOPIC {base.topic('documents')}" in line for line in removed)

        # The other deployment reconciles in turn: its stray grant goes, and nothing of the base's.
        changes = await asyncio.to_thread(reconcile, admin, other)
        assert {acl_key(a) for a in changes.removed} == {key(foreign)} and changes.added == ()
        final = await asyncio.to_thread(acls_in_force, admin)
        assert final == after - {key(foreign)}
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.to_thread(end_offsets, kafka_access(other, "registration"), other.topic("documents"))

        # A grant that follows from the declarations but went missing is added back.
        lost = next(g for g in deployment_grants(base) if g.principal == "documents" and g.operation == "READ")
        await asyncio.to_thread(revoke, admin, [lost])
        changes = await asyncio.to_thread(reconcile, admin, base)
        assert changes.added == (lost,) and changes.removed == ()
        assert key(lost) in await asyncio.to_thread(acls_in_force, admin)
    finally:
        await asyncio.to_thread(revoke, admin, [*stray, foreign])  # if the reconciliation failed
        await asyncio.to_thread(grant, admin, deployment_grants(base))
