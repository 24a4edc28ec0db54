"""Helpers shared by the command modules: settings, channels, output and gRPC errors."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from shared.settings import Settings

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time
    Subparsers = argparse._SubParsersAction
EXIT_INVALID = 2


def positive(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {count}")
    return count


def settings() -> Settings:
    return Settings()


def channel(service: str, target: str | None) -> grpc.Channel:
    return grpc.insecure_channel(target or settings().grpc_target(service))


def metadata(token: str | None) -> list[tuple[str, str]]:
    token = token or os.environ.get("ARCHIPEL_TOKEN")
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
