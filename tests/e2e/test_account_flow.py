"""Issue 2, section 6: an account created over gRPC, its activation link received by a real SMTP
server, activated with the link's token; AccountCreated and AccountActivated read from the
`archipel.accounts.events` topic by a separate kafka-python consumer; the account active in the
read model (R-04, R-05). The mail goes over STARTTLS (the test server requires it) and every call
over mutual TLS, which the running services require (issue 13 part 2)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from archipel.accounts.v1 import accounts_pb2 as pb
from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc
from shared.grpc_tls import aio_channel, client_identity
from tests.e2e.conftest import RUNNING, Inbox, RunningSystem
from tests.e2e.topics import events_of

TOKEN_IN_LINK = re.compile(r"[?&]jeton=([A-Za-z0-9_\-]+)")


async def test_account_created_mailed_activated_published_and_projected(system: RunningSystem, inbox: Inbox) -> None:
    settings = system.settings
    email = f"camille.{uuid.uuid4().hex[:8]}@example.org"
    async with aio_channel(settings, "accounts") as channel:
        stub = pb_grpc.AccountsStub(channel)
        created = await stub.CreateAccount(
            pb.CreateAccountRequest(
                last_name="Martin",
                first_names="Camille",
                birth_date="2003-05-17",
                email=email,
                password="un-mot-de-passe-long",
                academy="aix-marseille",
            )
        )

        mail = await inbox.wait_for(email)
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert "48 heures" in text
        match = TOKEN_IN_LINK.search(text)
        assert match, text
        activated = await stub.ActivateAccount(
            pb.ActivateAccountRequest(token=match.group(1), password="un-mot-de-passe-long")
        )
        assert activated.account_id == created.account_id

        session = await stub.Login(pb.LoginRequest(email=email, password="un-mot-de-passe-long"))
        assert session.role == "candidate" and session.academy == "aix-marseille"

        events = await asyncio.to_thread(
            events_of,
            settings,
            "archipel.accounts.events",
            created.account_id,
            {"AccountCreated", "AccountActivated"},
        )
        kinds = [event["event_type"] for event in events]
        assert kinds.index("AccountCreated") < kinds.index("AccountActivated")
        payload = next(e["payload"] for e in events if e["event_type"] == "AccountCreated")
        assert isinstance(payload, dict)
        # Its personal fields travel sealed (issue 13 part 7): no email, no password in clear on the topic.
        assert "email" in payload["sealed"]["f"]
        assert email not in json.dumps(payload) and "password" not in json.dumps(payload)

        metadata = [("authorization", f"Bearer {session.token}")]
        deadline = time.monotonic() + 30
        while True:
            try:
                account = await stub.GetAccount(pb.GetAccountRequest(account_id=created.account_id), metadata=metadata)
                if account.status == "active":
                    break
            except grpc.aio.AioRpcError as error:
                if error.code() is not grpc.StatusCode.NOT_FOUND:
                    raise
            assert time.monotonic() < deadline, "the read model never showed the account active"
            await asyncio.sleep(0.2)
        assert account.email == email and account.activated_at


async def test_every_running_service_refuses_plaintext_and_clients_without_a_certificate(
    system: RunningSystem,
) -> None:
    """Issue 13 part 2: each service process listens with mutual TLS only; the CLI's certificate
    gets through, a plaintext client and a TLS client without a certificate do not."""
    settings = system.settings
    ca = client_identity(settings).ca
    check = health_pb2.HealthCheckRequest(service="")
    for service in RUNNING:
        target = settings.grpc_target(service)
        for attacker in (
            grpc.aio.insecure_channel(target),
            grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(ca)),
        ):
            async with attacker:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await health_pb2_grpc.HealthStub(attacker).Check(check, timeout=10)
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE, (service, refused.value.details())
        async with aio_channel(settings, service) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(check, timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
