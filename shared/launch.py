"""`python -m shared.launch MODULE[:ATTRIBUTE] [serve|relay|projections]`: one role of the service
declared in MODULE (its `SERVICE` by default). `python -m services NAME ROLE` calls it for the
services of this repository; tests use it for services of their own."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from shared.service import ROLES, Service, run_role
from shared.settings import Settings


def load_service(path: str) -> Service[object]:
    module_name, _, attribute = path.partition(":")
    service = getattr(importlib.import_module(module_name), attribute or "SERVICE")
    if not isinstance(service, Service):
        raise TypeError(f"{path} is not a Service declaration")
    return service


def main(argv: Sequence[str] | None = None, prog: str = "python -m shared.launch") -> int:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("service", help="the module declaring SERVICE, e.g. services.accounts.service")
    parser.add_argument("role", choices=ROLES, nargs="?", default="serve")
    arguments = parser.parse_args(argv)
    return run_role(Settings(), load_service(arguments.service), arguments.role)


if __name__ == "__main__":
    sys.exit(main())
