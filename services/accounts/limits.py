"""Rate limits of the accounts' public flows, declared once: per email and per client address
(the gRPC peer), in fixed windows counted in PostgreSQL (services.accounts.facts.AttemptCounter),
so that they survive restarts and hold across instances of the service. A refused attempt raises
RateLimited (RESOURCE_EXHAUSTED) telling how many seconds to wait."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from services.accounts.facts import AttemptCounter
from shared.errors import RateLimited

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Action(StrEnum):
    LOGIN = "login"
    CREATE = "create"
    RESEND = "resend"
    RESET = "reset"
    TOTP = "totp"  # second-factor codes, per account (at login and at enrolment)


@dataclass(frozen=True)
class Limit:
    attempts: int
    window: timedelta

    def window_start(self, now: datetime) -> datetime:
        return _EPOCH + self.window * ((now - _EPOCH) // self.window)


@dataclass(frozen=True)
class Limits:
    per_email: Limit
    per_client: Limit


MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)

LIMITS: Mapping[Action, Limits] = MappingProxyType(
    {
        Action.LOGIN: Limits(per_email=Limit(10, MINUTE), per_client=Limit(100, MINUTE)),
        Action.CREATE: Limits(per_email=Limit(5, HOUR), per_client=Limit(30, MINUTE)),
        Action.RESEND: Limits(per_email=Limit(5, HOUR), per_client=Limit(30, MINUTE)),
        Action.RESET: Limits(per_email=Limit(5, HOUR), per_client=Limit(30, MINUTE)),
        # Beside the login's own limits: 20 codes an hour for an account whose password was given
        # (3 codes of 10^6 accepted at a time: about 0.14 % of guessing one in a day).
        Action.TOTP: Limits(per_email=Limit(20, HOUR), per_client=Limit(100, MINUTE)),
    }
)

_WHAT = {
    Action.LOGIN: "login attempts",
    Action.CREATE: "account creations",
    Action.RESEND: "activation link requests",
    Action.RESET: "password reset requests",
    Action.TOTP: "second-factor codes",
}


def client_address(peer: str) -> str:
    """The client's address from a gRPC peer ('ipv4:10.0.0.7:51234', 'ipv6:[::1]:51234'): its
    port changes with every connection, so it is left out."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        address, _, port = rest.rpartition(":")
        return f"{kind}:{address}" if port.isdigit() and address else peer
    return peer[:200]


def email_key(email: str) -> str:
    """How the counters name an email: by its digest (no address in clear in the table)."""
    return "email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


async def check(
    counter: AttemptCounter,
    limits: Mapping[Action, Limits],
    action: Action,
    *,
    email: str,
    client: str,
    now: datetime,
) -> None:
    """Counts one attempt of `action` for `email` and for `client`; raises RateLimited when either
    went over its limit in the current window. The email is counted by its digest (no address in
    clear in the table)."""
    declared = limits.get(action)
    if declared is None:
        return
    waits: list[int] = []
    for limit, key in ((declared.per_email, email_key(email)), (declared.per_client, "client:" + client)):
        start = limit.window_start(now)
        if await counter.count(action.value, key, start) > limit.attempts:
            waits.append(max(1, math.ceil((start + limit.window - now).total_seconds())))
    if waits:
        raise RateLimited(f"too many {_WHAT[action]}", max(waits))
