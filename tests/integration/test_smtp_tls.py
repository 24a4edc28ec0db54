"""Mail to a real SMTP server (aiosmtpd, STARTTLS required, a certificate of the local CA): it goes
over TLS and authenticated; a server without STARTTLS, or whose certificate the sender does not
trust, gets nothing, unless sending in clear is allowed by name (ARCHIPEL_SMTP_ALLOW_PLAINTEXT). An
account created while the mail fails exists; the candidate asks for a new link (README, R-05)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from archipel.accounts.v1 import accounts_pb2 as pb
from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc
from services.accounts.service import SERVICE, ports
from shared.clock import FixedClock
from shared.mail import MailSecurityError, compose, mailer_from
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from tests.grpc_serving import serving
from tests.integration.grpc_fixtures import START, create_request
from tests.smtp_tls import free_port, smtp_server, smtp_server_context

USER, PASSWORD = "archipel", "s3cret-smtp"


@dataclass
class Received:
    messages: list[Message] = field(default_factory=list)
    over_tls: list[bool] = field(default_factory=list)
    authenticated: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = getattr(envelope, "original_content", None) or getattr(envelope, "content", None)
        assert isinstance(content, bytes)
        self.messages.append(message_from_bytes(content, policy=policy.default))
        self.over_tls.append(getattr(session, "ssl", None) is not None)
        self.authenticated.append(bool(getattr(session, "authenticated", False)))
        return "250 OK"


def _authenticate(server: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok)


def _settings(base: Settings, port: int, **update: object) -> Settings:
    return base.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, **update})


@pytest.fixture(name="starttls")
def starttls_server(base_settings: Settings) -> Iterator[tuple[Received, int]]:
    received, port = Received(), free_port()
    context = smtp_server_context(base_settings)
    with smtp_server(received, port, tls=context, authenticator=_authenticate, auth_require_tls=True):
        yield received, port


@pytest.fixture(name="clear")
def clear_server() -> Iterator[tuple[Received, int]]:
    received, port = Received(), free_port()
    with smtp_server(received, port, tls=None):
        yield received, port


def _mail() -> EmailMessage:
    return compose("ne-pas-repondre@archipel.local", "marie@example.org", "Essai", "Bonjour")


async def test_a_mail_goes_over_starttls_authenticated(base_settings: Settings, starttls: tuple[Received, int]) -> None:
    received, port = starttls
    ca = base_settings.secrets_path() / "ca.pem"
    settings = _settings(base_settings, port, smtp_ca_file=ca, smtp_username=USER, smtp_password=PASSWORD)
    await mailer_from(settings).send(_mail())
    assert [m["To"] for m in received.messages] == ["marie@example.org"]
    assert received.over_tls == [True] and received.authenticated == [True]


async def test_a_server_without_starttls_gets_nothing_in_clear(
    base_settings: Settings, clear: tuple[Received, int]
) -> None:
    received, port = clear
    mailer = mailer_from(_settings(base_settings, port, smtp_ca_file=base_settings.secrets_path() / "ca.pem"))
    with pytest.raises(MailSecurityError, match="does not offer STARTTLS"):
        await mailer.send(_mail())
    assert received.messages == []


async def test_in_clear_only_when_allowed_by_name(base_settings: Settings, clear: tuple[Received, int]) -> None:
    received, port = clear
    mailer = mailer_from(_settings(base_settings, port, smtp_allow_plaintext=True))
    await mailer.send(_mail())
    assert received.over_tls == [False]


async def test_a_server_certificate_the_sender_does_not_trust_gets_nothing(
    base_settings: Settings, starttls: tuple[Received, int]
) -> None:
    """Without ARCHIPEL_SMTP_CA_FILE the system's CAs decide: the local CA is not one of them."""
    received, port = starttls
    mailer = mailer_from(_settings(base_settings, port, smtp_username=USER, smtp_password=PASSWORD))
    with pytest.raises(ssl.SSLCertVerificationError):
        await mailer.send(_mail())
    assert received.messages == []


async def test_an_account_created_while_the_mail_is_refused_exists_and_gets_a_new_link(
    isolated_settings: Settings, base_settings: Settings
) -> None:
    """The mail server offers no STARTTLS: CreateAccount answers, the account exists, nothing is sent
    in clear; once the server speaks TLS, ResendActivation mails the link over it."""
    port, email = free_port(), "lea.martin@example.org"
    settings = _settings(isolated_settings, port, smtp_ca_file=base_settings.secrets_path() / "ca.pem")
    clock = FixedClock(START)
    async with open_store(settings, SERVICE, clock) as store:
        runtime = Runtime(settings, store, clock)
        async with serving(build_grpc_server(SERVICE, runtime, ports(runtime)), settings) as served:
            stub = pb_grpc.AccountsStub(served.channel)
            clear = Received()
            with smtp_server(clear, port, tls=None):
                await stub.CreateAccount(create_request(email=email))
            assert clear.messages == []
            created = "SELECT count(*) FROM events WHERE event_type = 'AccountCreated'"
            assert await store.pool.fetchval(created) == 1
            secured = Received()
            with smtp_server(secured, port, tls=smtp_server_context(base_settings)):
                await stub.ResendActivation(pb.ResendActivationRequest(email=email))
            assert [m["To"] for m in secured.messages] == [email] and secured.over_tls == [True]
