"""Outgoing email: SMTP when SMTP_HOST is set (STARTTLS required, issue 13), otherwise one .eml file
per message under `.archipel/mail/` (so a local run shows what would have been sent)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from uuid import uuid4

from shared.settings import Settings


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class MailSecurityError(smtplib.SMTPException):
    """The SMTP server offers no STARTTLS and sending in clear is not allowed: nothing was sent (an
    OSError, like every other failure to send, so callers handle it the same way)."""


@dataclass(frozen=True)
class SmtpMailer:
    """SMTP with STARTTLS, the server's certificate verified against `ca_file` (default: the
    system's CAs) and its name, TLS 1.2 at least; a server without STARTTLS gets nothing, unless
    `allow_plaintext` (ARCHIPEL_SMTP_ALLOW_PLAINTEXT). AUTH when a username is set (over TLS, or in
    clear when allowed)."""

    host: str
    port: int
    timeout: float = 10.0
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    allow_plaintext: bool = False

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                smtp.starttls(context=context)
                smtp.ehlo()
            elif not self.allow_plaintext:
                raise MailSecurityError(
                    f"the SMTP server {self.host}:{self.port} does not offer STARTTLS: nothing sent in clear "
                    "(ARCHIPEL_SMTP_ALLOW_PLAINTEXT=true allows it)"
                )
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


class FolderMailer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{uuid4()}.eml"
        await asyncio.to_thread(path.write_bytes, bytes(message))


def compose(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    return message


def mailer_from(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            ca_file=settings.smtp_ca_file,
            username=settings.smtp_username,
            password=settings.smtp_password,
            allow_plaintext=settings.smtp_allow_plaintext,
        )
    return FolderMailer(settings.home / "mail")
