"""The accounts gRPC API on the real PostgreSQL (DESIGN rules 3 and 9): bad input is refused with
INVALID_ARGUMENT naming the field, never INTERNAL/UNKNOWN, and a failing call writes no event and
sends no mail; the R-04/R-05 flows, the auth interceptor, health and reflection, and concurrent
activations of one account."""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import Awaitable
from datetime import date, timedelta
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archipel.accounts.v1 import accounts_pb2 as pb
from services.accounts.api import SERVICE_NAME
from shared.token_keys import SigningKey
from tests.integration.grpc_fixtures import (  # noqa: F401 (accounts_server is the `accounts` fixture)
    ACADEMY,
    PASSWORD,
    START,
    AccountsServer,
    accounts_server,
    bearer,
    candidate,
    create_request,
    staff,
)

Code = grpc.StatusCode

# Hypothesis and the async fixtures: pytest-asyncio (>= 0.11) recognises an `async def` test
# decorated with @given and runs hypothesis' inner test in the session event loop, so each example
# is a coroutine on the same loop as the gRPC server and the asyncpg pool that the function-scoped
# `accounts` fixture opened once for the whole test (hence the suppressed health check: examples
# share the server, which is exactly what we want; each example counts events before and after).
FUZZ = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

SPECIAL = ["", " ", "\x00", "a\x00b", "\t\n", "é", "🙂🙂", "İı", "\u202eevil", "null", "'; DROP TABLE x; --"]
junk = st.one_of(st.sampled_from([*SPECIAL, "x" * 10_000, "é" * 10_000]), st.text(max_size=40))
BAD_DATES = ["", "2020-02-30", "abc", "2008-13-01", "31/12/2000", "2999-01-01", "1850-06-01", "\x00"]
BAD_EMAILS = ["", "a", "@", "a@b", "a@@b.fr", "a b@c.fr", "a\x00@b.fr", "x" * 250 + "@ab.fr"]
BAD_ACADEMIES = ["", "Aix", "aix marseille", "aix-", "-aix", "aix--m", "aix\n", "aïx", "aix\x00", "aix_m"]


def _parses_as_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


BAD_VALUES: dict[str, st.SearchStrategy[str]] = {
    "last_name": st.sampled_from(["", "   ", "\x00", "Mar\x00tin", "x" * 101, "é" * 10_000]),
    "first_names": st.sampled_from(["", "\t\n ", "\x00", "Léa\x00", "y" * 101]),
    "birth_date": st.one_of(
        # START's date: born today is not in the past
        st.sampled_from([*BAD_DATES, "2007-05-14\x00", START.date().isoformat()]),
        st.text(max_size=20).filter(lambda text: not _parses_as_date(text)),
    ),
    "email": st.one_of(
        st.sampled_from([*BAD_EMAILS, "x@" + "é" * 10_000 + ".fr"]),
        st.text(max_size=30).filter(lambda text: "@" not in text),
    ),
    "academy": st.one_of(
        st.sampled_from(BAD_ACADEMIES),
        st.text(max_size=20).filter(lambda text: not re.fullmatch(r"[a-z]+(-[a-z]+)*", text)),
    ),
}
one_bad_field = st.one_of(*(st.tuples(st.just(name), values) for name, values in BAD_VALUES.items()))

VALID = "<a valid staff token>"
printable = st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " ", max_size=300)
auth = st.one_of(st.none(), st.just(VALID), printable, printable.map(lambda text: f"Bearer {text}"))
emails = st.one_of(BAD_VALUES["email"], junk, st.emails().map(str))
Call = tuple[str, Any, "str | None"]
junk_create = st.builds(
    pb.CreateAccountRequest,
    last_name=junk,
    first_names=junk,
    email=emails,
    password=junk,
    academy=junk,
    birth_date=st.one_of(junk, BAD_VALUES["birth_date"]),
)
calls: st.SearchStrategy[Call] = st.one_of(
    junk_create.map(lambda request: ("CreateAccount", request, None)),
    st.builds(pb.ActivateAccountRequest, token=junk, password=junk).map(
        lambda request: ("ActivateAccount", request, None)
    ),
    st.builds(pb.ResendActivationRequest, email=emails).map(lambda request: ("ResendActivation", request, None)),
    st.builds(pb.LoginRequest, email=emails, password=junk).map(lambda request: ("Login", request, None)),
    st.builds(pb.RequestPasswordResetRequest, email=emails).map(
        lambda request: ("RequestPasswordReset", request, None)
    ),
    st.builds(pb.ResetPasswordRequest, token=junk, new_password=junk).map(
        lambda request: ("ResetPassword", request, None)
    ),
    st.tuples(st.builds(pb.GetAccountRequest, account_id=st.one_of(junk, st.uuids().map(str))), auth).map(
        lambda pair: ("GetAccount", pair[0], pair[1])
    ),
)
# Issue 13: creation, a new link and a reset request answer OK whatever the email (no account, a
# pending or an active one); a login refusal is one UNAUTHENTICATED.
ALLOWED = {
    "CreateAccount": {Code.INVALID_ARGUMENT, Code.OK},
    "ActivateAccount": {Code.INVALID_ARGUMENT, Code.NOT_FOUND},
    "ResendActivation": {Code.INVALID_ARGUMENT, Code.OK},
    "Login": {Code.INVALID_ARGUMENT, Code.UNAUTHENTICATED},
    "RequestPasswordReset": {Code.INVALID_ARGUMENT, Code.OK},
    "ResetPassword": {Code.INVALID_ARGUMENT, Code.NOT_FOUND},
}


