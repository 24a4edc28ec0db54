"""Staff of an académie as a deployment gets them (issue 13 part 5), for the demo and the e2e tests:
the académie's administrator is created on the server (`archipel accounts bootstrap-staff`), logs
in, and creates the staff account through the accounts service; its owner activates it from the
mailed link, choosing the password, and logs in. Both log in with a second factor: the first login
gives a token restricted to enrolment, with which a TOTP secret is enrolled (computing the
authenticator app's code with shared.totp), which opens the full session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.accounts.v1 import accounts_pb2_grpc as apb_grpc
from shared import totp
from shared.auth import Role
from shared.settings import Settings


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


async def bootstrap_admin(config: Settings, email: str, academy: str, password: str) -> None:
    """The code path of `archipel accounts bootstrap-staff --role academy_admin` (server side)."""
    from services.accounts.bootstrap import bootstrap_account  # noqa: PLC0415

    await bootstrap_account(
        config, last_name="Administration", first_names="Rectorat", email=email, password=password,
        academy=academy, role=Role.ACADEMY_ADMIN,
    )  # fmt: skip


async def sign_in(accounts: apb_grpc.AccountsStub, email: str, password: str) -> str:
    """A bearer token for the account; one without a second factor enrols one first."""
    session = await accounts.Login(apb.LoginRequest(email=email, password=password))
    if not session.enrolment_only:
        return str(session.token)
    enrolment = await accounts.EnrollTotp(apb.EnrollTotpRequest(), metadata=bearer(session.token))
    code = totp.code_now(enrolment.secret, datetime.now(UTC))
    full = await accounts.ConfirmTotp(apb.ConfirmTotpRequest(code=code), metadata=bearer(session.token))
    return str(full.token)


async def create_staff(
    accounts: apb_grpc.AccountsStub,
    admin_token: str,
    *,
    email: str,
    password: str,
    activation_token: Callable[[str], Awaitable[str]],
    role: str = "staff",
) -> str:
    """A staff (or auditor) account created by the administrator, activated by its owner from the
    mail (`activation_token(email)` reads it) with `password`; returns the owner's bearer token."""
    await accounts.CreateStaff(
        apb.CreateStaffRequest(last_name="Gestion", first_names="Agent", email=email, role=role),
        metadata=bearer(admin_token),
    )
    token = await activation_token(email)
    await accounts.ActivateAccount(apb.ActivateAccountRequest(token=token, password=password))
    return await sign_in(accounts, email, password)
