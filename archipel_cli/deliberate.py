"""archipel deliberate [FILE]: deliberate one candidate offline, from a JSON object (FILE, or stdin when
omitted or "-"), and print the outcome as one JSON object (the contract is in
services/results/deliberation/ and the issue; auditors rely on it exactly).

Numbers are read exactly (JSON floats as Decimals, never binary floats). Invalid input exits 2 with one
line "error: <field>: <reason>" on stderr and nothing on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from archipel_cli.common import EXIT_INVALID, Subparsers
from shared.errors import InvalidInput  # the standard library only


def register(groups: Subparsers) -> None:
    parser = groups.add_parser(
        "deliberate", help="deliberate one candidate from a JSON object (R-13 to R-17, R-27 to R-32)"
    )
    parser.add_argument("file", nargs="?", default="-", help='the JSON input; "-" or omitted: stdin')
    parser.set_defaults(handler=_deliberate)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidInput("input", f"invalid JSON: duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise InvalidInput("input", f"invalid JSON: {name} is not a number")


def _read(file: str) -> str:
    try:
        if file == "-":
            return sys.stdin.read()
        return Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput("input", f"cannot read {file} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InvalidInput("input", f"{file} is not UTF-8 text") from None


def _decode(text: str) -> object:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise InvalidInput("input", f"invalid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise InvalidInput("input", "invalid JSON: nested too deeply") from None


def run(file: str) -> dict[str, Any]:
    """Read, validate and deliberate; raises InvalidInput naming the field."""
    from services.results.deliberation import deliberate_request, parse_request  # noqa: PLC0415 (a light --help)
    from shared.reference import regulation_for  # noqa: PLC0415

    request = parse_request(_decode(_read(file)))
    regulation = request.regulation
    if regulation is None:
        if request.specialty is None:
            raise InvalidInput("specialty", "required when no regulation is given")
        regulation = regulation_for(request.specialty, request.session)
    return deliberate_request(request, regulation).as_json()


def _deliberate(arguments: argparse.Namespace) -> int:
    try:
        output = run(arguments.file)
    except InvalidInput as error:
        reason = " ".join(error.reason.split())  # one line, whatever the reason holds
        print(f"error: {error.field}: {reason}", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(output, ensure_ascii=False))
    return 0
