"""The accounts service's private tables, written in the same transaction as the events: an email
is taken once (R-05), the password's hash, the activation links' digests."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.db import Connection, Migration
from shared.errors import AlreadyExists
from shared.eventstore import ExtraWrite

TABLES = (
    Migration(
        "accounts_0001_private",
        """
        CREATE TABLE account_emails (email text PRIMARY KEY, account_id uuid NOT NULL UNIQUE);
        CREATE TABLE credentials (account_id uuid PRIMARY KEY, password_hash text NOT NULL);
        CREATE TABLE activation_tokens (token_digest text PRIMARY KEY, account_id uuid NOT NULL);
        """,
    ),
)


def account_rows(account_id: UUID, email: str, password_hash: str, token_digest: str | None) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        try:
            await connection.execute(
                "INSERT INTO account_emails (email, account_id) VALUES ($1, $2)", email, account_id
            )
        except asyncpg.UniqueViolationError:  # a concurrent creation took the email first
            raise AlreadyExists("an account exists already for this email (R-05)") from None
        await connection.execute(
            "INSERT INTO credentials (account_id, password_hash) VALUES ($1, $2)", account_id, password_hash
        )
        if token_digest is not None:
            await token_row(account_id, token_digest)(connection)

    return write


def token_row(account_id: UUID, token_digest: str) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        await connection.execute(
            "INSERT INTO activation_tokens (token_digest, account_id) VALUES ($1, $2)", token_digest, account_id
        )

    return write
