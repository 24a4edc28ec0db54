"""An académie's administrator manages its académie's staff and auditor accounts (issue 13 part 5):
it creates them (pending: an activation link is mailed to the address, where the owner chooses
the password, which the administrator never knows), deactivates them (every token of the
account is refused at once, by every service, and it cannot log in any more) and resets the second
factor of one whose owner lost it (its sessions end; its next login enrols a new one). A candidate, staff,
an auditor or another académie's administrator is refused (PERMISSION_DENIED) by the pipeline's
role and scope checks (shared.pipeline)."""

from __future__ import annotations

import secrets
from uuid import UUID, uuid4

from pydantic import SecretStr

from services.accounts.commands import CreateStaff, DeactivateAccount, ResetSecondFactor
from services.accounts.service import AccountsPorts
from services.accounts.signup import CreatedAccount, digest
from shared.auth import Principal, Role
from shared.contracts.accounts import AccountDeactivated, ActivationLinkSent, SecondFactorReset
from shared.errors import InvalidInput
from shared.pipeline import Pipeline

CREATED_ROLES = {Role.STAFF.value: Role.STAFF, Role.AUDITOR.value: Role.AUDITOR}


async def create_staff(
    pipeline: Pipeline[AccountsPorts],
    principal: Principal,
    *,
    last_name: str,
    first_names: str,
    email: str,
    role: str,
    academy: str = "",
) -> CreatedAccount:
    """A staff or auditor account of `academy` (default: the administrator's)."""
    chosen = CREATED_ROLES.get(role)
    if chosen is None:
        raise InvalidInput("role", "an académie's administrator creates 'staff' or 'auditor' accounts")
    token = secrets.token_urlsafe(32)
    command = CreateStaff(
        account_id=uuid4(),
        role=chosen,
        last_name=last_name,
        first_names=first_names,
        email=email,
        academy=academy or principal.academy,
        now=pipeline.clock(),
        token_digest=digest(token),
        token=SecretStr(token),
    )
    outcome = await pipeline.execute(principal, command)
    link = next((e for e in outcome.events if isinstance(e, ActivationLinkSent)), None)
    return CreatedAccount(command.account_id, link.expires_at if link else None)


async def deactivate(
    pipeline: Pipeline[AccountsPorts], principal: Principal, account_id: UUID, reason: str
) -> AccountDeactivated | None:
    """The account's deactivation (None: it was deactivated already)."""
    command = DeactivateAccount(account_id=account_id, by=principal.subject, reason=reason, now=pipeline.clock())
    outcome = await pipeline.execute(principal, command)
    done = next((e for e in outcome.events if isinstance(e, AccountDeactivated)), None)
    return done


async def reset_second_factor(
    pipeline: Pipeline[AccountsPorts], principal: Principal, account_id: UUID, reason: str
) -> SecondFactorReset:
    """The account's second factor deleted and its sessions ended (services.accounts.domain)."""
    command = ResetSecondFactor(account_id=account_id, by=principal.subject, reason=reason, now=pipeline.clock())
    outcome = await pipeline.execute(principal, command)
    return next(e for e in outcome.events if isinstance(e, SecondFactorReset))
