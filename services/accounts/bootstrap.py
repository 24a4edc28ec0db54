"""The first accounts of a deployment are created on the server side (`archipel accounts
bootstrap-staff`, the demo): an académie's administrators and the national auditors, no gRPC,
active at once, through the same pipeline as every account. Staff and auditors are then created by
their académie's administrator (services.accounts.staff, `archipel accounts create-staff`)."""

from __future__ import annotations

from uuid import UUID

from pydantic import ValidationError

from services.accounts.commands import ResetSecondFactor
from services.accounts.domain import BOOTSTRAP_ROLES
from services.accounts.service import SERVICE
from services.accounts.signup import CreatedAccount, create_account
from shared.auth import Role
from shared.errors import InvalidInput
from shared.rpc import invalid_input_from
from shared.service import open_runtime
from shared.settings import Settings


async def bootstrap_account(
    settings: Settings, *, last_name: str, first_names: str, email: str, password: str, academy: str, role: Role
) -> CreatedAccount:
    if role not in BOOTSTRAP_ROLES:
        raise InvalidInput(
            "role",
            "the server creates académie administrators and national auditors only; staff and auditors are "
            "created by their académie's administrator (archipel accounts create-staff)",
        )
    async with open_runtime(settings, SERVICE, max_size=2) as runtime:
        return await create_account(
            SERVICE.pipeline(runtime),
            last_name=last_name,
            first_names=first_names,
            birth_date=None,
            email=email,
            password=password,
            academy=academy,
            role=role,
            actor="bootstrap",
        )


async def reset_bootstrapped_factor(settings: Settings, account_id: UUID, *, reason: str, operator: str) -> None:
    """An administrator's or a national auditor's lost second factor, reset on the server (its
    sessions end, its next login enrols a new one); the operator names themself (the actor)."""
    operator = operator.strip()
    if not operator or len(operator) > 56:
        raise InvalidInput("operator", "required, at most 56 characters")
    async with open_runtime(settings, SERVICE, max_size=2) as runtime:
        pipeline = SERVICE.pipeline(runtime)
        try:
            command = ResetSecondFactor(
                account_id=account_id, by=f"server:{operator}", reason=reason, now=pipeline.clock(), on_server=True
            )
        except ValidationError as error:
            raise invalid_input_from(error) from None
        await pipeline.execute_as_service(command, actor=f"server:{operator}")
