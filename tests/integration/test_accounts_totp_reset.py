"""The TOTP secrets sealed at rest, and a lost second factor reset by the académie's administrator
(issue 13), tried as an attacker would against every real server (in-process, real PostgreSQL).

Sealed: after an enrolment, neither the secret (base32) nor its bytes appear in any column of the
accounts' schema; a login with a valid code works; a sealed row altered, or moved to another
account, fails closed (the answer of a wrong password, one line logged); a secret stored in clear
before the sealing is sealed once by the API's start, its clear column gone.
Reset: a candidate, staff, an auditor, another académie's administrator and an administrator naming
an unknown account are refused alike and nothing is written; the administrator's reset ends every
session of the account (the accounts service at once, the others once their read model has it),
deletes its secret, and its next login is restricted to enrolling a new one."""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.registration.v1 import registration_pb2_grpc as rpb_grpc
from services.accounts.bootstrap import bootstrap_account, reset_bootstrapped_factor
from services.accounts.sessions import WRONG_CREDENTIALS
from services.accounts.streams import account_stream
from services.accounts.totp_secrets import seal_clear_secrets, totp_sealer
from shared import totp
from shared.auth import Role
from shared.errors import InvalidInput
from tests.integration.fuzz_fixtures import ACADEMY, Fleet, fleet_of_servers  # noqa: F401 (the `fleet` fixture)
from tests.integration.grpc_fixtures import PASSWORD, bearer
from tests.integration.staff_fixtures import (
    ADMIN_PASSWORD,
    Factor,
    accounts_of,
    admin,
    candidate,
    enrolled,
    feed,
    fresh_email,
    sign_in,
    staff,
)

Code = grpc.StatusCode
REFUSED = (Code.UNAUTHENTICATED, WRONG_CREDENTIALS)


async def outcome(call: Any) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return Code.OK, ""


async def schema_text(fleet: Fleet) -> str:
    """Every row of every table of the accounts' schema, as text (bytea as hex)."""
    pool = fleet.stores["accounts"].pool
    tables = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    rows = [await pool.fetch(f'SELECT t::text AS row FROM "{table["tablename"]}" t') for table in tables]
    return "\n".join(row["row"] for found in rows for row in found).lower()


def traces(secret: str) -> list[str]:
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return [secret.lower(), raw.hex(), base64.b64encode(raw).decode().lower()]


async def enrolled_staff(fleet: Fleet, admin_token: str) -> tuple[str, str, Factor]:
    staff_id, email = await staff(fleet, admin_token)
    _, factor = await enrolled(fleet, email, PASSWORD)
    assert factor is not None
    return staff_id, email, factor


def fresh_code(factor: Factor) -> str:
    return totp.code_at(factor.secret, max(totp.step_of(datetime.now(UTC)), factor.step + 1))


async def test_the_secret_is_in_no_column_and_a_valid_code_still_logs_in(fleet: Fleet) -> None:
    _, email, factor = await enrolled_staff(fleet, await admin(fleet))
    text = await schema_text(fleet)
    assert all(trace not in text for trace in traces(factor.secret))
    # The pending secret of an enrolment in progress is sealed too.
    other_id, other_email = await staff(fleet, await admin(fleet))
    accounts = accounts_of(fleet)
    first = await accounts.Login(apb.LoginRequest(email=other_email, password=PASSWORD))
    pending = await accounts.EnrollTotp(apb.EnrollTotpRequest(), metadata=bearer(first.token))
    text = await schema_text(fleet)
    assert all(trace not in text for trace in traces(pending.secret))
    session = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=fresh_code(factor)))
    assert session.role == "staff" and not session.enrolment_only and session.refresh_token
    assert other_id


