"""The accounts a service knows of, from the accounts topic: one read model shared by every
service that needs a candidate's identity or activation (registration, documents, results), each
in its own schema under the name `<service>_known_accounts`, with one conflict rule: the fields an
event carries are written by it, whatever was there (the projection runner applies each account's
events once and in their order, so the latest wins). An activation that arrives before its
creation (a consumer started late on one partition) keeps a row with the identity still empty.

It also keeps each account's token version (PasswordReset, AccountDeactivated and SecondFactorReset
raise it): the authentication interceptor of the service refuses a token older than it (`versions`,
issue 13 part 6): a reset revokes every earlier token on this service as soon as its event is
applied here.

It reads the accounts' published events (shared.contracts.accounts), so `shared` depends on no
service."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg

from shared.contracts.accounts import (
    AccountActivated,
    AccountCreated,
    AccountDeactivated,
    CandidateForgotten,
    PasswordReset,
    SecondFactorReset,
    with_upcasters,
)
from shared.db import Connection, Migration
from shared.events import Envelope, EventRegistry
from shared.projections import Projection

if TYPE_CHECKING:
    from shared.service import Runtime

INBOUND = with_upcasters(
    EventRegistry(
        [AccountCreated, AccountActivated, PasswordReset, AccountDeactivated, SecondFactorReset, CandidateForgotten]
    )
)
TABLE = "known_accounts"


class KnownAccounts(Projection):
    tables = (TABLE,)
    event_types = frozenset(
        {
            AccountCreated.event_type,
            AccountActivated.event_type,
            PasswordReset.event_type,
            AccountDeactivated.event_type,
            SecondFactorReset.event_type,
            CandidateForgotten.event_type,
        }
    )
    partitioned = True  # an account's rows depend on its own events only
    migrations = (
        Migration(
            "known_accounts_0001",
            """
            CREATE TABLE known_accounts (
                account_id uuid PRIMARY KEY, role text NOT NULL, academy text NOT NULL,
                last_name text NOT NULL, first_names text NOT NULL, birth_date date, email text NOT NULL,
                activated_at timestamptz
            );
            """,
        ),
        Migration(
            "known_accounts_0002",
            "ALTER TABLE known_accounts ADD COLUMN token_version integer NOT NULL DEFAULT 0;",
        ),
    )

    def __init__(self, service: str) -> None:
        self.name = f"{service}_known_accounts"

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        if isinstance(event, AccountCreated):
            await connection.execute(
                "INSERT INTO known_accounts (account_id, role, academy, last_name, first_names, birth_date, email)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id) DO UPDATE SET role = excluded.role,"
                " academy = excluded.academy, last_name = excluded.last_name, first_names = excluded.first_names,"
                " birth_date = excluded.birth_date, email = excluded.email",
                event.account_id,
                event.role,
                event.academy,
                event.last_name,
                event.first_names,
                event.birth_date,
                event.email,
            )
        elif isinstance(event, AccountActivated):
            await connection.execute(
                "INSERT INTO known_accounts (account_id, role, academy, last_name, first_names, email, activated_at)"
                " VALUES ($1, '', $2, '', '', '', $3) ON CONFLICT (account_id) DO UPDATE SET"
                " activated_at = excluded.activated_at",
                event.account_id,
                event.academy,
                event.activated_at,
            )
        elif isinstance(event, PasswordReset | AccountDeactivated | SecondFactorReset):
            await connection.execute(
                "INSERT INTO known_accounts (account_id, role, academy, last_name, first_names, email, token_version)"
                " VALUES ($1, '', '', '', '', '', $2) ON CONFLICT (account_id) DO UPDATE SET"
                " token_version = greatest(known_accounts.token_version, excluded.token_version)",
                event.account_id,
                event.token_version,
            )
        elif isinstance(event, CandidateForgotten):  # issue 13 part 7: the erased values, as a replay reads them
            await connection.execute(
                "UPDATE known_accounts SET last_name = '', first_names = '', birth_date = NULL, email = ''"
                " WHERE account_id = $1",
                event.candidate_id,
            )


class KnownVersions:
    """The accounts' token versions in this service's KnownAccounts (shared.auth.TokenVersions)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def current(self, account: UUID) -> int | None:
        version: int | None = await self.pool.fetchval(
            "SELECT token_version FROM known_accounts WHERE account_id = $1", account
        )
        return version


def versions(runtime: Runtime, pipeline: object) -> KnownVersions:
    """Service.token_versions of a service that keeps KnownAccounts."""
    return KnownVersions(runtime.store.pool)
