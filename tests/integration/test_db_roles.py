"""The database roles, tried as an attacker holding one service's credentials would: each service
connects as its own role (`archipel_<service>`), owns its schema and cannot read another's; the
auditor reads every service's tables and writes none; no connection without the right password.
The server in force must have the roles (`archipel infra up` makes them; deploy/postgres-roles.sql
on an external server)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from archipel_cli.services import specs
from shared.db import drop_schema
from shared.service import open_store
from shared.settings import SERVICES, Settings

DENIED = (asyncpg.InsufficientPrivilegeError, asyncpg.ReadOnlySQLTransactionError)
REFUSED = (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)


@pytest.fixture
async def started(base_settings: Settings, database_url: str, unique: str) -> AsyncIterator[Settings]:
    """A deployment of its own (a schema prefix; no Kafka needed) where every service's store was
    opened once, as its own role: its schema and tables exist. The superuser drops them after."""
    settings = base_settings.model_copy(update={"database_url": database_url, "db_schema_prefix": f"t{unique}_"})
    try:
        async with contextlib.AsyncExitStack() as stack:
            for spec in specs():
                await stack.enter_async_context(open_store(settings, spec, max_size=1))
        yield settings
    finally:
        for name in [*SERVICES, "planted"]:
            await drop_schema(database_url, settings.db_schema(name))


def _user(url: str) -> str | None:
    return urlsplit(url).username


def _without_password(url: str, password: str | None = None) -> str:
    """`url` with no password at all (no passfile either), or with `password`."""
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qsl(parts.query) if k != "passfile"}
    host = parts.netloc.rpartition("@")[2]
    user = _user(url)
    netloc = f"{user}:{password}@{host}" if password else f"{user}@{host}"
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode({**query, "passfile": "/nonexistent"})))


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=10)


async def test_each_service_connects_as_its_own_role_and_owns_its_schema(started: Settings) -> None:
    admin = await _connect(started.resolved_database_url())
    try:
        for name in SERVICES:
            url = started.database_url_for(name)
            assert _user(url) == f"archipel_{name}", "the server in force has no roles: run `archipel infra up`"
            owner = await admin.fetchval(
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", started.db_schema(name)
            )
            assert owner == f"archipel_{name}"
            tables = await admin.fetch(
                "SELECT tableowner FROM pg_tables WHERE schemaname = $1", started.db_schema(name)
            )
            assert tables and {row["tableowner"] for row in tables} == {f"archipel_{name}"}
    finally:
        await admin.close()


async def test_the_registration_role_cannot_read_or_touch_the_accounts_tables(started: Settings) -> None:
    accounts = started.db_schema("accounts")
    registration = await _connect(started.database_url_for("registration"))
    try:
        assert await registration.fetchval(f"SELECT count(*) FROM {started.db_schema('registration')}.events") == 0
        for statement in (
            f"SELECT * FROM {accounts}.events",
            f"SELECT * FROM {accounts}.schema_migrations",
            f"DELETE FROM {accounts}.events",
            f"CREATE TABLE {accounts}.planted (id int)",
            f"ALTER SCHEMA {accounts} RENAME TO stolen_{accounts}",
            f"DROP SCHEMA {accounts} CASCADE",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await registration.execute(statement)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # nor any other service's
            await registration.fetch(f"SELECT * FROM {started.db_schema('results')}.events")
    finally:
        await registration.close()


async def test_the_auditor_reads_every_service_and_writes_nothing(started: Settings) -> None:
    url = started.database_url_for("auditor")
    assert _user(url) == "archipel_auditor"
    auditor = await _connect(url)
    try:
        for name in SERVICES:
            schema = started.db_schema(name)
            assert await auditor.fetchval(f"SELECT count(*) FROM {schema}.events") == 0
            assert await auditor.fetchval(f"SELECT count(*) FROM {schema}.schema_migrations") > 0
            writes = (
                f"INSERT INTO {schema}.schema_migrations (id) VALUES ('planted')",
                f"UPDATE {schema}.schema_migrations SET applied_at = now()",
                f"DELETE FROM {schema}.schema_migrations",
                f"TRUNCATE {schema}.events",
                f"CREATE TABLE {schema}.planted (id int)",
            )
            for statement in writes:
                with pytest.raises(DENIED):  # its sessions are read only ...
                    await auditor.execute(statement)
            async with auditor.transaction(readonly=False):
                await auditor.execute("SET LOCAL transaction_read_only = off")
                for statement in writes:  # ... and, read-write, it has no privilege to write
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        async with auditor.transaction():
                            await auditor.execute(statement)
        with pytest.raises(DENIED):
            await auditor.execute(f"CREATE SCHEMA {started.db_schema('planted')}")
    finally:
        await auditor.close()


@pytest.mark.parametrize("role", ["postgres", "registration", "auditor"])
async def test_a_connection_without_the_password_is_refused(started: Settings, role: str) -> None:
    url = started.resolved_database_url() if role == "postgres" else started.database_url_for(role)
    for attempt in (_without_password(url), _without_password(url, "wrong-password")):
        with pytest.raises(REFUSED):
            connection = await _connect(attempt)
            await connection.close()
