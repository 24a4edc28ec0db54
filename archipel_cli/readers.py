"""Who may read what the server-side commands (`events read`, `audit *`) show (issue 13 part 8).

These commands read the stores and the topics directly; like the gRPC reads, they first name their
caller from a bearer token (--token, else ARCHIPEL_TOKEN, else the session of `accounts login`),
verified as every service verifies one (`shared.auth.TokenVerifier` over the published key set: its
signing scheme is its own), for each service whose data the command shows (the token's audience
must name them all). They refuse
candidates and any role the command does not admit, and show only the caller's académie (every
académie to a national auditor). A token older than its account's token version (a password reset
or a deactivation since it was issued) is refused as every service refuses it (shared.auth.
check_version), the version read from the account's own stream in the accounts' event store (as the
auditors' database role): where the accounts service itself knows it at once. Imported by handlers
only (never by a parser)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from archipel_cli.common import EXIT_REFUSED
from archipel_cli.runtime import settings
from services.accounts.streams import account_stream
from shared.auth import Principal, Role, TokenVerifier, TokenVersions, check_version
from shared.contracts.accounts import AccountDeactivated, PasswordReset, SecondFactorReset
from shared.db import check_identifier
from shared.errors import PermissionDenied, Unauthenticated
from shared.settings import Settings

MISSING = "a staff or auditor token is required: --token, ARCHIPEL_TOKEN or a session (`archipel accounts login`)"


def verified(token: str, services: Iterable[str]) -> Principal:
    """The token's principal, the token valid for each of `services` (Unauthenticated otherwise)."""
    path, now = settings().token_keys_path(), datetime.now(UTC)
    first, *others = services
    principal = TokenVerifier.from_file(first, path).verify(token, now)
    for service in others:
        TokenVerifier.from_file(service, path).verify(token, now)
    asyncio.run(check_version(versions_of(settings()), principal))
    return principal


# The events that raise an account's token version (services.accounts.domain.evolve takes theirs).
VERSION_EVENTS = [PasswordReset.event_type, AccountDeactivated.event_type, SecondFactorReset.event_type]


class StoredVersions:
    """The accounts' token versions from their own streams in the accounts' event store
    (shared.auth.TokenVersions): None for an account it does not hold."""

    def __init__(self, config: Settings) -> None:
        self.config = config

    async def current(self, account: UUID) -> int | None:
        schema = check_identifier(self.config.db_schema("accounts"))
        try:
            connection = await asyncpg.connect(self.config.database_url_for("auditor"))
            try:
                row = await connection.fetchrow(
                    f"SELECT count(*) AS events, max((payload->>'token_version')::int)"
                    f" FILTER (WHERE event_type = ANY($2::text[])) AS version"
                    f" FROM {schema}.events WHERE stream_id = $1",
                    account_stream(account),
                    VERSION_EVENTS,
                )
            finally:
                await connection.close()
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
            return None  # no accounts' store in this deployment (a test's): no account to know
        except (OSError, asyncpg.PostgresError) as error:  # unknown: refused rather than trusted
            raise Unauthenticated(f"the token's version cannot be checked: {type(error).__name__}") from None
        if row is None or not row["events"]:
            return None
        return int(row["version"] or 0)


def versions_of(config: Settings) -> TokenVersions:
    """Where the readers learn the accounts' token versions (a unit test puts its own here)."""
    return StoredVersions(config)


def principal_from(token: str | None, roles: Collection[Role], services: Iterable[str]) -> Principal:
    """The verified caller of a read of `services`' data; Unauthenticated without a token valid for
    them all, PermissionDenied for a role not in `roles` (a candidate never reads these)."""
    from archipel_cli import session  # noqa: PLC0415 (as runtime.metadata: the login's session last)

    text = token or os.environ.get("ARCHIPEL_TOKEN") or session.token(settings())
    if not text:
        raise Unauthenticated(MISSING)
    principal = verified(text, services)
    if principal.role not in roles:
        allowed = ", ".join(sorted(role.value for role in roles))
        raise PermissionDenied(f"{principal.role.value} tokens may not run this command (only {allowed})")
    return principal


Reader = Callable[[argparse.Namespace, Principal], int]


def reading(
    roles: Collection[Role], services: Callable[[argparse.Namespace], Iterable[str]]
) -> Callable[[Reader], Callable[[argparse.Namespace], int]]:
    """A handler run for a verified caller of one of `roles` (its token valid for the `services(arguments)`
    whose data the command shows); otherwise one line on stderr (`error: UNAUTHENTICATED: ...` or
    `error: PERMISSION_DENIED: ...`) and exit code EXIT_REFUSED."""

    def decorate(handler: Reader) -> Callable[[argparse.Namespace], int]:
        @functools.wraps(handler)
        def run(arguments: argparse.Namespace) -> int:
            try:
                principal = principal_from(getattr(arguments, "token", None), roles, services(arguments))
            except Unauthenticated as error:
                print(f"error: UNAUTHENTICATED: {error.message}", file=sys.stderr)
                return EXIT_REFUSED
            except PermissionDenied as error:
                print(f"error: PERMISSION_DENIED: {error.message}", file=sys.stderr)
                return EXIT_REFUSED
            return handler(arguments, principal)

        return run

    return decorate
