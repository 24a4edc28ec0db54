"""Bearer tokens and principals (DESIGN rule 8), and the mapping of errors to gRPC status codes
(DESIGN rule 9). Time is injected: no test reads the wall clock."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.auth import Principal, Role, bearer, issue_token, verify_token
from shared.errors import (
    AlreadyExists,
    ArchipelError,
    ConcurrencyError,
    InvalidEvent,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
    Unauthenticated,
    UnknownEventType,
)
from shared.rpc import invalid_input_from, status_for

SECRET = "test-secret-0123456789-abcdefghijklmnop"
T = datetime(2025, 10, 10, 8, 0, tzinfo=UTC)
TTL = timedelta(hours=8)

CANDIDATE = Principal(subject="cand-1", role=Role.CANDIDATE, academy="aix-marseille")
STAFF = Principal(subject="staff-1", role=Role.STAFF, academy="aix-marseille")
AUDITOR = Principal(subject="audit-1", role=Role.AUDITOR, academy="aix-marseille")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- tokens -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("principal", [CANDIDATE, STAFF, AUDITOR])
def test_a_token_names_its_principal(principal: Principal) -> None:
    token = issue_token(principal, SECRET, T, TTL)
    assert verify_token(token, SECRET, T) == principal


def test_a_token_carries_the_documented_claims() -> None:
    claims = jwt.decode(issue_token(STAFF, SECRET, T, TTL), SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "sub": "staff-1",
        "role": "staff",
        "aca": "aix-marseille",
        "iat": int(T.timestamp()),
        "exp": int((T + TTL).timestamp()),
    }


def test_a_token_verifies_one_second_before_its_expiry() -> None:
    token = issue_token(CANDIDATE, SECRET, T, TTL)
    assert verify_token(token, SECRET, T + TTL - timedelta(seconds=1)) == CANDIDATE


def test_a_token_is_refused_at_its_expiry() -> None:
    token = issue_token(CANDIDATE, SECRET, T, TTL)
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(token, SECRET, T + TTL)
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(token, SECRET, T + TTL + timedelta(days=30))


def test_expiry_uses_the_injected_clock_not_the_wall_clock() -> None:
    """A token issued in 2001 still verifies if the injected clock says 2001."""
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    token = issue_token(STAFF, SECRET, long_ago, TTL)
    assert verify_token(token, SECRET, long_ago + timedelta(hours=1)) == STAFF


@settings(max_examples=200, deadline=None)
@given(
    ttl_seconds=st.integers(min_value=1, max_value=7 * 24 * 3600),
    offset=st.integers(min_value=-3600, max_value=8 * 24 * 3600),
)
def test_a_token_verifies_iff_now_is_before_issue_plus_ttl(ttl_seconds: int, offset: int) -> None:
    ttl = timedelta(seconds=ttl_seconds)
    now = T + timedelta(seconds=offset)
    token = issue_token(STAFF, SECRET, T, ttl)
    if now < T + ttl:
        assert verify_token(token, SECRET, now) == STAFF
    else:
        with pytest.raises(Unauthenticated, match="expired"):
            verify_token(token, SECRET, now)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    forged = issue_token(STAFF, "another-secret-of-the-same-length-000000", T, TTL)
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify_token(forged, SECRET, T)


def test_a_tampered_payload_is_refused() -> None:
    """A candidate who rewrites its role to staff keeps the old signature: refused."""
    header, payload, signature = issue_token(CANDIDATE, SECRET, T, TTL).split(".")
    claims = json.loads(unb64(payload))
    claims["role"] = "staff"
    tampered = ".".join([header, b64(json.dumps(claims).encode()), signature])
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify_token(tampered, SECRET, T)


def test_an_unsigned_token_is_refused() -> None:
    claims = {"sub": "x", "role": "staff", "aca": "aix-marseille", "exp": int((T + TTL).timestamp())}
    unsigned = jwt.encode(claims, key="", algorithm="none")
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify_token(unsigned, SECRET, T)


def test_a_token_naming_an_unknown_role_is_refused() -> None:
    claims = {"sub": "x", "role": "admin", "aca": "aix-marseille", "exp": int((T + TTL).timestamp())}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="unknown role"):
        verify_token(token, SECRET, T)


@pytest.mark.parametrize("missing", ["sub", "role", "aca", "exp"])
def test_a_token_lacking_a_claim_is_refused(missing: str) -> None:
    claims: dict[str, object] = {
        "sub": "x",
        "role": "staff",
        "aca": "aix-marseille",
        "exp": int((T + TTL).timestamp()),
    }
    del claims[missing]
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify_token(token, SECRET, T)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused_as_unauthenticated(garbage: str) -> None:
    with pytest.raises(Unauthenticated):
        verify_token(garbage, SECRET, T)


# -- bearer() ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ((("authorization", "Bearer abc.def"),), "abc.def"),
        ((("Authorization", "Bearer abc"),), "abc"),
        ((("AUTHORIZATION", "bearer abc"),), "abc"),
        ((("authorization", b"Bearer abc"),), "abc"),
        ((("authorization", "Bearer  abc "),), "abc"),
        ((("x-request-id", "1"), ("authorization", "Bearer abc")), "abc"),
        ((("authorization", "Basic dXNlcjpwdw=="), ("authorization", "Bearer abc")), "abc"),
        ((("authorization", "Basic dXNlcjpwdw=="),), None),
        ((("authorization", "Bearer"),), None),
        ((("authorization", "Bearer "),), None),
        ((("authorization", "abc"),), None),
        ((("x-authorization", "Bearer abc"),), None),
        ((), None),
        (None, None),
    ],
)
def test_bearer_reads_the_authorization_metadata(
    metadata: tuple[tuple[str, str | bytes], ...] | None, expected: str | None
) -> None:
    assert bearer(metadata) == expected


def test_bearer_then_verify_gives_the_principal() -> None:
    token = issue_token(CANDIDATE, SECRET, T, TTL)
    found = bearer((("authorization", f"Bearer {token}"),))
    assert found is not None
    assert verify_token(found, SECRET, T) == CANDIDATE


# -- principals -------------------------------------------------------------------------------------


def test_a_candidate_reads_only_its_own_data() -> None:
    assert CANDIDATE.may_read("cand-1", "aix-marseille")
    assert CANDIDATE.may_read("cand-1", "lyon")  # its own data, whatever the académie
    assert not CANDIDATE.may_read("cand-2", "aix-marseille")


@pytest.mark.parametrize("principal", [STAFF, AUDITOR])
def test_staff_and_auditors_read_only_their_academie(principal: Principal) -> None:
    assert principal.may_read("cand-1", "aix-marseille")
    assert principal.may_read("anyone", "aix-marseille")
    assert not principal.may_read("cand-1", "lyon")
    assert not principal.may_read(principal.subject, "lyon")


def test_an_auditor_never_writes() -> None:
    with pytest.raises(PermissionDenied, match="read-only"):
        AUDITOR.require_writer()


@pytest.mark.parametrize("principal", [CANDIDATE, STAFF])
def test_candidates_and_staff_may_write(principal: Principal) -> None:
    principal.require_writer()


def test_principals_are_frozen() -> None:
    with pytest.raises(ValidationError):
        CANDIDATE.role = Role.STAFF  # type: ignore[misc]


# -- errors and gRPC status codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInput("email", "not a valid email address"), grpc.StatusCode.INVALID_ARGUMENT),
        (RuleViolation("R-05", "expired"), grpc.StatusCode.FAILED_PRECONDITION),
        (ConcurrencyError("stream moved"), grpc.StatusCode.ABORTED),
        (NotFound("no such account"), grpc.StatusCode.NOT_FOUND),
        (Unauthenticated("token expired"), grpc.StatusCode.UNAUTHENTICATED),
        (PermissionDenied("read-only"), grpc.StatusCode.PERMISSION_DENIED),
        (AlreadyExists("exists"), grpc.StatusCode.ALREADY_EXISTS),
        (InvalidEvent("bad record"), grpc.StatusCode.INTERNAL),
        (UnknownEventType("x"), grpc.StatusCode.INTERNAL),
        (ArchipelError("other"), grpc.StatusCode.INTERNAL),
    ],
)
def test_status_for_maps_each_error_to_its_grpc_code(error: ArchipelError, code: grpc.StatusCode) -> None:
    assert status_for(error) == code


def test_error_messages_name_the_field_and_the_rule() -> None:
    invalid = InvalidInput("birth_date", "must be in the past")
    assert (invalid.field, invalid.reason, invalid.message) == (
        "birth_date",
        "must be in the past",
        "birth_date: must be in the past",
    )
    violation = RuleViolation("R-05", "this activation link expired")
    assert violation.rule == "R-05"
    assert violation.message == "this activation link expired (R-05)"
    assert str(violation) == violation.message


def test_a_validation_error_becomes_invalid_input_naming_the_field() -> None:
    class Request(BaseModel):
        email: str
        count: int

    with pytest.raises(ValidationError) as caught:
        Request.model_validate({"email": "a@b.fr", "count": "many"})
    error = invalid_input_from(caught.value)
    assert error.field == "count"
    assert status_for(error) == grpc.StatusCode.INVALID_ARGUMENT
