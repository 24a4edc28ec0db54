"""Tokens with a scope (issue 13 part 6), tried as an attacker would against every real server
(in-process, real PostgreSQL): a token for the registration service is refused by the results
service; a token signed by another key, or naming a key id it was not signed by, is refused; after
a password reset, an earlier token is refused by another service as soon as its KnownAccounts read
model has the new token version (applied here as its Kafka consumer would); an auditor token writes
nothing through any command RPC of any service, nor through any command of any pipeline; a refresh
token serves once, and a reused one is refused (and revokes the tokens refreshed from it).

A token not for this service is UNAUTHENTICATED, not PERMISSION_DENIED: it is no credential here
(RFC 7519: a token whose audience does not name the verifier is rejected), whereas PERMISSION_DENIED
says "I know who you are, and you may not": the caller is not authenticated at all."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import jwt
import pytest

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.accounts.v1 import accounts_pb2_grpc as apb_grpc
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.registration.v1 import registration_pb2_grpc as rpb_grpc
from archipel.results.v1 import results_pb2 as spb
from archipel.results.v1 import results_pb2_grpc as spb_grpc
from services.accounts.api import PUBLIC_METHODS
from services.accounts.streams import account_stream
from services.results.service import SERVICE as RESULTS
from shared.auth import Principal, Role
from shared.chain_check import LocalChain
from shared.errors import PermissionDenied
from shared.known_accounts import KnownAccounts
from shared.launch import load_service
from shared.names import SERVICES
from shared.pipeline import Pipeline
from shared.projections import ProjectionRunner
from shared.token_keys import SigningKey
from tests.integration.fuzz_fixtures import ACADEMY, Endpoint, Fleet, fleet_of_servers  # noqa: F401
from tests.integration.grpc_fixtures import PASSWORD, bearer, create_request
from tests.tokens import mint, signing_key

Code = grpc.StatusCode
NEW_PASSWORD = "another horse battery staple"
_RESET = re.compile(r"Code de réinitialisation : (\S+)")
READS = ("Get", "List", "Download")


def channel_of(fleet: Fleet, service: str) -> grpc.aio.Channel:
    return next(endpoint.channel for endpoint in fleet.endpoints if endpoint.service == service)


def results_key(candidate: str = "") -> spb.ResultsKey:
    return spb.ResultsKey(candidate_id=candidate or str(uuid.uuid4()), session=2026, specialty="SIO-SISR")


async def code_of(call: Any) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


def staff_token(fleet: Fleet, audience: list[str] | None = None, key: SigningKey | None = None) -> str:
    principal = Principal(subject=str(uuid.uuid4()), role=Role.STAFF, academy=ACADEMY)
    return mint(fleet.settings, principal, datetime.now(UTC), timedelta(minutes=15), audience=audience, key=key)


async def test_a_token_for_the_registration_service_is_refused_by_the_results_service(fleet: Fleet) -> None:
    token = staff_token(fleet, audience=["registration"])
    results = spb_grpc.ResultsStub(channel_of(fleet, "results"))
    registration = rpb_grpc.RegistrationStub(channel_of(fleet, "registration"))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await results.GetResults(results_key(), metadata=bearer(token))
    assert refused.value.code() is Code.UNAUTHENTICATED
    assert refused.value.details() == "token not for this service (results)"
    # The same token is a credential where it was meant to be (the calendar is simply not set).
    at_home = registration.GetCalendar(rpb.GetCalendarRequest(session=2026, academy=ACADEMY), metadata=bearer(token))
    assert await code_of(at_home) not in (Code.UNAUTHENTICATED, Code.PERMISSION_DENIED)
    # And a token for every service is accepted by the results service too.
    assert await code_of(results.GetResults(results_key(), metadata=bearer(staff_token(fleet)))) is Code.NOT_FOUND


async def test_a_token_signed_by_another_key_or_naming_another_kid_is_refused_by_every_service(fleet: Fleet) -> None:
    genuine = signing_key(fleet.settings)
    stranger = SigningKey.generate()
    claims = jwt.decode(staff_token(fleet), options={"verify_signature": False})
    forged = {
        "another key": staff_token(fleet, key=stranger),
        "a genuine kid, another key": jwt.encode(
            claims, stranger.private, algorithm="EdDSA", headers={"kid": genuine.kid}
        ),
        "an unknown kid, the genuine key": jwt.encode(claims, genuine.private, algorithm="EdDSA", headers={"kid": "x"}),
        "no kid": jwt.encode(claims, genuine.private, algorithm="EdDSA"),
    }
    for service in SERVICES:
        health_free = next(
            e for e in fleet.endpoints if e.service == service and e.method.name.startswith(("Get", "List"))
        )
        for name, token in forged.items():
            call = _raw(health_free)(b"", metadata=bearer(token), timeout=10)
            assert await code_of(call) is Code.UNAUTHENTICATED, (service, name)


async def test_after_a_password_reset_an_earlier_token_is_refused_by_another_service(fleet: Fleet) -> None:
    accounts = apb_grpc.AccountsStub(channel_of(fleet, "accounts"))
    results = spb_grpc.ResultsStub(channel_of(fleet, "results"))
    email = f"c-{uuid.uuid4().hex[:12]}@example.fr"
    await accounts.CreateAccount(create_request(email=email))
    activated = await accounts.ActivateAccount(
        apb.ActivateAccountRequest(token=fleet.mailer.last_token(email), password=PASSWORD)
    )
    account = str(activated.account_id)
    await feed_results(fleet, account)
    before = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD))
    own = results_key(account)
    assert await code_of(results.GetResults(own, metadata=bearer(before.token))) is Code.NOT_FOUND

    await accounts.RequestPasswordReset(apb.RequestPasswordResetRequest(email=email))
    await accounts.ResetPassword(apb.ResetPasswordRequest(token=reset_token(fleet, email), new_password=NEW_PASSWORD))
    # The accounts service knows at once: its own streams.
    refused = accounts.GetAccount(apb.GetAccountRequest(account_id=account), metadata=bearer(before.token))
    assert await code_of(refused) is Code.UNAUTHENTICATED
    # The results service knows once its read model has the PasswordReset (its consumer's lag).
    await feed_results(fleet, account)
    with pytest.raises(grpc.aio.AioRpcError) as revoked:
        await results.GetResults(own, metadata=bearer(before.token))
    assert revoked.value.code() is Code.UNAUTHENTICATED
    assert "revoked" in (revoked.value.details() or "")
    # The refresh token of the earlier session is refused too; a new login works everywhere.
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await accounts.Refresh(apb.RefreshRequest(refresh_token=before.refresh_token))
    assert stale.value.code() is Code.UNAUTHENTICATED
    after = await accounts.Login(apb.LoginRequest(email=email, password=NEW_PASSWORD))
    assert await code_of(results.GetResults(own, metadata=bearer(after.token))) is Code.NOT_FOUND


async def test_a_refresh_token_serves_once_and_its_reuse_is_refused(fleet: Fleet) -> None:
    accounts = apb_grpc.AccountsStub(channel_of(fleet, "accounts"))
    email = f"c-{uuid.uuid4().hex[:12]}@example.fr"
    await accounts.CreateAccount(create_request(email=email))
    activated = await accounts.ActivateAccount(
        apb.ActivateAccountRequest(token=fleet.mailer.last_token(email), password=PASSWORD)
    )
    session = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD))
    claims = jwt.decode(session.token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 15 * 60 and claims["aud"] == list(SERVICES)

    renewed = await accounts.Refresh(apb.RefreshRequest(refresh_token=session.refresh_token))
    assert renewed.account_id == activated.account_id and renewed.token != session.token
    assert renewed.refresh_token != session.refresh_token
    results = spb_grpc.ResultsStub(channel_of(fleet, "results"))
    own = results_key(str(activated.account_id))
    assert await code_of(results.GetResults(own, metadata=bearer(renewed.token))) is Code.NOT_FOUND

    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await accounts.Refresh(apb.RefreshRequest(refresh_token=session.refresh_token))
    assert reused.value.code() is Code.UNAUTHENTICATED
    # A reuse means the token was stolen: the family is revoked, the latest refresh token with it.
    with pytest.raises(grpc.aio.AioRpcError) as family:
        await accounts.Refresh(apb.RefreshRequest(refresh_token=renewed.refresh_token))
    assert family.value.code() is Code.UNAUTHENTICATED
    for garbage in ("", "x" * 129, "not-a-token"):
        assert await code_of(accounts.Refresh(apb.RefreshRequest(refresh_token=garbage))) is Code.UNAUTHENTICATED


async def test_an_auditor_token_writes_nothing_through_any_command_rpc(fleet: Fleet) -> None:
    auditor = Principal(subject=str(uuid.uuid4()), role=Role.AUDITOR, academy=ACADEMY)
    token = mint(fleet.settings, auditor, datetime.now(UTC), timedelta(minutes=15))
    commands = [
        endpoint
        for endpoint in fleet.endpoints
        if not endpoint.method.name.startswith(READS) and endpoint.path not in PUBLIC_METHODS
    ]
    names = {endpoint.method.name for endpoint in commands}
    assert {"SetCalendar", "StartRegistration", "Upload", "Review", "RecordGrade", "DeliberateSession"} <= names, names
    before = await fleet.event_count()
    for endpoint in commands:
        code = await code_of(_raw(endpoint)(b"", metadata=bearer(token), timeout=10))
        # An empty request is refused by the role or by its missing fields: never applied.
        assert code in (Code.PERMISSION_DENIED, Code.INVALID_ARGUMENT), (endpoint.path, code)
    assert await fleet.event_count() == before


@pytest.mark.parametrize("service_name", ["registration", "documents", "results"])  # those with callers' commands
async def test_an_auditor_is_refused_every_command_of_every_pipeline(fleet: Fleet, service_name: str) -> None:
    """Every command a caller may send (roles declared) is refused to an auditor before its stream
    is even read: the role check comes first, whatever the command carries."""
    service = load_service(f"services.{service_name}.service")
    pipeline: Pipeline[object] = Pipeline(fleet.stores[service_name], object(), service.commands, fleet.clock)
    auditor = Principal(subject=str(uuid.uuid4()), role=Role.AUDITOR, academy=ACADEMY)
    before = await fleet.event_count()
    callers = [spec for spec in service.commands if spec.roles]  # not the service's own (intakes)
    assert callers
    for spec in callers:
        with pytest.raises(PermissionDenied):
            await pipeline.execute(auditor, spec.command.model_construct())
    assert await fleet.event_count() == before


def _raw(endpoint: Endpoint) -> Callable[..., Any]:
    """A call of `endpoint` sending one raw request (a client stream gets it as its only message;
    a server stream is read to its end), to be awaited."""
    identity = bytes
    if endpoint.method.client_streaming:
        stream = endpoint.channel.stream_unary(endpoint.path, request_serializer=identity)

        def one(request: bytes, **kwargs: Any) -> Any:
            async def messages() -> AsyncIterator[bytes]:
                yield request

            return stream(messages(), **kwargs)

        return one
    if endpoint.method.server_streaming:
        unary_stream = endpoint.channel.unary_stream(endpoint.path, request_serializer=identity)

        async def read_all(request: bytes, **kwargs: Any) -> None:
            async for _ in unary_stream(request, **kwargs):
                pass

        return read_all
    unary: Callable[..., Any] = endpoint.channel.unary_unary(endpoint.path, request_serializer=identity)
    return unary


async def feed_results(fleet: Fleet, account: str) -> None:
    """The account's events applied to the results service's KnownAccounts, as its consumer would."""
    runner = ProjectionRunner(fleet.stores["results"].pool, RESULTS.projection_registry, KnownAccounts("results"))
    chain = LocalChain()
    for envelope in await fleet.stores["accounts"].read_stream(account_stream(uuid.UUID(account))):
        await runner.handle_raw(*chain.record(envelope))


def reset_token(fleet: Fleet, email: str) -> str:
    for message in reversed(fleet.mailer.messages):
        if message["To"] == email:
            found = _RESET.search(message.get_content())
            if found:
                return found.group(1)
    raise AssertionError(f"no reset mail for {email}")
