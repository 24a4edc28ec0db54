"""What the command modules need to build their parsers, with the standard library only: building the
whole `archipel` parser (and printing any --help) imports no service and no heavy library. What the
handlers need when a command runs (settings, gRPC channels and calls, output) is in
`archipel_cli.runtime`; a group's handlers live in `archipel_cli.<group>_run` or import inside."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.names import SERVICES

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time
    Subparsers = argparse._SubParsersAction
Handler = Callable[[argparse.Namespace], int]
EXIT_INVALID = 2
EXIT_REFUSED = 3  # a read without a valid token, or by a role that may not run it (archipel_cli.readers)
__all__ = ["EXIT_INVALID", "EXIT_REFUSED", "SERVICES", "Handler", "Subparsers"]


def positive(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {count}")
    return count


class Later:
    """A handler imported when its command runs: `Later("registration_run", "send", "StartRegistration")`
    calls `archipel_cli.registration_run.send("StartRegistration", arguments)`."""

    __slots__ = ("args", "function", "module")

    def __init__(self, module: str, function: str, *args: str) -> None:
        self.module = module
        self.function = function
        self.args = args

    def resolve(self) -> Callable[..., int]:
        found: Callable[..., int] = getattr(importlib.import_module(f"archipel_cli.{self.module}"), self.function)
        return found

    def __call__(self, arguments: argparse.Namespace) -> int:
        return self.resolve()(*self.args, arguments)

    def __repr__(self) -> str:
        return f"Later({', '.join(repr(part) for part in (self.module, self.function, *self.args))})"


def add_token(parser: argparse.ArgumentParser, who: str = "staff or auditor") -> None:
    """The --token of a command that reads on the server (archipel_cli.readers)."""
    parser.add_argument("--token", help=f"a {who} bearer token (default ARCHIPEL_TOKEN)")
