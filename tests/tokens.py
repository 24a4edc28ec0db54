"""Tokens for the tests and tools (issue 13 part 6): minted with the local signing key of the
settings' home (made on first use, as `archipel infra up` does), scoped like the accounts service's
(the role's services, or the `audience` given)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from shared.auth import Principal, issue_token
from shared.settings import Settings
from shared.token_keys import SigningKey, ensure_keys


def signing_key(settings: Settings) -> SigningKey:
    """The settings' signing key; the local default (home/keys) is made if missing."""
    return ensure_keys(settings.signing_key_path().parent)


def mint(
    settings: Settings,
    principal: Principal,
    now: datetime,
    ttl: timedelta,
    *,
    audience: Iterable[str] | None = None,
    key: SigningKey | None = None,
) -> str:
    """A token for `principal`, signed by `key` (default: the settings' key)."""
    return issue_token(principal, key or signing_key(settings), now, ttl, audience)
