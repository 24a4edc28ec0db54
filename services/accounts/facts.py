"""Read port of the accounts commands: what they need from outside an account's stream (the
private tables written with the events), over asyncpg, and an in-memory fake for unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

import asyncpg


class AccountsFacts(Protocol):
    async def account_for_email(self, email: str) -> UUID | None: ...

    async def account_for_token(self, token_digest: str) -> UUID | None: ...

    async def password_hash(self, account_id: UUID) -> str | None: ...


class PgAccountsFacts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def account_for_email(self, email: str) -> UUID | None:
        found: UUID | None = await self.pool.fetchval("SELECT account_id FROM account_emails WHERE email = $1", email)
        return found

    async def account_for_token(self, token_digest: str) -> UUID | None:
        found: UUID | None = await self.pool.fetchval(
            "SELECT account_id FROM activation_tokens WHERE token_digest = $1", token_digest
        )
        return found

    async def password_hash(self, account_id: UUID) -> str | None:
        found: str | None = await self.pool.fetchval(
            "SELECT password_hash FROM credentials WHERE account_id = $1", account_id
        )
        return found


@dataclass
class InMemoryAccountsFacts:
    emails: dict[str, UUID] = field(default_factory=dict)
    tokens: dict[str, UUID] = field(default_factory=dict)
    hashes: dict[UUID, str] = field(default_factory=dict)

    async def account_for_email(self, email: str) -> UUID | None:
        return self.emails.get(email)

    async def account_for_token(self, token_digest: str) -> UUID | None:
        return self.tokens.get(token_digest)

    async def password_hash(self, account_id: UUID) -> str | None:
        return self.hashes.get(account_id)
