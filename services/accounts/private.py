"""The accounts service's private tables, written in the same transaction as the events: an email
is taken once (R-05) until its pending account expires, the password's hash (written at
activation, replaced by a reset), the activation and reset links' digests; the rate limits'
counters (services.accounts.limits), shared by every instance of the service; and the refresh
tokens' digests (services.accounts.sessions); the TOTP secrets of staff, auditors and
administrators (pending until confirmed, then enrolled with the last time step used: a code
serves once; services.accounts.second_factor), sealed under a key outside the database
(services.accounts.totp_secrets)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.accounts.limits import email_key
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
    Migration(
        "accounts_0003_abuse",
        """
        CREATE TABLE reset_tokens (token_digest text PRIMARY KEY, account_id uuid NOT NULL);
        CREATE TABLE rate_limits (
            action text NOT NULL,
            key text NOT NULL,
            window_start timestamptz NOT NULL,
            attempts integer NOT NULL,
            PRIMARY KEY (action, key, window_start)
        );
        CREATE INDEX rate_limits_window ON rate_limits (window_start);
        """,
    ),
    Migration(
        "accounts_0004_refresh_tokens",
        """
        CREATE TABLE refresh_tokens (
            token_digest text PRIMARY KEY,
            account_id uuid NOT NULL,
            family uuid NOT NULL,
            token_version integer NOT NULL,
            expires_at timestamptz NOT NULL,
            used_at timestamptz
        );
        CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
        CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);
        """,
    ),
    Migration(
        "accounts_0005_totp",
        """
        CREATE TABLE totp_pending (account_id uuid PRIMARY KEY, secret text NOT NULL, created_at timestamptz NOT NULL);
        CREATE TABLE totp_secrets (account_id uuid PRIMARY KEY, secret text NOT NULL, last_step bigint NOT NULL);
        """,
    ),
    Migration(
        # Sealed at rest (services.accounts.totp_secrets): a pending secret lives 10 minutes, dropped
        # (its enrolment starts again); the enrolled ones are sealed by the API's start, which drops `secret`.
        "accounts_0006_totp_sealed",
        """
        DELETE FROM totp_pending;
        ALTER TABLE totp_pending DROP COLUMN secret, ADD COLUMN sealed bytea NOT NULL;
        ALTER TABLE totp_secrets ADD COLUMN sealed bytea, ALTER COLUMN secret DROP NOT NULL;
        """,
    ),
)


def account_rows(account_id: UUID, email: str, password_hash: str | None, token_digest: str | None) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        try:
            await connection.execute(
                "INSERT INTO account_emails (email, account_id) VALUES ($1, $2)", email, account_id
            )
        except asyncpg.UniqueViolationError:  # a concurrent creation took the email first
            raise AlreadyExists("an account exists already for this email (R-05)") from None
        if password_hash is not None:
            await credentials_row(account_id, password_hash)(connection)
        if token_digest is not None:
            await token_row(account_id, token_digest)(connection)

    return write


def credentials_row(account_id: UUID, password_hash: str) -> ExtraWrite:
    """The password that counts from now on (activation, reset): any older hash is replaced."""

    async def write(connection: Connection) -> None:
        await connection.execute(
            "INSERT INTO credentials (account_id, password_hash) VALUES ($1, $2)"
            " ON CONFLICT (account_id) DO UPDATE SET password_hash = EXCLUDED.password_hash",
            account_id,
            password_hash,
        )

    return write


def token_row(account_id: UUID, token_digest: str) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        await connection.execute(
            "INSERT INTO activation_tokens (token_digest, account_id) VALUES ($1, $2)", token_digest, account_id
        )

    return write


def reset_token_row(account_id: UUID, token_digest: str) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        await connection.execute(
            "INSERT INTO reset_tokens (token_digest, account_id) VALUES ($1, $2)", token_digest, account_id
        )

    return write


def totp_row(account_id: UUID, sealed: bytes, step: int) -> ExtraWrite:
    """The enrolled secret (sealed), its confirming code's step used; the pending one removed."""

    async def write(connection: Connection) -> None:
        await connection.execute(
            "INSERT INTO totp_secrets (account_id, sealed, last_step) VALUES ($1, $2, $3)", account_id, sealed, step
        )
        await connection.execute("DELETE FROM totp_pending WHERE account_id = $1", account_id)

    return write


def totp_reset_rows(account_id: UUID) -> ExtraWrite:
    """A second factor reset by the administrator: the account's secrets, enrolled and pending, deleted."""

    async def write(connection: Connection) -> None:
        await connection.execute("DELETE FROM totp_secrets WHERE account_id = $1", account_id)
        await connection.execute("DELETE FROM totp_pending WHERE account_id = $1", account_id)

    return write


def release_rows(account_id: UUID) -> ExtraWrite:
    """An expired pending account: its email is free again, its links name nothing any more."""

    async def write(connection: Connection) -> None:
        await connection.execute("DELETE FROM account_emails WHERE account_id = $1", account_id)
        await connection.execute("DELETE FROM activation_tokens WHERE account_id = $1", account_id)
        await connection.execute("DELETE FROM credentials WHERE account_id = $1", account_id)

    return write


def forgotten_rows(account_id: UUID) -> ExtraWrite:
    """A forgotten candidate (issue 13 part 7): nothing of it stays in the private tables, neither
    its email (nor the digest its rate limits count it by), nor its credentials, links or sessions."""

    async def write(connection: Connection) -> None:
        email = await connection.fetchval(
            "DELETE FROM account_emails WHERE account_id = $1 RETURNING email", account_id
        )
        for table in ("credentials", "activation_tokens", "reset_tokens", "refresh_tokens"):
            await connection.execute(f"DELETE FROM {table} WHERE account_id = $1", account_id)
        if email:
            await connection.execute("DELETE FROM rate_limits WHERE key = $1", email_key(email))

    return write
