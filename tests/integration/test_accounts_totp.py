"""A second factor for staff, auditors and administrators (issue 13 part 5), tried as an attacker
would against every real server (in-process, real PostgreSQL): without an enrolled factor, a
password gives a token that serves enrolment only (every other service, and the accounts' other
RPCs, refuse it); once enrolled, a login without the code, with a wrong one or with a replayed one
gets the answer of a wrong password, and one with a valid code a full session; the secret never
reaches an event; candidates are unaffected."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import grpc

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.registration.v1 import registration_pb2_grpc as rpb_grpc
from services.accounts.sessions import WRONG_CREDENTIALS
from services.accounts.streams import account_stream
from shared import totp
from tests.integration.fuzz_fixtures import ACADEMY, Fleet, fleet_of_servers  # noqa: F401 (the `fleet` fixture)
from tests.integration.grpc_fixtures import PASSWORD, bearer
from tests.integration.staff_fixtures import accounts_of, admin, candidate, enrolled, staff

Code = grpc.StatusCode


async def outcome(call: Any) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return Code.OK, ""


def registration_of(fleet: Fleet) -> rpb_grpc.RegistrationStub:
    return rpb_grpc.RegistrationStub(next(e.channel for e in fleet.endpoints if e.service == "registration"))


async def test_without_a_factor_the_password_gives_a_token_for_enrolment_only(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    staff_id, email = await staff(fleet, await admin(fleet))
    first = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD))
    assert first.enrolment_only and first.refresh_token == "" and first.role == "staff"
    restricted = bearer(first.token)
    calendar = rpb.GetCalendarRequest(academy=ACADEMY, session=2031)
    code, details = await outcome(registration_of(fleet).GetCalendar(calendar, metadata=restricted))
    assert (code, details) == (Code.UNAUTHENTICATED, "token not for this service (registration)")
    code, _ = await outcome(accounts.GetAccount(apb.GetAccountRequest(account_id=staff_id), metadata=restricted))
    assert code is Code.UNAUTHENTICATED

    before = await fleet.event_count()
    enrolment = await accounts.EnrollTotp(apb.EnrollTotpRequest(), metadata=restricted)
    assert enrolment.uri.startswith("otpauth://totp/Archipel%3Astaff-")
    assert f"secret={enrolment.secret}" in enrolment.uri
    wrong = accounts.ConfirmTotp(apb.ConfirmTotpRequest(code="000000"), metadata=restricted)
    if totp.matching_step(enrolment.secret, "000000", datetime.now(UTC)) is None:
        assert (await outcome(wrong))[0] is Code.INVALID_ARGUMENT
    assert await fleet.event_count() == before  # nothing until a valid code
    full = await accounts.ConfirmTotp(
        apb.ConfirmTotpRequest(code=totp.code_now(enrolment.secret, datetime.now(UTC))), metadata=restricted
    )
    assert not full.enrolment_only and full.refresh_token
    now_allowed = registration_of(fleet).GetCalendar(calendar, metadata=bearer(full.token))
    assert (await outcome(now_allowed))[0] is Code.NOT_FOUND
    # The secret is in no event; a second enrolment is refused.
    rows = await fleet.stores["accounts"].pool.fetch("SELECT event_type, payload::text AS payload FROM events")
    own = await fleet.stores["accounts"].read_stream(account_stream(uuid.UUID(staff_id)))
    assert [envelope.event_type for envelope in own][-1] == "SecondFactorEnrolled"
    assert all(enrolment.secret not in row["payload"] for row in rows)
    again = await outcome(accounts.EnrollTotp(apb.EnrollTotpRequest(), metadata=bearer(full.token)))
    assert again[0] is Code.ALREADY_EXISTS


async def test_an_enrolled_staff_needs_a_valid_fresh_code_and_every_refusal_looks_the_same(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    _, email = await staff(fleet, await admin(fleet))
    _, factor = await enrolled(fleet, email, PASSWORD)
    assert factor is not None
    now = datetime.now(UTC)
    used = totp.code_at(factor.secret, factor.step)  # the code that confirmed the enrolment
    fresh = totp.code_at(factor.secret, totp.step_of(now) + 1)  # the next step's: within the window
    wrong = next(c for c in ("123456", "654321", "000001") if totp.matching_step(factor.secret, c, now) is None)

    def login(password: str = PASSWORD, code: str = "") -> Any:
        return outcome(accounts.Login(apb.LoginRequest(email=email, password=password, totp=code)))

    refusal = (Code.UNAUTHENTICATED, WRONG_CREDENTIALS)
    assert await login() == refusal  # no code
    assert await login(code=wrong) == refusal
    assert await login(code=used) == refusal  # replayed: its step served already
    assert await login(password="not the password", code=fresh) == refusal
    assert await login(code="x" * 10_000) == refusal
    session = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=fresh))
    assert session.role == "staff" and not session.enrolment_only and session.refresh_token
    assert await login(code=fresh) == refusal  # a code serves once
    # The same answer for an unknown email, with or without a code.
    unknown = outcome(accounts.Login(apb.LoginRequest(email=f"{uuid.uuid4().hex}@example.fr", password=PASSWORD)))
    assert await unknown == refusal


async def test_an_administrator_logs_in_with_its_code_too_and_candidates_are_unaffected(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    candidate_id, candidate_email = await candidate(fleet)
    session = await accounts.Login(apb.LoginRequest(email=candidate_email, password=PASSWORD))
    assert not session.enrolment_only and session.account_id == candidate_id
    refused = await outcome(accounts.EnrollTotp(apb.EnrollTotpRequest(), metadata=bearer(session.token)))
    assert refused[0] is Code.PERMISSION_DENIED
    admin_token = await admin(fleet)  # enrolled at its first login (staff_fixtures)
    assert admin_token


async def test_second_factor_codes_are_rate_limited_per_account(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    _, email = await staff(fleet, await admin(fleet))
    _, factor = await enrolled(fleet, email, PASSWORD)
    assert factor is not None
    now = datetime.now(UTC)
    wrong = next(c for c in ("123456", "654321", "000001") if totp.matching_step(factor.secret, c, now) is None)
    codes = [
        (await outcome(accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=wrong))))[0]
        for _ in range(21)
    ]
    # The login's own limit (10 a minute for one email) holds for codes too: 22 logins with the first,
    # whatever minute window boundary they straddle, put 11 in one window.
    assert Code.RESOURCE_EXHAUSTED in codes, codes
    assert set(codes[: codes.index(Code.RESOURCE_EXHAUSTED)]) == {Code.UNAUTHENTICATED}
