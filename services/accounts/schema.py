"""Tables of the accounts service: the event store, the relay and projection bookkeeping, and
private tables written in the same transaction as the events (uniqueness, credentials)."""

from __future__ import annotations

from shared import eventstore, projections, relay
from shared.db import Migration

PRIVATE = (
    Migration(
        "accounts_0001_private",
        """
        CREATE TABLE account_emails (email text PRIMARY KEY, account_id uuid NOT NULL UNIQUE);
        CREATE TABLE credentials (account_id uuid PRIMARY KEY, password_hash text NOT NULL);
        CREATE TABLE activation_tokens (token_digest text PRIMARY KEY, account_id uuid NOT NULL);
        """,
    ),
)


def migrations() -> tuple[Migration, ...]:
    from services.accounts.projections import AccountsReadModel  # noqa: PLC0415

    return (
        *eventstore.MIGRATIONS,
        *relay.MIGRATIONS,
        *projections.MIGRATIONS,
        *PRIVATE,
        *AccountsReadModel.migrations,
    )
