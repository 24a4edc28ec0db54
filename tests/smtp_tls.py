"""A real SMTP server (aiosmtpd) for the tests: STARTTLS required, its certificate for 127.0.0.1
signed by the local CA of the tests' secrets (the senders verify it against that CA)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from shared.local_ca import ensure_certificate
from shared.settings import Settings


def smtp_server_context(settings: Settings) -> ssl.SSLContext:
    """The TLS context of a test SMTP server on 127.0.0.1, its certificate from the local CA."""
    keystore = ensure_certificate(settings.secrets_path(), "smtp-test", hosts=("127.0.0.1", "localhost"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(keystore)
    return context


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(handler: object, port: int, *, tls: ssl.SSLContext | None, **options: Any) -> Iterator[Controller]:
    """aiosmtpd on 127.0.0.1:`port`: STARTTLS offered and required with `tls`, none without."""
    if tls is not None:
        options = {"tls_context": tls, "require_starttls": True, **options}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
