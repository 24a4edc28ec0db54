"""TOTP (RFC 6238, SHA-1, 6 digits, 30 s) and the enrolment decision of the accounts domain:
"given events, when command, then events (or this error)"."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from uuid import UUID

import pytest
import segno
from pydantic import SecretStr

from archipel_cli.accounts_run import qr_code
from services.accounts.commands import EnrolSecondFactor
from services.accounts.domain import ACCOUNT, INITIAL, decide
from shared import totp
from shared.auth import Role
from shared.contracts.accounts import AccountActivated, AccountCreated, SecondFactorEnrolled
from shared.decider import replay
from shared.errors import AlreadyExists, NotFound, PermissionDenied
from shared.events import DomainEvent

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # RFC 6238 appendix B, SHA-1
ACCOUNT_ID = UUID("6f1c2a3e-0000-4000-8000-0000000000b1")
T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("unix", "code"),
    [(59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_the_codes_of_rfc_6238_appendix_b(unix: int, code: str) -> None:
    """The RFC's 8-digit values, truncated to their last 6 digits (the same HOTP value mod 10^6)."""
    assert totp.code_now(RFC_SECRET, datetime.fromtimestamp(unix, UTC)) == code


def test_a_code_is_accepted_one_step_either_side_and_each_step_once() -> None:
    now = datetime.fromtimestamp(1111111111, UTC)
    step = totp.step_of(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, step + offset), now) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, step + offset), now) is None
    assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, step), now, after=step) is None  # used
    for garbage in ("", "12345", "1234567", "abcdef", "１２３４５６", " " * 6):
        assert totp.matching_step(RFC_SECRET, garbage, now) is None


def test_a_new_secret_is_160_bits_and_its_uri_names_the_account() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) == 20
    uri = totp.provisioning_uri(secret, "agent@ac-lyon.fr")
    assert uri.startswith("otpauth://totp/Archipel%3Aagent%40ac-lyon.fr?secret=" + secret)
    assert "digits=6" in uri and "period=30" in uri and "algorithm=SHA1" in uri


def account(role: Role) -> list[DomainEvent]:
    return [
        AccountCreated(
            account_id=ACCOUNT_ID, role=role, last_name="A", first_names="B", birth_date=None,
            email="a@b.fr", academy="lyon",
        ),
        AccountActivated(account_id=ACCOUNT_ID, academy="lyon", activated_at=T0),
    ]  # fmt: skip


def enrol() -> EnrolSecondFactor:
    return EnrolSecondFactor(account_id=ACCOUNT_ID, secret=SecretStr(totp.new_secret()), step=1, now=T0)


@pytest.mark.parametrize("role", [Role.STAFF, Role.AUDITOR, Role.NATIONAL_AUDITOR, Role.ACADEMY_ADMIN])
def test_an_active_staff_account_enrols_its_factor_once_and_the_event_carries_no_secret(role: Role) -> None:
    command = enrol()
    events = decide(command, replay(ACCOUNT, account(role)))
    assert events == [SecondFactorEnrolled(account_id=ACCOUNT_ID, enrolled_at=T0)]
    assert command.secret.get_secret_value() not in events[0].model_dump_json()
    state = replay(ACCOUNT, [*account(role), *events])
    assert state.second_factor
    with pytest.raises(AlreadyExists):
        decide(enrol(), state)


def test_a_candidate_has_no_second_factor_and_an_unknown_or_pending_account_none_either() -> None:
    with pytest.raises(PermissionDenied):
        decide(enrol(), replay(ACCOUNT, account(Role.CANDIDATE)))
    with pytest.raises(NotFound):
        decide(enrol(), INITIAL)
    with pytest.raises(NotFound):
        decide(enrol(), replay(ACCOUNT, account(Role.STAFF)[:1]))


# The compact terminal drawing, two modules a character, a light module drawn filled (for a dark terminal).
_HALVES = {"█": (0, 0), "▀": (0, 1), "▄": (1, 0), " ": (1, 1)}


def test_enroll_totp_draws_the_otpauth_uri_as_a_qr_code_on_the_terminal() -> None:
    """`archipel accounts enroll-totp` draws the otpauth:// URI (what an authenticator app scans), not
    the bare secret: the drawing, read back module by module, is that URI's QR code."""
    uri = totp.provisioning_uri(totp.new_secret(), "agent@ac-aix-marseille.fr")
    drawn = io.StringIO()
    qr_code(uri, drawn)
    rows: list[list[int]] = []
    for line in drawn.getvalue().splitlines():
        if line.strip():
            pairs = [_HALVES[char] for char in line]
            rows += [[top for top, _ in pairs], [bottom for _, bottom in pairs]]
    expected = [list(row) for row in segno.make(uri, error="m").matrix_iter(border=2)]
    assert rows[: len(expected)] == expected
