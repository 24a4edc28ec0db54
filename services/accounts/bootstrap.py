"""The first accounts of a deployment are created on the server side (`archipel accounts
bootstrap-staff`, the demo): an académie's administrators and the national auditors, no gRPC,
active at once, through the same pipeline as every account. Staff and auditors are then created by
their académie's administrator (services.accounts.staff, `archipel accounts create-staff`)."""

from __future__ import annotations

from services.accounts.domain import BOOTSTRAP_ROLES
from services.accounts.service import SERVICE
from services.accounts.signup import CreatedAccount, create_account
from shared.auth import Role
from shared.errors import InvalidInput
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
