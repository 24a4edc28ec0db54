"""Read port of the accounts commands: what they need from outside an account's stream (the
private tables written with the events), over asyncpg, and an in-memory fake for unit tests; and
the rate limits' counter (a PostgreSQL table: it survives restarts and is shared by every instance
of the service)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

import asyncpg


class AccountsFacts(Protocol):
    async def account_for_email(self, email: str) -> UUID | None: ...

    async def account_for_token(self, token_digest: str) -> UUID | None: ...

    async def account_for_reset_token(self, token_digest: str) -> UUID | None: ...

    async def password_hash(self, account_id: UUID) -> str | None: ...


class AttemptCounter(Protocol):
    async def count(self, action: str, key: str, window_start: datetime) -> int:
        """Counts one more attempt of `action` by `key` in the window starting at `window_start`
        and returns the attempts of that window so far (this one included)."""
        ...


@dataclass(frozen=True)
class UsedRefresh:
    """A refresh token just used (it serves no more): whose, its family, the token version it was
    issued at, and until when it was valid."""

    account_id: UUID
    family: UUID
    token_version: int
    expires_at: datetime


class RefreshTokens(Protocol):
    """The refresh tokens' digests (services.accounts.sessions)."""

    async def store(
        self,
        token_digest: str,
        *,
        account_id: UUID,
        family: UUID,
        token_version: int,
        now: datetime,
        expires_at: datetime,
    ) -> None: ...

    async def use(self, token_digest: str, now: datetime) -> UsedRefresh | None:
        """Marks the token used and returns it, once; None for an unknown or used token (a used one
        revokes its family: every token of it still unused is marked used)."""
        ...


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

    async def account_for_reset_token(self, token_digest: str) -> UUID | None:
        found: UUID | None = await self.pool.fetchval(
            "SELECT account_id FROM reset_tokens WHERE token_digest = $1", token_digest
        )
        return found

    async def password_hash(self, account_id: UUID) -> str | None:
        found: str | None = await self.pool.fetchval(
            "SELECT password_hash FROM credentials WHERE account_id = $1", account_id
        )
        return found


class PgAttemptCounter:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def count(self, action: str, key: str, window_start: datetime) -> int:
        attempts: int = await self.pool.fetchval(
            "INSERT INTO rate_limits (action, key, window_start, attempts) VALUES ($1, $2, $3, 1)"
            " ON CONFLICT (action, key, window_start) DO UPDATE SET attempts = rate_limits.attempts + 1"
            " RETURNING attempts",
            action,
            key,
            window_start,
        )
        if attempts == 1:  # a new window: the key's older windows are of no use any more
            await self.pool.execute(
                "DELETE FROM rate_limits WHERE action = $1 AND key = $2 AND window_start < $3",
                action,
                key,
                window_start,
            )
        return attempts


class PgRefreshTokens:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def store(
        self,
        token_digest: str,
        *,
        account_id: UUID,
        family: UUID,
        token_version: int,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "DELETE FROM refresh_tokens WHERE account_id = $1 AND expires_at < $2", account_id, now
            )
            await connection.execute(
                "INSERT INTO refresh_tokens (token_digest, account_id, family, token_version, expires_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                token_digest,
                account_id,
                family,
                token_version,
                expires_at,
            )

    async def use(self, token_digest: str, now: datetime) -> UsedRefresh | None:
        row = await self.pool.fetchrow(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_digest = $1 AND used_at IS NULL"
            " RETURNING account_id, family, token_version, expires_at",
            token_digest,
            now,
        )
        if row is None:  # unknown, or used already: a replay revokes the family
            await self.pool.execute(
                "UPDATE refresh_tokens SET used_at = $2 WHERE used_at IS NULL"
                " AND family = (SELECT family FROM refresh_tokens WHERE token_digest = $1)",
                token_digest,
                now,
            )
            return None
        return UsedRefresh(row["account_id"], row["family"], row["token_version"], row["expires_at"])


@dataclass
class InMemoryAccountsFacts:
    emails: dict[str, UUID] = field(default_factory=dict)
    tokens: dict[str, UUID] = field(default_factory=dict)
    reset_tokens: dict[str, UUID] = field(default_factory=dict)
    hashes: dict[UUID, str] = field(default_factory=dict)

    async def account_for_email(self, email: str) -> UUID | None:
        return self.emails.get(email)

    async def account_for_token(self, token_digest: str) -> UUID | None:
        return self.tokens.get(token_digest)

    async def account_for_reset_token(self, token_digest: str) -> UUID | None:
        return self.reset_tokens.get(token_digest)

    async def password_hash(self, account_id: UUID) -> str | None:
        return self.hashes.get(account_id)


@dataclass
class InMemoryAttemptCounter:
    attempts: Counter[tuple[str, str, datetime]] = field(default_factory=Counter)

    async def count(self, action: str, key: str, window_start: datetime) -> int:
        self.attempts[(action, key, window_start)] += 1
        return self.attempts[(action, key, window_start)]
