"""Schemas and migrations against the real PostgreSQL. Every service process (gRPC, relay,
projections) opens its pool at start, so several of them create the same schema and apply the same
migrations at the same moment: none may fail because another got there first."""

from __future__ import annotations

import asyncio

import asyncpg

from shared.db import Migration, create_pool, migrate

MIGRATIONS = (
    Migration("001_notes", "CREATE TABLE notes (id int PRIMARY KEY, text text NOT NULL)"),
    Migration("002_notes_index", "CREATE INDEX notes_text ON notes (text)"),
)


async def test_processes_starting_together_all_open_the_same_new_schema(database_url: str, schema: str) -> None:
    async def start() -> list[str]:
        pool = await create_pool(database_url, schema, min_size=1, max_size=1)
        try:
            return await migrate(pool, MIGRATIONS)
        finally:
            await pool.close()

    for _ in range(3):  # a race shows up only sometimes: give it several chances
        applied = await asyncio.gather(*(start() for _ in range(12)))
        assert sorted(ids for run in applied for ids in run) in ([], ["001_notes", "002_notes_index"])
    connection = await asyncpg.connect(database_url)
    try:
        recorded = await connection.fetch(f"SELECT id FROM {schema}.schema_migrations ORDER BY id")
        await connection.execute(f"INSERT INTO {schema}.notes VALUES (1, 'one')")
    finally:
        await connection.close()
    assert [row["id"] for row in recorded] == ["001_notes", "002_notes_index"]
