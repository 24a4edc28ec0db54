"""Entry point of the `archipel` command. Each command group lives in its own module and
registers its sub-commands; nothing here does I/O at import time."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from archipel_cli import (
    accounts,
    audit,
    calendar,
    convocations,
    deliberate,
    demo,
    documents,
    dossier,
    events,
    infra,
    privacy,
    projections,
    registration,
    results,
    run,
    schedule,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archipel", description="Archipel back office")
    groups = parser.add_subparsers(dest="group", required=True)
    for module in (
        infra,
        accounts,
        registration,
        calendar,
        schedule,
        documents,
        results,
        deliberate,
        dossier,
        convocations,
        projections,
        events,
        audit,
        privacy,
        demo,
        run,
    ):
        module.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    handler = arguments.handler
    code: int = handler(arguments)
    return code


if __name__ == "__main__":
    sys.exit(main())