async def outcome(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return Code.OK, ""


@FUZZ
@given(bad=one_bad_field)
async def test_create_account_refuses_each_bad_field_by_name_and_writes_nothing(
    accounts: AccountsServer, bad: tuple[str, str]
) -> None:
    field, value = bad
    before, mails = await accounts.event_count(), len(accounts.mailer.messages)

    code, details = await outcome(accounts.stub.CreateAccount(create_request(**{field: value})))

    assert (code, details.split(":")[0]) == (Code.INVALID_ARGUMENT, field), details
    assert await accounts.event_count() == before
    assert len(accounts.mailer.messages) == mails


@FUZZ
@given(call=calls)
async def test_junk_on_every_rpc_is_never_internal_and_failures_write_nothing(
    accounts: AccountsServer, call: Call
) -> None:
    method, request, token = call
    valid = token == VALID
    if valid:
        token = accounts.token(staff(ACADEMY))
    before, mails = await accounts.event_count(), len(accounts.mailer.messages)

    code, details = await outcome(getattr(accounts.stub, method)(request, metadata=bearer(token) if token else None))

    assert code not in (Code.INTERNAL, Code.UNKNOWN), (method, details)
    if method == "GetAccount":  # no account is projected: a valid caller gets NOT_FOUND at best
        expected = {Code.INVALID_ARGUMENT, Code.NOT_FOUND} if valid else {Code.UNAUTHENTICATED}
        assert code in expected, (method, code, details)
    else:
        assert code in ALLOWED[method], (method, code, details)
    if code is not Code.OK:
        assert await accounts.event_count() == before, (method, details)
        assert len(accounts.mailer.messages) == mails


async def test_create_activate_login_and_read_the_own_account(accounts: AccountsServer) -> None:
    email = "Lea.Martin@Example.fr"
    created = await accounts.stub.CreateAccount(create_request(email=email))
    assert created.activation_expires_at == (START + timedelta(hours=48)).isoformat()

    token = accounts.mailer.last_token(email.lower())  # the address is stored and used normalised
    assert accounts.mailer.messages[-1]["Subject"] == "Activez votre compte Archipel"
    activated = await accounts.stub.ActivateAccount(pb.ActivateAccountRequest(token=token, password=PASSWORD))
    login = await accounts.stub.Login(pb.LoginRequest(email="lea.martin@example.fr", password=PASSWORD))
    assert (activated.account_id, login.account_id) == (created.account_id, created.account_id)
    assert (login.role, login.academy) == ("candidate", ACADEMY)
    # Every event of the account is the candidate's and the académie's (DESIGN rules 6 and 8): one
    # Kafka key for the whole stream, so its events stay in order on one partition.
    envelopes = await accounts.store.read_stream(f"account-{created.account_id}")
    assert [e.event_type for e in envelopes] == ["AccountCreated", "ActivationLinkSent", "AccountActivated"]
    assert {(e.academy, e.candidate_id, e.partition_key) for e in envelopes} == {
        (ACADEMY, created.account_id, created.account_id)
    }

    request = pb.GetAccountRequest(account_id=created.account_id)
    code, details = await outcome(accounts.stub.GetAccount(request, metadata=bearer(login.token)))
    assert code is Code.NOT_FOUND, details  # the read model has not seen the events yet
    await accounts.project()
    account = await accounts.stub.GetAccount(request, metadata=bearer(login.token))
    assert (account.email, account.status, account.last_name) == ("lea.martin@example.fr", "active", "Martin")
    assert account.activated_at == START.isoformat()
    assert await accounts.event_count() == 3


async def expect(call: Awaitable[object], code: grpc.StatusCode, fragment: str) -> None:
    got, details = await outcome(call)
    assert (got, fragment in details) == (code, True), details


async def test_refusals_name_the_field_or_the_rule_and_write_nothing(accounts: AccountsServer) -> None:
    """Issue 13 changed what a taken or unknown email gets: the answers of an unknown email (OK for a
    creation or a new link, one UNAUTHENTICATED for a login) are tested in test_accounts_abuse."""
    email, stub = await accounts.create(), accounts.stub
    before = await accounts.event_count()

    link = pb.ActivateAccountRequest(token=accounts.mailer.last_token(email), password=PASSWORD)
    short = pb.ActivateAccountRequest(token=link.token, password="short")
    await expect(stub.ActivateAccount(short), Code.INVALID_ARGUMENT, "password:")
    too_long = pb.ActivateAccountRequest(token=link.token, password="x" * 257)
    await expect(stub.ActivateAccount(too_long), Code.INVALID_ARGUMENT, "password:")
    await expect(stub.Login(pb.LoginRequest(email=email, password=PASSWORD)), Code.UNAUTHENTICATED, "wrong")
    unknown = pb.ActivateAccountRequest(token="no-such", password=PASSWORD)
    await expect(stub.ActivateAccount(unknown), Code.NOT_FOUND, "unknown")
    await expect(stub.CreateAccount(create_request(birth_date="2999-01-01")), Code.INVALID_ARGUMENT, "birth_date")
    await expect(stub.CreateAccount(create_request(email=email, academy="Aix")), Code.INVALID_ARGUMENT, "academy")
    assert await accounts.event_count() == before

    await stub.ActivateAccount(link)
    after_activation = await accounts.event_count()
    await expect(stub.ActivateAccount(link), Code.FAILED_PRECONDITION, "R-05")
    await expect(stub.Login(pb.LoginRequest(email=email, password=PASSWORD + "!")), Code.UNAUTHENTICATED, "wrong")
    assert await accounts.event_count() == after_activation


async def test_an_expired_link_is_refused_and_a_new_one_replaces_it(accounts: AccountsServer) -> None:
    email = await accounts.create()
    old = accounts.mailer.last_token(email)
    accounts.clock.advance(timedelta(hours=48))
    before = await accounts.event_count()

    code, details = await outcome(
        accounts.stub.ActivateAccount(pb.ActivateAccountRequest(token=old, password=PASSWORD))
    )
    assert code is Code.FAILED_PRECONDITION and "expired" in details and "R-05" in details, details
    assert await accounts.event_count() == before

    resent = await accounts.stub.ResendActivation(pb.ResendActivationRequest(email=email))
    assert resent.activation_expires_at == (START + timedelta(hours=96)).isoformat()
    new = accounts.mailer.last_token(email)
    assert new != old
    code, details = await outcome(
        accounts.stub.ActivateAccount(pb.ActivateAccountRequest(token=old, password=PASSWORD))
    )
    assert code is Code.FAILED_PRECONDITION and "replaced" in details, details
    await accounts.stub.ActivateAccount(pb.ActivateAccountRequest(token=new, password=PASSWORD))
    assert await accounts.event_count("AccountActivated") == 1


async def test_the_interceptor_and_the_read_rules_of_get_account(accounts: AccountsServer) -> None:
    mine, _ = await accounts.create_active()
    theirs, _ = await accounts.create_active()
    await accounts.project()
    now, me = accounts.clock(), candidate(mine)
    cases = [
        (None, Code.UNAUTHENTICATED),
        ((("authorization", "Basic dXNlcjpwYXNz"),), Code.UNAUTHENTICATED),
        (bearer(accounts.token(me, key=SigningKey.generate())), Code.UNAUTHENTICATED),
        (bearer(accounts.token(me, issued=now - timedelta(hours=2))), Code.UNAUTHENTICATED),  # 1 h ttl
        (bearer(accounts.token(candidate(theirs))), Code.PERMISSION_DENIED),
        (bearer(accounts.token(staff("ac-lyon"))), Code.PERMISSION_DENIED),
        (bearer(accounts.token(staff(ACADEMY))), Code.OK),
        (bearer(accounts.token(me)), Code.OK),
    ]
    for metadata, expected in cases:
        code, details = await outcome(
            accounts.stub.GetAccount(pb.GetAccountRequest(account_id=mine), metadata=metadata)
        )
        assert code is expected, (metadata, details)


async def test_health_and_reflection_answer_without_a_token(accounts: AccountsServer) -> None:
    health = health_pb2_grpc.HealthStub(accounts.channel)
    for service in ("", SERVICE_NAME):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING

    reflection = reflection_pb2_grpc.ServerReflectionStub(accounts.channel)
    call = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {service.name async for answer in call for service in answer.list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names


async def test_concurrent_activations_of_one_account_activate_it_once(accounts: AccountsServer) -> None:
    """DESIGN rule 3: the loser of the race gets ABORTED (appended concurrently) or
    FAILED_PRECONDITION (it read the stream after the winner's commit), never a second event."""
    emails = [await accounts.create() for _ in range(6)]
    seen: list[grpc.StatusCode] = []
    for email in emails:
        request = pb.ActivateAccountRequest(token=accounts.mailer.last_token(email), password=PASSWORD)
        results = await asyncio.gather(*(outcome(accounts.stub.ActivateAccount(request)) for _ in range(2)))
        codes = sorted((code for code, _ in results), key=lambda code: code.value[0])
        assert codes[0] is Code.OK and codes[1] in (Code.ABORTED, Code.FAILED_PRECONDITION), results
        seen.append(codes[1])
    assert await accounts.event_count("AccountActivated") == len(emails)
    print("losers:", {code.name: seen.count(code) for code in set(seen)})