async def test_a_tampered_or_moved_secret_fails_closed_with_one_line_logged(
    fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    accounts = accounts_of(fleet)
    admin_token = await admin(fleet)
    staff_id, email, factor = await enrolled_staff(fleet, admin_token)
    other_id, _, _ = await enrolled_staff(fleet, admin_token)
    pool = fleet.stores["accounts"].pool
    # Altered: one bit of the sealed value flipped.
    await pool.execute(
        "UPDATE totp_secrets SET sealed = set_byte(sealed, 20, get_byte(sealed, 20) # 1) WHERE account_id = $1",
        uuid.UUID(staff_id),
    )
    caplog.set_level(logging.INFO, logger="services.accounts.totp_secrets")
    login = accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=fresh_code(factor)))
    assert await outcome(login) == REFUSED
    lines = [r for r in caplog.records if r.name == "services.accounts.totp_secrets"]
    assert len(lines) == 1 and staff_id in lines[0].getMessage() and factor.secret not in lines[0].getMessage()
    # Moved: another account's sealed secret (valid under the key) does not open for this one.
    await pool.execute(
        "UPDATE totp_secrets SET sealed = (SELECT sealed FROM totp_secrets WHERE account_id = $2)"
        " WHERE account_id = $1",
        uuid.UUID(staff_id),
        uuid.UUID(other_id),
    )
    login = accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=fresh_code(factor)))
    assert await outcome(login) == REFUSED


async def test_a_secret_stored_in_clear_before_is_sealed_once_at_start(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    staff_id, email, factor = await enrolled_staff(fleet, await admin(fleet))
    pool = fleet.stores["accounts"].pool
    # As an enrolment before the sealing left it (accounts_0006 kept the clear column until the start).
    await pool.execute(
        "UPDATE totp_secrets SET secret = $2, sealed = NULL WHERE account_id = $1", uuid.UUID(staff_id), factor.secret
    )
    refused = accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=fresh_code(factor)))
    assert await outcome(refused) == REFUSED  # never read in clear
    assert await seal_clear_secrets(pool, totp_sealer(fleet.settings)) == 1
    assert await seal_clear_secrets(pool, totp_sealer(fleet.settings)) == 0  # once
    columns = await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = 'totp_secrets' ORDER BY column_name"
    )
    assert [c["column_name"] for c in columns] == ["account_id", "last_step", "sealed"]
    text = await schema_text(fleet)
    assert all(trace not in text for trace in traces(factor.secret))
    session = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=fresh_code(factor)))
    assert not session.enrolment_only


async def test_only_the_academys_administrator_resets_a_second_factor_and_unknown_looks_the_same(
    fleet: Fleet,
) -> None:
    accounts = accounts_of(fleet)
    admin_token = await admin(fleet)
    staff_id, _, _ = await enrolled_staff(fleet, admin_token)
    colleague_token = (await sign_in(fleet, (await staff(fleet, admin_token))[1], PASSWORD)).token
    auditor_token = (await sign_in(fleet, (await staff(fleet, admin_token, "auditor"))[1], PASSWORD)).token
    candidate_token = (await sign_in(fleet, (await candidate(fleet))[1], PASSWORD)).token
    lyon_token = await admin(fleet, "lyon")
    before = await fleet.event_count()

    def reset(account: str, token: str, reason: str = "téléphone perdu") -> Any:
        request = apb.ResetTotpRequest(account_id=account, reason=reason)
        return outcome(accounts.ResetTotp(request, metadata=bearer(token)))

    for token in (candidate_token, colleague_token, auditor_token, lyon_token):
        assert (await reset(staff_id, token))[0] is Code.PERMISSION_DENIED
    assert (await reset(staff_id, ""))[0] is Code.UNAUTHENTICATED
    other_academy = await reset(staff_id, lyon_token)
    unknown = await reset(str(uuid.uuid4()), admin_token)
    assert unknown == other_academy and unknown[0] is Code.PERMISSION_DENIED
    assert (await reset("not-a-uuid", admin_token))[0] is Code.INVALID_ARGUMENT
    assert (await reset(staff_id, admin_token, reason=""))[0] is Code.INVALID_ARGUMENT
    assert (await reset(staff_id, admin_token, reason="x" * 501))[0] is Code.INVALID_ARGUMENT
    assert await fleet.event_count() == before


