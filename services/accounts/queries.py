"""Read port of the accounts API: the accounts read model (`account_status`)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


class AccountsQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def account(self, account_id: UUID) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.pool.fetchrow(
            "SELECT * FROM account_status WHERE account_id = $1", account_id
        )
        return row
