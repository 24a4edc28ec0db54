"""Staff created and deactivated by their académie's administrator only (issue 13 part 5), tried as
an attacker would against every real server (in-process, real PostgreSQL): a candidate, staff or
another académie's administrator cannot create staff nor deactivate it; the server bootstraps no
staff any more; a deactivated staff's token is refused at once by the accounts service and by the
registration and results services as soon as their KnownAccounts read model has the event (applied
here as their Kafka consumer would), and its login fails with the answer of a wrong password."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.registration.v1 import registration_pb2_grpc as rpb_grpc
from archipel.results.v1 import results_pb2 as spb
from archipel.results.v1 import results_pb2_grpc as spb_grpc
from services.accounts.bootstrap import bootstrap_account
from services.accounts.sessions import WRONG_CREDENTIALS
from shared.auth import Role
from shared.errors import InvalidInput
from tests.integration.fuzz_fixtures import ACADEMY, Fleet, fleet_of_servers  # noqa: F401 (the `fleet` fixture)
from tests.integration.grpc_fixtures import PASSWORD, bearer
from tests.integration.staff_fixtures import accounts_of, admin, candidate, feed, fresh_email, sign_in, staff

Code = grpc.StatusCode


async def outcome(call: Any) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return Code.OK, ""


def staff_request(**fields: str) -> apb.CreateStaffRequest:
    defaults = {"last_name": "Intrus", "first_names": "Agent", "email": fresh_email("x"), "role": "staff"}
    return apb.CreateStaffRequest(**{**defaults, **fields})


def channel_of(fleet: Fleet, service: str) -> grpc.aio.Channel:
    return next(endpoint.channel for endpoint in fleet.endpoints if endpoint.service == service)


async def test_a_candidate_or_staff_cannot_create_staff_nor_deactivate_it(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    admin_token = await admin(fleet)
    staff_id, staff_email = await staff(fleet, admin_token)
    _, candidate_email = await candidate(fleet)
    staff_token = (await sign_in(fleet, staff_email, PASSWORD)).token
    candidate_token = (await sign_in(fleet, candidate_email, PASSWORD)).token
    before = await fleet.event_count()
    for token in (staff_token, candidate_token):
        for role in ("staff", "auditor"):
            code, details = await outcome(accounts.CreateStaff(staff_request(role=role), metadata=bearer(token)))
            assert code is Code.PERMISSION_DENIED, details
            assert "academy_admin" in details
        deactivation = apb.DeactivateAccountRequest(account_id=staff_id, reason="prise de pouvoir")
        code, _ = await outcome(accounts.DeactivateAccount(deactivation, metadata=bearer(token)))
        assert code is Code.PERMISSION_DENIED
    code, _ = await outcome(accounts.CreateStaff(staff_request()))
    assert code is Code.UNAUTHENTICATED
    assert await fleet.event_count() == before


async def test_another_academys_administrator_cannot_create_nor_deactivate_staff(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    staff_id, _ = await staff(fleet, await admin(fleet))
    lyon = await admin(fleet, "lyon")
    before = await fleet.event_count()
    request = staff_request(academy=ACADEMY)
    code, details = await outcome(accounts.CreateStaff(request, metadata=bearer(lyon)))
    assert (code, details) == (Code.PERMISSION_DENIED, "an académie's administrator acts only within their académie")
    for account in (staff_id, str(uuid.uuid4())):  # an unknown account is answered the same
        deactivation = apb.DeactivateAccountRequest(account_id=account, reason="hors de mon académie")
        code, details = await outcome(accounts.DeactivateAccount(deactivation, metadata=bearer(lyon)))
        assert code is Code.PERMISSION_DENIED, details
    # Nor may an administrator create another administrator, nor deactivate one.
    code, details = await outcome(accounts.CreateStaff(staff_request(role="academy_admin"), metadata=bearer(lyon)))
    assert code is Code.INVALID_ARGUMENT and details.startswith("role:")
    assert await fleet.event_count() == before
    # Its own académie's staff it creates (ALREADY_EXISTS for a taken email).
    created = await accounts.CreateStaff(staff_request(email="lyon.agent@example.fr"), metadata=bearer(lyon))
    assert created.activation_expires_at
    again = accounts.CreateStaff(staff_request(email="lyon.agent@example.fr"), metadata=bearer(lyon))
    assert (await outcome(again))[0] is Code.ALREADY_EXISTS


@pytest.mark.parametrize("role", [Role.STAFF, Role.AUDITOR])
async def test_the_server_bootstraps_no_staff_or_auditor_any_more(fleet: Fleet, role: Role) -> None:
    before = await fleet.event_count()
    with pytest.raises(InvalidInput, match="create-staff"):
        await bootstrap_account(
            fleet.settings, last_name="A", first_names="B", email=fresh_email(), password=PASSWORD,
            academy=ACADEMY, role=role,
        )  # fmt: skip
    assert await fleet.event_count() == before


async def test_a_deactivated_staffs_token_is_refused_at_once_and_its_login_fails(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    registration = rpb_grpc.RegistrationStub(channel_of(fleet, "registration"))
    results = spb_grpc.ResultsStub(channel_of(fleet, "results"))
    admin_token = await admin(fleet)
    staff_id, email = await staff(fleet, admin_token)
    for service in ("registration", "results"):
        await feed(fleet, service, staff_id)
    token = (await sign_in(fleet, email, PASSWORD)).token
    calendar = rpb.GetCalendarRequest(academy=ACADEMY, session=2031)
    grades = spb.ResultsKey(candidate_id=str(uuid.uuid4()), session=2031, specialty="SIO-SISR")
    assert (await outcome(registration.GetCalendar(calendar, metadata=bearer(token))))[0] is Code.NOT_FOUND
    assert (await outcome(results.GetResults(grades, metadata=bearer(token))))[0] is Code.NOT_FOUND

    done = await accounts.DeactivateAccount(
        apb.DeactivateAccountRequest(account_id=staff_id, reason="fin de contrat"), metadata=bearer(admin_token)
    )
    assert done.deactivated_at
    # The accounts service knows at once (its own streams); the others once their read model has it.
    own = accounts.GetAccount(apb.GetAccountRequest(account_id=staff_id), metadata=bearer(token))
    assert (await outcome(own))[0] is Code.UNAUTHENTICATED
    for service in ("registration", "results"):
        await feed(fleet, service, staff_id)
    for call in (
        registration.GetCalendar(calendar, metadata=bearer(token)),
        results.GetResults(grades, metadata=bearer(token)),
    ):
        code, details = await outcome(call)
        assert code is Code.UNAUTHENTICATED and "revoked" in details
    # Its login fails with the answer of a wrong password; the administrator sees it deactivated.
    refused = await outcome(accounts.Login(apb.LoginRequest(email=email, password=PASSWORD)))
    wrong = await outcome(accounts.Login(apb.LoginRequest(email=email, password="not the password")))
    assert refused == wrong == (Code.UNAUTHENTICATED, WRONG_CREDENTIALS)
    again = await accounts.DeactivateAccount(
        apb.DeactivateAccountRequest(account_id=staff_id, reason="encore"), metadata=bearer(admin_token)
    )
    assert again.deactivated_at == ""  # once is enough
