"""Password reset by email (issue 13): a link valid one hour, once, stored as a digest, which
replaces the older reset links; using it replaces the password and raises the account's token
version, so every token issued before is refused. Asking for a link answers the same whatever the
email (a link is mailed only to an active account)."""

from __future__ import annotations

import secrets
from datetime import datetime

from pydantic import SecretStr

from services.accounts.commands import ResetPassword, SendResetLink
from services.accounts.domain import ACCOUNT, NO_FACTS, RESET_LINK_VALIDITY, AccountStatus
from services.accounts.passwords import check_new_password
from services.accounts.service import AccountsPorts
from services.accounts.signup import digest, load_account
from shared.contracts.accounts import PasswordReset
from shared.errors import InvalidInput, NotFound
from shared.pipeline import Pipeline


async def request_password_reset(pipeline: Pipeline[AccountsPorts], email: str) -> datetime:
    now = pipeline.clock()
    account_id = await pipeline.ports.facts.account_for_email(email.strip().lower())
    if account_id is not None and (await load_account(pipeline, account_id)).status is AccountStatus.ACTIVE:
        token = secrets.token_urlsafe(32)
        command = SendResetLink(account_id=account_id, token_digest=digest(token), now=now, token=SecretStr(token))
        await pipeline.execute_as_service(command, actor=f"system:password-reset:{account_id}")
    return now + RESET_LINK_VALIDITY


async def reset_password(pipeline: Pipeline[AccountsPorts], token: str, password: str) -> PasswordReset:
    if not token.strip():
        raise InvalidInput("token", "is empty")
    check_new_password(password)
    token_digest = digest(token.strip())
    account_id = await pipeline.ports.facts.account_for_reset_token(token_digest)
    if account_id is None:
        raise NotFound("unknown password reset link: check that it was copied whole, or ask for a new one")
    command = ResetPassword(account_id=account_id, token_digest=token_digest, now=pipeline.clock())
    ACCOUNT.decide(command, await load_account(pipeline, account_id), NO_FACTS)  # a refused link costs no hash
    hashed = await pipeline.ports.passwords.hash(password)
    command = command.model_copy(update={"password_hash": SecretStr(hashed)})
    outcome = await pipeline.execute_as_service(command, actor=f"system:password-reset:{account_id}")
    reset = outcome.events[0]
    assert isinstance(reset, PasswordReset)
    return reset
