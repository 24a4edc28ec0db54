"""The TOTP secrets of staff, auditors and administrators (services.accounts.second_factor), in the
accounts service's private tables, sealed at rest (issue 13): AES-256-GCM under the TOTP
key-encryption key, which is not in the database (ARCHIPEL_TOTP_KEK, else `<secrets>/totp-kek`,
0600; shared.kek), each value bound to its account and table. A dump of the database gives no
second factor; a value altered, moved to another account or sealed under another key does not
open: the login is refused like a wrong code and one line is logged.

Secrets enrolled before they were sealed (a development database) are sealed once, when the
accounts API starts (`seal_clear_secrets`, the service's `on_start`): the clear column is then
dropped and the table rewritten, so that no clear value is read, or kept, afterwards."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

import asyncpg

from shared.kek import Sealer, Unsealable, load_kek
from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Enrolled:
    """An enrolled TOTP secret and the last time step a code was accepted for (it serves once)."""

    secret: str
    last_step: int


class SecondFactors(Protocol):
    """The TOTP secrets: pending until confirmed, then enrolled."""

    def seal(self, account_id: UUID, secret: str) -> bytes:
        """The enrolled secret as written with SecondFactorEnrolled (services.accounts.private)."""
        ...

    async def begin(self, account_id: UUID, secret: str, now: datetime) -> None:
        """A new pending secret (it replaces an older pending one)."""
        ...

    async def pending(self, account_id: UUID) -> str | None: ...

    async def enrolled(self, account_id: UUID) -> Enrolled | None:
        """None for an account without one, or whose sealed secret does not open (logged)."""
        ...

    async def use_step(self, account_id: UUID, step: int) -> bool:
        """Records `step` as used when it is later than the last one; False otherwise (a replay)."""
        ...


def totp_sealer(settings: Settings) -> Sealer:
    return Sealer(load_kek(settings.totp_kek, settings.totp_kek_path(), "the TOTP key-encryption key"))


def _enrolled(account_id: UUID) -> str:
    return f"archipel-totp:{account_id}"


def _pending(account_id: UUID) -> str:
    return f"archipel-totp-pending:{account_id}"


class PgSecondFactors:
    def __init__(self, pool: asyncpg.Pool, sealer: Sealer) -> None:
        self.pool = pool
        self.sealer = sealer

    def seal(self, account_id: UUID, secret: str) -> bytes:
        return self.sealer.seal(_enrolled(account_id), secret.encode())

    def _open(self, account_id: UUID, context: str, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        try:
            return self.sealer.open(context, sealed).decode()
        except Unsealable:
            log.error(
                "refused: the TOTP secret (%s) of account %s does not open under the TOTP key (altered, moved, or"
                " another ARCHIPEL_TOTP_KEK / totp-kek)",
                context.split(":", 1)[0],
                account_id,
            )
            return None

    async def begin(self, account_id: UUID, secret: str, now: datetime) -> None:
        await self.pool.execute(
            "INSERT INTO totp_pending (account_id, sealed, created_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (account_id) DO UPDATE SET sealed = EXCLUDED.sealed, created_at = EXCLUDED.created_at",
            account_id,
            self.sealer.seal(_pending(account_id), secret.encode()),
            now,
        )

    async def pending(self, account_id: UUID) -> str | None:
        sealed = await self.pool.fetchval("SELECT sealed FROM totp_pending WHERE account_id = $1", account_id)
        return self._open(account_id, _pending(account_id), sealed)

    async def enrolled(self, account_id: UUID) -> Enrolled | None:
        row = await self.pool.fetchrow("SELECT sealed, last_step FROM totp_secrets WHERE account_id = $1", account_id)
        secret = self._open(account_id, _enrolled(account_id), row["sealed"]) if row else None
        return Enrolled(secret, row["last_step"]) if row and secret is not None else None

    async def use_step(self, account_id: UUID, step: int) -> bool:
        used = await self.pool.fetchval(
            "UPDATE totp_secrets SET last_step = $2 WHERE account_id = $1 AND last_step < $2 RETURNING last_step",
            account_id,
            step,
        )
        return used is not None


async def seal_clear_secrets(pool: asyncpg.Pool, sealer: Sealer) -> int:
    """Once, after the migration accounts_0006: seals the secrets enrolled in clear before it, drops
    the clear column and rewrites the tables (no old row version keeps a clear secret). Returns how
    many were sealed (0 when done already: the clear column is gone)."""
    async with pool.acquire() as connection:
        async with connection.transaction():
            await connection.execute("LOCK TABLE totp_secrets IN ACCESS EXCLUSIVE MODE")
            clear = await connection.fetchval(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = 'totp_secrets' AND column_name = 'secret'"
            )
            if not clear:
                return 0
            rows = await connection.fetch("SELECT account_id, secret FROM totp_secrets WHERE secret IS NOT NULL")
            for row in rows:
                sealed = sealer.seal(_enrolled(row["account_id"]), row["secret"].encode())
                await connection.execute(
                    "UPDATE totp_secrets SET sealed = $2, secret = NULL WHERE account_id = $1",
                    row["account_id"],
                    sealed,
                )
            await connection.execute("ALTER TABLE totp_secrets DROP COLUMN secret, ALTER COLUMN sealed SET NOT NULL")
        await connection.execute("VACUUM FULL totp_secrets, totp_pending")
    if rows:
        log.info("sealed %d TOTP secret(s) stored in clear before issue 13's sealing", len(rows))
    return len(rows)
