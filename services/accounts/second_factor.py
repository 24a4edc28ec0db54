"""Enrolment of the second factor of staff, auditors and administrators (TOTP, RFC 6238; issue 13
part 5). `begin` makes a secret, keeps it pending in the private table (replacing an older pending
one) and returns it with its otpauth:// URI for the authenticator app; `confirm` takes a valid code
of it, then SecondFactorEnrolled is appended with the secret written in the private table in the
same transaction (never in an event), the code's step recorded as used, and a full session opened.

Both take the caller's token: the one a login gives an account without a second factor (audience
`accounts-enrolment`, shared.auth.ENROLMENT_AUDIENCE) or a full one; the account must be active,
of a role with a second factor, without one yet, and the token not older than its token version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

from pydantic import SecretStr

from services.accounts.commands import EnrolSecondFactor
from services.accounts.domain import AccountState, AccountStatus
from services.accounts.service import AccountsPorts
from services.accounts.sessions import MAX_CODE, Session, open_session
from services.accounts.signup import load_account
from shared import totp
from shared.auth import SECOND_FACTOR_ROLES, Principal
from shared.errors import AlreadyExists, InvalidInput, PermissionDenied, Unauthenticated
from shared.pipeline import Pipeline


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing it in by hand
    uri: str  # otpauth://totp/..., for a QR code


async def _account(pipeline: Pipeline[AccountsPorts], principal: Principal) -> tuple[UUID, AccountState]:
    try:
        account_id = UUID(principal.subject)
    except ValueError:
        raise PermissionDenied("this token names no account") from None
    state = await load_account(pipeline, account_id)
    if state.status is not AccountStatus.ACTIVE or principal.token_version < state.token_version:
        raise Unauthenticated("token revoked, or its account is not active: log in again")
    if state.role not in SECOND_FACTOR_ROLES:
        raise PermissionDenied("a candidate's account has no second factor")
    if state.second_factor:
        raise AlreadyExists(
            "a second factor is enrolled already for this account (a lost one is reset by the académie's"
            " administrator: archipel accounts reset-totp)"
        )
    return account_id, state


async def begin(pipeline: Pipeline[AccountsPorts], principal: Principal) -> Enrolment:
    account_id, state = await _account(pipeline, principal)
    secret = totp.new_secret()
    await pipeline.ports.second_factors.begin(account_id, secret, pipeline.clock())
    return Enrolment(secret, totp.provisioning_uri(secret, state.email))


async def confirm(
    pipeline: Pipeline[AccountsPorts],
    principal: Principal,
    code: str,
    guard: Callable[[str], Awaitable[None]] | None = None,
) -> Session:
    """`guard(account)` counts the attempt (services.accounts.limits, Action.TOTP)."""
    if not code.strip() or len(code) > MAX_CODE:
        raise InvalidInput("code", "the 6 digits the authenticator app shows")
    account_id, state = await _account(pipeline, principal)
    if guard is not None:
        await guard(str(account_id))
    secret = await pipeline.ports.second_factors.pending(account_id)
    if secret is None:
        raise InvalidInput("code", "no enrolment in progress: run `archipel accounts enroll-totp` first")
    now = pipeline.clock()
    step = totp.matching_step(secret, code, now)
    if step is None:
        raise InvalidInput("code", "not the authenticator's current code (check the device's clock)")
    command = EnrolSecondFactor(account_id=account_id, secret=SecretStr(secret), step=step, now=now)
    outcome = await pipeline.execute_as_service(command, actor=f"{state.role.value}:{account_id}")
    return await open_session(pipeline, account_id, outcome.state, family=uuid4())
