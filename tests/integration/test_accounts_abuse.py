"""Accounts that resist abuse (issue 13 part 5), tried as an attacker would, on the real
PostgreSQL: a takeover by creating the owner's account first, enumeration through the public
RPCs' answers, password reset (single use, one hour, revoking older tokens), the expiry of an
unactivated account, and rate limits shared by two instances of the service."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID

import grpc

from archipel.accounts.v1 import accounts_pb2 as pb
from services.accounts.limits import LIMITS, Action
from shared.settings import Settings
from tests.integration.grpc_fixtures import (  # noqa: F401 (accounts_server is the `accounts` fixture)
    PASSWORD,
    START,
    AccountsServer,
    ListMailer,
    accounts_server,
    bearer,
    create_request,
    serve_accounts,
)

Code = grpc.StatusCode
OWNERS = "le mot de passe de la titulaire"
ATTACKERS = "le mot de passe de l'attaquant"


async def outcome(call: Awaitable[object]) -> tuple[grpc.StatusCode, str, object]:
    try:
        return Code.OK, "", await call
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or "", None


def fresh_email() -> str:
    return f"c-{uuid.uuid4().hex[:12]}@example.fr"


def reset_token(accounts: AccountsServer, email: str) -> str:
    for message in reversed(accounts.mailer.messages):
        if message["To"] == email and "Réinitialisez" in str(message["Subject"]):
            content: str = message.get_content()
            return content.split("Code de réinitialisation : ")[1].split(maxsplit=1)[0]
    raise AssertionError(f"no reset mail for {email}")


async def test_takeover_the_owner_activates_from_the_mailbox_with_her_own_password(accounts: AccountsServer) -> None:
    email, stub = fresh_email(), accounts.stub
    await stub.CreateAccount(create_request(email=email, password=ATTACKERS, last_name="Attaquant"))
    mails_before = len(accounts.mailer.messages)
    # The owner, told nothing special, creates her account: a new link reaches her mailbox.
    again = await stub.CreateAccount(create_request(email=email, password=OWNERS))
    assert UUID(again.account_id) and again.activation_expires_at == (START + timedelta(hours=48)).isoformat()
    assert len(accounts.mailer.messages) == mails_before + 1
    token = accounts.mailer.last_token(email)
    await stub.ActivateAccount(pb.ActivateAccountRequest(token=token, password=OWNERS))

    session = await stub.Login(pb.LoginRequest(email=email, password=OWNERS))
    assert session.role == "candidate"
    code, details, _ = await outcome(stub.Login(pb.LoginRequest(email=email, password=ATTACKERS)))
    assert code is Code.UNAUTHENTICATED, details
    assert await accounts.event_count("AccountCreated") == 1  # one account, bound to the owner's password


async def test_an_unactivated_account_expires_with_its_link_and_the_email_is_free_again(
    accounts: AccountsServer,
) -> None:
    email = await accounts.create()
    old = accounts.mailer.last_token(email)
    accounts.clock.advance(timedelta(hours=48))

    await accounts.stub.CreateAccount(create_request(email=email, last_name="Titulaire"))
    assert await accounts.event_count("AccountExpired") == 1
    assert await accounts.event_count("AccountCreated") == 2
    code, details, _ = await outcome(
        accounts.stub.ActivateAccount(pb.ActivateAccountRequest(token=old, password=PASSWORD))
    )
    assert code is Code.NOT_FOUND, details  # the expired account's links name nothing any more
    new = accounts.mailer.last_token(email)
    activated = await accounts.stub.ActivateAccount(pb.ActivateAccountRequest(token=new, password=PASSWORD))
    await accounts.project()
    session = await accounts.stub.Login(pb.LoginRequest(email=email, password=PASSWORD))
    assert session.account_id == activated.account_id
    account = await accounts.stub.GetAccount(
        pb.GetAccountRequest(account_id=session.account_id), metadata=bearer(session.token)
    )
    assert (account.last_name, account.status) == ("Titulaire", "active")


async def test_create_resend_reset_and_login_answer_the_same_whatever_the_email(accounts: AccountsServer) -> None:
    stub, clock = accounts.stub, accounts.clock
    _, active = await accounts.create_active()
    pending = await accounts.create()
    unknown = fresh_email()

    def shape(code: grpc.StatusCode, details: str, answer: object) -> tuple[grpc.StatusCode, str, object]:
        if isinstance(answer, pb.CreateAccountResponse):  # a new id each time, which names nothing
            assert UUID(answer.account_id)
            answer = pb.CreateAccountResponse(activation_expires_at=answer.activation_expires_at)
        return code, details, answer

    requests: dict[str, Callable[[str], Awaitable[object]]] = {
        "create": lambda email: stub.CreateAccount(create_request(email=email)),
        "resend": lambda email: stub.ResendActivation(pb.ResendActivationRequest(email=email)),
        "reset": lambda email: stub.RequestPasswordReset(pb.RequestPasswordResetRequest(email=email)),
        "login": lambda email: stub.Login(pb.LoginRequest(email=email, password="not the password")),
    }
    unknowns = {name: fresh_email() for name in requests}  # a creation makes its unknown email known
    for name, request in requests.items():
        emails = (active, pending, unknowns[name])
        answers = [shape(*await outcome(request(email))) for email in emails]
        assert answers[0] == answers[1] == answers[2], (name, answers)
    unknown = fresh_email()
    answers = [
        await outcome(stub.Login(pb.LoginRequest(email=email, password=PASSWORD))) for email in (pending, unknown)
    ]
    assert answers[0] == answers[1]
    assert answers[1][0] is Code.UNAUTHENTICATED
    # What differs is in the mailboxes only: an unknown email gets nothing but from a creation.
    for name in ("resend", "reset", "login"):
        assert not [m for m in accounts.mailer.messages if m["To"] == unknowns[name]], name
    subjects = [m["Subject"] for m in accounts.mailer.messages if m["To"] == active]
    assert "Tentative de création de compte Archipel" in subjects
    assert "Réinitialisez votre mot de passe Archipel" in subjects
    assert clock() == START


async def test_a_password_reset_link_serves_once_within_an_hour_and_revokes_older_tokens(
    accounts: AccountsServer,
) -> None:
    account_id, email = await accounts.create_active()
    await accounts.project()
    stub, new_password = accounts.stub, "un tout nouveau mot de passe"
    old_session = await stub.Login(pb.LoginRequest(email=email, password=PASSWORD))
    mine = pb.GetAccountRequest(account_id=account_id)
    await stub.GetAccount(mine, metadata=bearer(old_session.token))

    await stub.RequestPasswordReset(pb.RequestPasswordResetRequest(email=email))
    first = reset_token(accounts, email)
    await stub.RequestPasswordReset(pb.RequestPasswordResetRequest(email=email))
    second = reset_token(accounts, email)
    code, details, _ = await outcome(
        stub.ResetPassword(pb.ResetPasswordRequest(token=first, new_password=new_password))
    )
    assert code is Code.FAILED_PRECONDITION and "replaced" in details, details
    await stub.ResetPassword(pb.ResetPasswordRequest(token=second, new_password=new_password))
    code, details, _ = await outcome(stub.ResetPassword(pb.ResetPasswordRequest(token=second, new_password=PASSWORD)))
    assert code is Code.FAILED_PRECONDITION and "already used" in details, details

    code, details, _ = await outcome(stub.GetAccount(mine, metadata=bearer(old_session.token)))
    assert code is Code.UNAUTHENTICATED and "revoked" in details, details
    code, _, _ = await outcome(stub.Login(pb.LoginRequest(email=email, password=PASSWORD)))
    assert code is Code.UNAUTHENTICATED
    session = await stub.Login(pb.LoginRequest(email=email, password=new_password))
    assert (await stub.GetAccount(mine, metadata=bearer(session.token))).status == "active"

    await stub.RequestPasswordReset(pb.RequestPasswordResetRequest(email=email))
    late = reset_token(accounts, email)
    accounts.clock.advance(timedelta(hours=1))
    code, details, _ = await outcome(stub.ResetPassword(pb.ResetPasswordRequest(token=late, new_password=PASSWORD)))
    assert code is Code.FAILED_PRECONDITION and "expired" in details, details
    assert await accounts.event_count("PasswordReset") == 1


async def test_the_eleventh_login_in_a_minute_is_refused_by_every_instance(
    accounts: AccountsServer, isolated_settings: Settings
) -> None:
    limit = LIMITS[Action.LOGIN].per_email.attempts
    assert limit == 10
    _, email = await accounts.create_active()
    async with serve_accounts(isolated_settings, accounts.clock, ListMailer()) as second:
        stubs = [accounts.stub, second.stub]
        for attempt in range(limit):
            code, _, _ = await outcome(stubs[attempt % 2].Login(pb.LoginRequest(email=email, password="wrong one!")))
            assert code is Code.UNAUTHENTICATED
        for stub in stubs:
            call = stub.Login(pb.LoginRequest(email=email, password=PASSWORD))  # even the right password
            try:
                await call
            except grpc.aio.AioRpcError as error:
                assert error.code() is Code.RESOURCE_EXHAUSTED, error.details()
                assert "retry after 60 s" in (error.details() or "")
                assert ("retry-after", "60") in tuple(error.trailing_metadata() or ())
            else:
                raise AssertionError("the 11th login was not refused")
        # Another email is not limited; the next minute is a new window.
        await accounts.create_active()
        accounts.clock.advance(timedelta(minutes=1))
        assert (await second.stub.Login(pb.LoginRequest(email=email, password=PASSWORD))).token
