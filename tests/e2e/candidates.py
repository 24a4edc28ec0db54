"""A candidate of the e2e flows, as a real one gets there: an account created, activated from the
link mailed to the test inbox, logged in; then its registration started once the registration
service has learnt of the activation from the accounts topic."""

from __future__ import annotations

import asyncio
import re
import time

import grpc

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.accounts.v1 import accounts_pb2_grpc as apb_grpc
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.registration.v1 import registration_pb2_grpc as rpb_grpc
from tests.e2e.conftest import Inbox

PASSWORD = "un-mot-de-passe-long"


async def link_token(inbox: Inbox, email: str) -> str:
    """The token of the activation link mailed to `email`."""
    body = (await inbox.wait_for(email)).get_body(preferencelist=("plain",))
    assert body is not None
    token = re.search(r"jeton=([A-Za-z0-9_\-]+)", body.get_content())
    assert token
    return token.group(1)


async def activated_candidate(
    accounts: apb_grpc.AccountsStub, inbox: Inbox, *, last_name: str, first_names: str, birth_date: str, email: str
) -> tuple[str, str]:
    """(account id, bearer token) of a candidate activated from its mailed link."""
    created = await accounts.CreateAccount(
        apb.CreateAccountRequest(
            last_name=last_name,
            first_names=first_names,
            birth_date=birth_date,
            email=email,
            password=PASSWORD,
            academy="aix-marseille",
        )
    )
    await accounts.ActivateAccount(apb.ActivateAccountRequest(token=await link_token(inbox, email), password=PASSWORD))
    session = await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD))
    return created.account_id, session.token


async def start_registration(
    registration: rpb_grpc.RegistrationStub,
    key: rpb.RegistrationKey,
    metadata: list[tuple[str, str]],
    refusal: str = "",
) -> None:
    """StartRegistration, again until the registration service knows the activation (until then
    FAILED_PRECONDITION, its message holding `refusal`), for 30 s at most."""
    deadline = time.monotonic() + 30
    while True:
        try:
            await registration.StartRegistration(
                rpb.StartRegistrationRequest(key=key, category="distance"), metadata=metadata
            )
            return
        except grpc.aio.AioRpcError as error:
            assert error.code() is grpc.StatusCode.FAILED_PRECONDITION, error.details()
            assert refusal in (error.details() or "")
            assert time.monotonic() < deadline, "the activation never reached the registration service"
            await asyncio.sleep(0.3)
