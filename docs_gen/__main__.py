"""`python -m docs_gen [--out docs/events] [--check]`: writes the public event contract, or with
--check only tells what is out of date (exit status 1)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from docs_gen import DEFAULT_OUT, check, write


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docs_gen", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: docs/events)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the docs are out of date")
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.check:
        problems = check(out)
        for problem in problems:
            print(f"{out}/{problem}", file=sys.stderr)
        if problems:
            print("the event docs are out of date: run `make docs`", file=sys.stderr)
        return 1 if problems else 0
    changed = write(out)
    for relative in changed:
        print(f"wrote {out}/{relative}")
    if not changed:
        print(f"{out} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
