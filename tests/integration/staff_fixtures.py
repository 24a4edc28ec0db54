"""Accounts of every kind on the running servers of the `fleet` fixture (issue 13 part 5): an
académie's administrator bootstrapped on the server, staff created by it and activated from the
mail, candidates, each staff or administrator with a second factor enrolled at its first login;
and the accounts' events fed to another service's KnownAccounts as its consumer would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.accounts.v1 import accounts_pb2_grpc as apb_grpc
from services.accounts.bootstrap import bootstrap_account
from services.accounts.streams import account_stream
from shared import totp
from shared.auth import Role
from shared.chain_check import LocalChain
from shared.known_accounts import KnownAccounts
from shared.launch import load_service
from shared.projections import ProjectionRunner
from tests.integration.fuzz_fixtures import Fleet
from tests.integration.grpc_fixtures import PASSWORD, bearer, create_request

ADMIN_PASSWORD = "le mot de passe de l'administration"


def accounts_of(fleet: Fleet) -> apb_grpc.AccountsStub:
    channel = next(endpoint.channel for endpoint in fleet.endpoints if endpoint.service == "accounts")
    return apb_grpc.AccountsStub(channel)


def fresh_email(kind: str = "c") -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}@example.fr"


async def sign_in(fleet: Fleet, email: str, password: str) -> apb.LoginResponse:
    """A full session: a candidate's login, or the first login of staff, enrolling its second factor."""
    return (await enrolled(fleet, email, password))[0]


@dataclass(frozen=True)
class Factor:
    secret: str
    step: int  # the last step used: the next login takes a later one


async def enrolled(fleet: Fleet, email: str, password: str) -> tuple[apb.LoginResponse, Factor | None]:
    """The first login, enrolling a second factor when the account needs one: the full session and
    the factor (None for a candidate)."""
    accounts = accounts_of(fleet)
    session: apb.LoginResponse = await accounts.Login(apb.LoginRequest(email=email, password=password))
    if not session.enrolment_only:
        return session, None
    enrolment = await accounts.EnrollTotp(apb.EnrollTotpRequest(), metadata=bearer(session.token))
    step = totp.step_of(datetime.now(UTC))
    code = totp.code_at(enrolment.secret, step)
    full: apb.LoginResponse = await accounts.ConfirmTotp(
        apb.ConfirmTotpRequest(code=code), metadata=bearer(session.token)
    )
    return full, Factor(enrolment.secret, step)


async def admin(fleet: Fleet, academy: str = "aix-marseille") -> str:
    """A bootstrapped administrator of `academy`, logged in: its bearer token."""
    email = fresh_email("admin")
    await bootstrap_account(
        fleet.settings, last_name="Admin", first_names="Rectorat", email=email, password=ADMIN_PASSWORD,
        academy=academy, role=Role.ACADEMY_ADMIN,
    )  # fmt: skip
    return str((await sign_in(fleet, email, ADMIN_PASSWORD)).token)


async def staff(fleet: Fleet, admin_token: str, role: str = "staff") -> tuple[str, str]:
    """A staff account created by the administrator and activated by its owner: (account id, email)."""
    email = fresh_email("staff")
    accounts = accounts_of(fleet)
    created = await accounts.CreateStaff(
        apb.CreateStaffRequest(last_name="Agent", first_names="Rectorat", email=email, role=role),
        metadata=bearer(admin_token),
    )
    token = fleet.mailer.last_token(email)
    await accounts.ActivateAccount(apb.ActivateAccountRequest(token=token, password=PASSWORD))
    return str(created.account_id), email


async def candidate(fleet: Fleet) -> tuple[str, str]:
    """An activated candidate account: (account id, email)."""
    accounts = accounts_of(fleet)
    email = fresh_email()
    await accounts.CreateAccount(create_request(email=email))
    activated = await accounts.ActivateAccount(
        apb.ActivateAccountRequest(token=fleet.mailer.last_token(email), password=PASSWORD)
    )
    return str(activated.account_id), email


async def feed(fleet: Fleet, service: str, account: str) -> None:
    """The account's events applied to `service`'s KnownAccounts, as its consumer would."""
    declared = load_service(f"services.{service}.service")
    runner = ProjectionRunner(fleet.stores[service].pool, declared.projection_registry, KnownAccounts(service))
    chain = LocalChain()
    for envelope in await fleet.stores["accounts"].read_stream(account_stream(uuid.UUID(account))):
        await runner.handle_raw(*chain.record(envelope))
