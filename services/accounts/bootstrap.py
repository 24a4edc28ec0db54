"""Staff and auditor accounts are created on the server side (`archipel accounts bootstrap-staff`,
the demo): no gRPC, active at once, through the same pipeline as every account."""

from __future__ import annotations

from services.accounts.service import SERVICE
from services.accounts.signup import CreatedAccount, create_account
from shared.auth import Role
from shared.service import open_runtime
from shared.settings import Settings


async def bootstrap_account(
    settings: Settings, *, last_name: str, first_names: str, email: str, password: str, academy: str, role: Role
) -> CreatedAccount:
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