async def test_a_reset_ends_every_session_deletes_the_secret_and_the_next_login_enrols_again(fleet: Fleet) -> None:
    accounts = accounts_of(fleet)
    registration = rpb_grpc.RegistrationStub(next(e.channel for e in fleet.endpoints if e.service == "registration"))
    admin_token = await admin(fleet)
    staff_id, email, factor = await enrolled_staff(fleet, admin_token)
    await feed(fleet, "registration", staff_id)
    session = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=fresh_code(factor)))
    calendar = rpb.GetCalendarRequest(academy=ACADEMY, session=2031)
    assert (await outcome(registration.GetCalendar(calendar, metadata=bearer(session.token))))[0] is Code.NOT_FOUND

    done = await accounts.ResetTotp(
        apb.ResetTotpRequest(account_id=staff_id, reason="téléphone perdu"), metadata=bearer(admin_token)
    )
    assert done.account_id == staff_id and done.reset_at
    pool = fleet.stores["accounts"].pool
    assert await pool.fetchval("SELECT count(*) FROM totp_secrets WHERE account_id = $1", uuid.UUID(staff_id)) == 0
    stream = await fleet.stores["accounts"].read_stream(account_stream(uuid.UUID(staff_id)))
    last = stream[-1]
    assert last.event_type == "SecondFactorReset"
    assert last.payload.reason == "téléphone perdu" and last.payload.by != ""  # type: ignore[attr-defined]
    assert factor.secret not in last.payload.model_dump_json()
    # Its sessions end: the accounts service at once, the others once their read model has the event.
    own = accounts.GetAccount(apb.GetAccountRequest(account_id=staff_id), metadata=bearer(session.token))
    assert (await outcome(own))[0] is Code.UNAUTHENTICATED
    refreshed = await outcome(accounts.Refresh(apb.RefreshRequest(refresh_token=session.refresh_token)))
    assert refreshed[0] is Code.UNAUTHENTICATED
    await feed(fleet, "registration", staff_id)
    code, details = await outcome(registration.GetCalendar(calendar, metadata=bearer(session.token)))
    assert code is Code.UNAUTHENTICATED and "revoked" in details
    # The old code serves no more; the password gives the enrolment-only token, as a first login.
    first = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD, totp=fresh_code(factor)))
    assert first.enrolment_only and first.refresh_token == ""
    again, new_factor = await enrolled(fleet, email, PASSWORD)
    assert new_factor is not None and new_factor.secret != factor.secret and not again.enrolment_only
    # A second reset of an account without a factor enrolled is refused naming the field.
    await accounts.ResetTotp(apb.ResetTotpRequest(account_id=staff_id, reason="encore"), metadata=bearer(admin_token))
    code, details = await outcome(
        accounts.ResetTotp(apb.ResetTotpRequest(account_id=staff_id, reason="encore"), metadata=bearer(admin_token))
    )
    assert code is Code.INVALID_ARGUMENT and "account_id" in details


async def test_an_administrators_lost_factor_is_reset_on_the_server_only(fleet: Fleet) -> None:
    """No one above an académie's administrator resets its factor through gRPC (another administrator
    of the same académie is refused); the server does (`archipel accounts bootstrap-reset-totp`): its
    sessions end and its next login enrols a new factor."""
    email = fresh_email("admin")
    await bootstrap_account(
        fleet.settings, last_name="Admin", first_names="Perdu", email=email, password=ADMIN_PASSWORD,
        academy=ACADEMY, role=Role.ACADEMY_ADMIN,
    )  # fmt: skip
    session, factor = await enrolled(fleet, email, ADMIN_PASSWORD)
    assert factor is not None and not session.enrolment_only
    accounts = accounts_of(fleet)
    other_admin = await admin(fleet, ACADEMY)
    by_grpc = accounts.ResetTotp(
        apb.ResetTotpRequest(account_id=session.account_id, reason="téléphone perdu"), metadata=bearer(other_admin)
    )
    assert (await outcome(by_grpc))[0] is Code.PERMISSION_DENIED
    with pytest.raises(InvalidInput, match="operator"):
        await reset_bootstrapped_factor(fleet.settings, uuid.UUID(session.account_id), reason="perdu", operator=" ")

    await reset_bootstrapped_factor(fleet.settings, uuid.UUID(session.account_id), reason="perdu", operator="dpo")
    (last,) = (await fleet.stores["accounts"].read_stream(account_stream(uuid.UUID(session.account_id))))[-1:]
    assert (last.event_type, last.actor) == ("SecondFactorReset", "server:dpo")
    own = accounts.GetAccount(apb.GetAccountRequest(account_id=session.account_id), metadata=bearer(session.token))
    assert (await outcome(own))[0] is Code.UNAUTHENTICATED
    again = await accounts.Login(apb.LoginRequest(email=email, password=ADMIN_PASSWORD, totp=fresh_code(factor)))
    assert again.enrolment_only
