"""Who may read what the server-side commands (`events read`, `audit *`) show (issue 13 part 8).

These commands read the stores and the topics directly; like the gRPC reads, they first name their
caller from a bearer token (--token, else ARCHIPEL_TOKEN, else the session of `accounts login`),
verified as every service verifies one (`shared.auth.TokenVerifier` over the published key set: its
signing scheme is its own), for each service whose data the command shows (the token's audience
must name them all). They refuse
candidates and any role the command does not admit, and show only the caller's académie (every
académie to a national auditor). Imported by handlers only (never by a parser)."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime

from archipel_cli.common import EXIT_REFUSED
from archipel_cli.runtime import settings
from shared.auth import Principal, Role, TokenVerifier
from shared.errors import PermissionDenied, Unauthenticated

MISSING = "a staff or auditor token is required: --token, ARCHIPEL_TOKEN or a session (`archipel accounts login`)"


def verified(token: str, services: Iterable[str]) -> Principal:
    """The token's principal, the token valid for each of `services` (Unauthenticated otherwise)."""
    path, now = settings().token_keys_path(), datetime.now(UTC)
    first, *others = services
    principal = TokenVerifier.from_file(first, path).verify(token, now)
    for service in others:
        TokenVerifier.from_file(service, path).verify(token, now)
    return principal


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
