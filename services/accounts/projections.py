"""The accounts read model: one row per account with its status."""

from __future__ import annotations

from services.accounts.streams import account_of
from shared.contracts.accounts import (
    AccountActivated,
    AccountCreated,
    AccountDeactivated,
    AccountExpired,
    ActivationLinkSent,
    CandidateForgotten,
)
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class AccountsReadModel(Projection):
    name = "accounts_read_model"
    tables = ("account_status",)
    event_types = frozenset(
        {
            AccountCreated.event_type,
            ActivationLinkSent.event_type,
            AccountActivated.event_type,
            AccountExpired.event_type,
            AccountDeactivated.event_type,
            CandidateForgotten.event_type,
        }
    )
    migrations = (
        Migration(
            "accounts_0002_read_model",
            """
            CREATE TABLE account_status (
                account_id uuid PRIMARY KEY,
                email text NOT NULL,
                last_name text NOT NULL,
                first_names text NOT NULL,
                academy text NOT NULL,
                role text NOT NULL,
                status text NOT NULL,
                created_at timestamptz NOT NULL,
                link_expires_at timestamptz,
                activated_at timestamptz
            );
            CREATE INDEX account_status_academy ON account_status (academy, status);
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        account_id = account_of(envelope.stream_id)
        if isinstance(event, AccountCreated):
            await connection.execute(
                "INSERT INTO account_status (account_id, email, last_name, first_names, academy, role,"
                " status, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending_activation', $7)",
                event.account_id,
                event.email,
                event.last_name,
                event.first_names,
                event.academy,
                event.role.value,
                envelope.occurred_at,
            )
        elif isinstance(event, ActivationLinkSent):
            await connection.execute(
                "UPDATE account_status SET link_expires_at = $2 WHERE account_id = $1",
                account_id,
                event.expires_at,
            )
        elif isinstance(event, AccountActivated):
            await connection.execute(
                "UPDATE account_status SET status = 'active', activated_at = $2 WHERE account_id = $1",
                account_id,
                event.activated_at,
            )
        elif isinstance(event, AccountExpired):
            await connection.execute("UPDATE account_status SET status = 'expired' WHERE account_id = $1", account_id)
        elif isinstance(event, AccountDeactivated):
            await connection.execute(
                "UPDATE account_status SET status = 'deactivated' WHERE account_id = $1", account_id
            )
        elif isinstance(event, CandidateForgotten):  # issue 13 part 7: the erased values, as a replay reads them
            await connection.execute(
                "UPDATE account_status SET email = '', last_name = '', first_names = '' WHERE account_id = $1",
                account_id,
            )
