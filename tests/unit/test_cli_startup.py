"""The `archipel` command starts light (issue 12): building the parser and printing any --help imports
no service and no heavy library; each command imports what it uses when it runs. The check is on what a
fresh interpreter has imported, not on a time, so it fails as soon as an eager import comes back."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from archipel_cli import accounts, common
from archipel_cli.common import Later
from archipel_cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
# Top-level packages a --help must not import (services: any service; archipel: the generated protos).
HEAVY = frozenset(
    {
        "grpc",
        "grpc_health",
        "asyncpg",
        "kafka",
        "aiokafka",
        "faststream",
        "reportlab",
        "pypdf",
        "pydantic",
        "pydantic_settings",
        "services",
        "yaml",
        "jwt",
        "archipel",
    }
)
HEAVY_SUBPACKAGES = ("google.protobuf",)

# Run in a fresh interpreter: every command path of the parser, each with --help, then the modules loaded.
SCRIPT = """
import argparse, contextlib, io, json, sys
import archipel_cli.main as cli

def walk(parser, path):
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, [*path, name])

helps = {}
for path in walk(cli.build_parser(), []):
    out = io.StringIO()
    code = None
    with contextlib.redirect_stdout(out):
        try:
            cli.main([*path, "--help"])
        except SystemExit as exit:
            code = exit.code
    helps[" ".join(path)] = {"code": code, "out": out.getvalue()}
print(json.dumps({"helps": helps, "modules": sorted(sys.modules)}))
"""


def _heavy(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in HEAVY or any(
        module == package or module.startswith(f"{package}.") for package in HEAVY_SUBPACKAGES
    )


@pytest.fixture(scope="module")
def every_help() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout)
    return found


def test_every_help_imports_no_heavy_module(every_help: dict[str, object]) -> None:
    modules = every_help["modules"]
    assert isinstance(modules, list)
    assert [module for module in modules if _heavy(module)] == []


def test_every_command_has_a_help(every_help: dict[str, object]) -> None:
    helps = every_help["helps"]
    assert isinstance(helps, dict)
    assert {"", "registration", "results import", "audit replay", "infra up", "documents upload"} <= set(helps)
    assert len(helps) > 60
    failed = {path: shown["code"] for path, shown in helps.items() if shown["code"] != 0}
    assert failed == {}
    for path, shown in helps.items():
        assert shown["out"].startswith(f"usage: {' '.join(['archipel', *path.split()])}"), path


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    children = [
        (name, sub)
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    ]
    if not children:
        yield " ".join(path), parser
    for name, sub in children:
        yield from _leaves(sub, (*path, name))


def test_every_command_has_a_handler_that_resolves() -> None:
    """A handler named by module and function (common.Later) must exist: no --help would notice a typo.
    A `send` handler's RPC has a request builder and is an RPC of the service."""
    used: dict[str, set[str]] = {}
    for path, parser in _leaves(build_parser()):
        handler = parser.get_default("handler")
        assert callable(handler), path
        if not isinstance(handler, Later):
            continue
        assert callable(handler.resolve()), path
        if handler.function == "send":
            (method,) = handler.args
            used.setdefault(handler.module, set()).add(method)
    assert set(used) == {"registration_run", "documents_run", "results_run"}
    for name, methods in used.items():
        module = importlib.import_module(f"archipel_cli.{name}")
        assert set(module.REQUESTS) == methods, name
        rpcs = {rpc for service in module.pb.DESCRIPTOR.services_by_name.values() for rpc in service.methods_by_name}
        assert methods <= rpcs, name


def test_the_parsers_constants_match_their_sources() -> None:
    """Told again in the light modules so that a parser's choices import no pydantic."""
    from shared.auth import Role
    from shared.settings import Settings

    assert all(Settings().grpc_port(name) for name in common.SERVICES)  # the ports' order knows them all
    assert (Role.ACADEMY_ADMIN.value, Role.NATIONAL_AUDITOR.value) == accounts.BOOTSTRAP_ROLES
    assert (Role.STAFF.value, Role.AUDITOR.value) == accounts.STAFF_ROLES
