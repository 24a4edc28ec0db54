"""PostgreSQL connections and migrations. Each service owns a schema (its own tables, its own
migrations); pools set `search_path` to it so SQL names stay unqualified."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection = asyncpg.Connection | PoolConnectionProxy
"""A connection, whether held directly or borrowed from a pool."""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_identifier(name: str) -> str:
    """Schema and table names are interpolated into SQL: only plain identifiers are allowed."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


@dataclass(frozen=True)
class Migration:
    """One forward step of a schema; `id` orders the steps and is recorded once applied."""

    id: str
    sql: str


async def create_pool(
    dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10, create: bool = True
) -> asyncpg.Pool:
    """A pool whose connections work inside `schema` (created if missing, owned by the role of `dsn`,
    unless `create` is false: a reader such as the auditor may create nothing).

    `CREATE SCHEMA IF NOT EXISTS` is not safe against itself: two sessions that both find the schema
    missing both insert it, and the loser fails on the catalogue's unique index. The processes of a
    service start together, so the creation is serialised by a transaction-scoped advisory lock."""
    check_identifier(schema)
    if create:
        connection = await asyncpg.connect(dsn)
        try:
            async with connection.transaction():
                await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('archipel.schema.' || $1::text))", schema
                )
                if not await connection.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
                    await connection.execute(f"CREATE SCHEMA {schema}")
        finally:
            await connection.close()
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, server_settings={"search_path": schema})
    assert pool is not None
    return pool


async def migrate(pool: asyncpg.Pool, migrations: Sequence[Migration]) -> list[str]:
    """Applies the migrations not yet applied, in order, each in its own transaction, under an
    advisory lock so that two processes starting together do not race. Returns the applied ids."""
    ids = [migration.id for migration in migrations]
    if len(set(ids)) != len(ids):
        raise ValueError("migration ids must be unique")
    applied: list[str] = []
    async with pool.acquire() as connection:
        schema = await connection.fetchval("SELECT current_schema()")
        await connection.execute("SELECT pg_advisory_lock(hashtext('archipel.migrate.' || $1::text))", schema)
        try:
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row["id"] for row in await connection.fetch("SELECT id FROM schema_migrations")}
            for migration in migrations:
                if migration.id in done:
                    continue
                async with connection.transaction():
                    await connection.execute(migration.sql)
                    await connection.execute("INSERT INTO schema_migrations (id) VALUES ($1)", migration.id)
                applied.append(migration.id)
        finally:
            await connection.execute("SELECT pg_advisory_unlock(hashtext('archipel.migrate.' || $1::text))", schema)
    return applied


async def drop_schema(dsn: str, schema: str) -> None:
    check_identifier(schema)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await connection.close()
