"""Bearer tokens and principals (DESIGN rule 8), and the mapping of errors to gRPC status codes
(DESIGN rule 9). Time is injected: no test reads the wall clock."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.auth import ISSUER, Principal, Role, bearer, issue_token, verify_token
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
from shared.names import SERVICES
from shared.rpc import invalid_input_from, status_for
from shared.token_keys import KeySet, SigningKey

KEY = SigningKey.generate()
KEYS = KEY.key_set()
T = datetime(2025, 10, 10, 8, 0, tzinfo=UTC)
TTL = timedelta(hours=8)
AUD = "registration"

CANDIDATE = Principal(subject="cand-1", role=Role.CANDIDATE, academy="aix-marseille")
STAFF = Principal(subject="staff-1", role=Role.STAFF, academy="aix-marseille")
AUDITOR = Principal(subject="audit-1", role=Role.AUDITOR, academy="aix-marseille")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(token: str, now: datetime = T, audience: str = AUD, keys: KeySet = KEYS) -> Principal:
    return verify_token(token, keys, now, audience)


def signed(claims: dict[str, object], key: SigningKey = KEY) -> str:
    """A token with exactly `claims`, signed by `key` (the accounts service's way)."""
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})


def full_claims() -> dict[str, object]:
    return {
        "iss": ISSUER,
        "sub": "x",
        "aud": [AUD],
        "jti": "j1",
        "role": "staff",
        "aca": "aix-marseille",
        "exp": int((T + TTL).timestamp()),
    }


# -- tokens -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("principal", [CANDIDATE, STAFF, AUDITOR])
def test_a_token_names_its_principal(principal: Principal) -> None:
    token = issue_token(principal, KEY, T, TTL)
    assert verify(token) == principal


def test_a_token_carries_the_documented_claims() -> None:
    token = issue_token(STAFF.model_copy(update={"token_version": 2}), KEY, T, TTL)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": "JWT", "kid": KEY.kid}
    claims = jwt.decode(token, options={"verify_signature": False})
    jti = claims.pop("jti")
    assert claims == {
        "iss": "archipel-accounts",
        "sub": "staff-1",
        "aud": list(SERVICES),
        "role": "staff",
        "aca": "aix-marseille",
        "ver": 2,
        "iat": int(T.timestamp()),
        "exp": int((T + TTL).timestamp()),
    }
    assert (
        len(jti) == 32
        and jti != jwt.decode(issue_token(STAFF, KEY, T, TTL), options={"verify_signature": False})["jti"]
    )


def test_a_token_is_accepted_only_by_the_services_of_its_audience() -> None:
    token = issue_token(STAFF, KEY, T, TTL, audience=["registration"])
    assert verify(token, audience="registration") == STAFF
    for other in ("results", "accounts", "documents", "dossier"):
        with pytest.raises(Unauthenticated, match=f"not for this service \\({other}\\)"):
            verify(token, audience=other)


def test_a_token_signed_by_another_key_is_refused() -> None:
    forged = issue_token(STAFF, SigningKey.generate(), T, TTL)
    with pytest.raises(Unauthenticated, match="unknown key"):
        verify(forged)


def test_a_token_naming_a_published_kid_but_signed_by_another_key_is_refused() -> None:
    other = SigningKey.generate()
    forged = jwt.encode(full_claims(), other.private, algorithm="EdDSA", headers={"kid": KEY.kid})
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify(forged)


def test_an_hs256_token_made_with_the_public_key_is_refused() -> None:
    """The algorithm confusion attack: the public key used as an HMAC secret."""
    public = KEY.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    forged = jwt.encode(full_claims(), public, algorithm="HS256", headers={"kid": KEY.kid})
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify(forged)


def test_every_key_of_the_set_verifies_after_a_rotation() -> None:
    newer = SigningKey.generate()
    both = KEYS.plus(newer)
    assert list(both.keys) == [newer.kid, KEY.kid]
    assert verify(issue_token(STAFF, KEY, T, TTL), keys=both) == STAFF
    assert verify(issue_token(STAFF, newer, T, TTL), keys=both) == STAFF
    assert KeySet.from_json(both.to_json()) == both


def test_a_token_verifies_one_second_before_its_expiry() -> None:
    token = issue_token(CANDIDATE, KEY, T, TTL)
    assert verify(token, T + TTL - timedelta(seconds=1)) == CANDIDATE


def test_a_token_is_refused_at_its_expiry() -> None:
    token = issue_token(CANDIDATE, KEY, T, TTL)
    with pytest.raises(Unauthenticated, match="expired"):
        verify(token, T + TTL)
    with pytest.raises(Unauthenticated, match="expired"):
        verify(token, T + TTL + timedelta(days=30))


def test_expiry_uses_the_injected_clock_not_the_wall_clock() -> None:
    """A token issued in 2001 still verifies if the injected clock says 2001."""
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    token = issue_token(STAFF, KEY, long_ago, TTL)
    assert verify(token, long_ago + timedelta(hours=1)) == STAFF


@settings(max_examples=100, deadline=None)
@given(
    ttl_seconds=st.integers(min_value=1, max_value=7 * 24 * 3600),
    offset=st.integers(min_value=-3600, max_value=8 * 24 * 3600),
)
def test_a_token_verifies_iff_now_is_before_issue_plus_ttl(ttl_seconds: int, offset: int) -> None:
    ttl = timedelta(seconds=ttl_seconds)
    now = T + timedelta(seconds=offset)
    token = issue_token(STAFF, KEY, T, ttl)
    if now < T + ttl:
        assert verify(token, now) == STAFF
    else:
        with pytest.raises(Unauthenticated, match="expired"):
            verify(token, now)


def test_a_tampered_payload_is_refused() -> None:
    """A candidate who rewrites its role to staff keeps the old signature: refused."""
    header, payload, signature = issue_token(CANDIDATE, KEY, T, TTL).split(".")
    claims = json.loads(unb64(payload))
    claims["role"] = "staff"
    tampered = ".".join([header, b64(json.dumps(claims).encode()), signature])
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify(tampered)


def test_an_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode(full_claims(), key="", algorithm="none", headers={"kid": KEY.kid})
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify(unsigned)


def test_a_token_of_another_issuer_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="invalid token"):
        verify(signed({**full_claims(), "iss": "someone-else"}))


def test_a_token_naming_an_unknown_role_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="unknown role"):
        verify(signed({**full_claims(), "role": "admin"}))


@pytest.mark.parametrize("missing", ["iss", "sub", "aud", "jti", "role", "aca", "exp"])
def test_a_token_lacking_a_claim_is_refused(missing: str) -> None:
    claims = full_claims()
    del claims[missing]
    with pytest.raises(Unauthenticated):
        verify(signed(claims))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused_as_unauthenticated(garbage: str) -> None:
    with pytest.raises(Unauthenticated):
        verify(garbage)


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
    token = issue_token(CANDIDATE, KEY, T, TTL)
    found = bearer((("authorization", f"Bearer {token}"),))
    assert found is not None
    assert verify(found) == CANDIDATE


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
