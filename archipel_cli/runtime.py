"""What the command handlers need when they run: settings, gRPC channels and calls, output. Imported
by handlers only (never by a parser: see `archipel_cli.common`)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from archipel_cli.common import EXIT_INVALID
from shared.settings import Settings


def settings() -> Settings:
    return Settings()


def channel(service: str, target: str | None) -> grpc.Channel:
    """A channel to `service` (or --target) as the CLI: mutual TLS unless plaintext (shared.grpc_tls)."""
    from shared.grpc_tls import channel as grpc_channel  # noqa: PLC0415

    return grpc_channel(settings(), service, target=target)


def metadata(token: str | None) -> list[tuple[str, str]]:
    """--token, else ARCHIPEL_TOKEN, else the session `accounts login` kept (refreshed when due)."""
    from archipel_cli import session  # noqa: PLC0415

    token = token or os.environ.get("ARCHIPEL_TOKEN") or session.token(settings())
    return [("authorization", f"Bearer {token}")] if token else []


def print_message(message: Message) -> None:
    print(json.dumps(MessageToDict(message, preserving_proto_field_name=True), ensure_ascii=False, indent=2))


def password_from(arguments: argparse.Namespace) -> str:
    """--password, else ARCHIPEL_PASSWORD, else a prompt (never echoed)."""
    given: str | None = arguments.password or os.environ.get("ARCHIPEL_PASSWORD")
    return given if given is not None else getpass.getpass("Mot de passe : ")


def call(action: Callable[[], Any]) -> int:
    """Runs a gRPC call and turns a failure into one line on stderr and an exit code."""
    try:
        result = action()
    except grpc.RpcError as error:
        code = error.code()
        print(f"error: {code.name}: {error.details()}", file=sys.stderr)
        return EXIT_INVALID if code is grpc.StatusCode.INVALID_ARGUMENT else 1
    if isinstance(result, Message):
        print_message(result)
    return 0
