"""`archipel registration` and `archipel calendar` against the in-process registration server: each
command reaches its RPC, prints the answer as JSON, and a refusal is one line on stderr with an exit code."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from archipel_cli.main import main
from tests.integration.registration_fixtures import (  # noqa: F401 (registration_server is the `registration` fixture)
    ACADEMY,
    RegistrationServer,
    registration_server,
)


async def archipel(
    registration: RegistrationServer, capsys: pytest.CaptureFixture[str], token: str, *argv: str
) -> tuple[int, Any, str]:
    """Runs the CLI in a thread (its gRPC channel is blocking); returns (exit code, JSON stdout, stderr)."""
    args = [*argv, "--target", registration.target, "--token", token]
    code = await asyncio.to_thread(main, args)
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


def bearer_of(metadata: tuple[tuple[str, str], ...]) -> str:
    return metadata[0][1].removeprefix("Bearer ")


async def test_a_registration_through_the_cli(
    registration: RegistrationServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    candidate_id, me = await registration.candidate(last_name="Cli")
    token, staff = bearer_of(me), bearer_of(registration.staff())
    where = ["--session", "2026", "--specialty", "SIO-SISR"]

    code, shown, _ = await archipel(
        registration, capsys, staff, "calendar", "show", "--academy", ACADEMY, "--session", "2026"
    )
    assert code == 0 and shown["registration_closes"] == "2025-11-12T17:00:00+01:00"
    for command in (
        ["start", *where, "--category", "distance"],
        ["form", *where, "--form", "globale"],
        ["language", *where, "--language", "anglais", "--teaching-followed"],
        ["options", *where, "--unit", "UF1", "--unit", "UF2"],
        ["handicap", *where, "--no"],
        ["situation", *where, "--training-shortened"],
        ["confirm", *where],
    ):
        code, view, err = await archipel(registration, capsys, token, "registration", *command)
        assert code == 0, (command, err)
    assert view["confirmed"] and view["summary_version"] == 1 and view["optional_units"] == ["UF1", "UF2"]
    assert view["candidate_id"] == candidate_id and view["handicap"] == "non"

    code, view, _ = await archipel(
        registration, capsys, staff, "registration", "show", *where, "--candidate", candidate_id
    )
    assert code == 0 and view["training_shortened"] is True
    out = tmp_path / "summary.pdf"
    code, summary, _ = await archipel(registration, capsys, token, "registration", "summary", *where, "--out", str(out))
    assert code == 0 and summary["version"] == 1 and summary["path"] == str(out)
    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() and out.read_bytes().startswith(b"%PDF")

    code, _, err = await archipel(
        registration, capsys, token, "registration", "benefit", "declare", *where, "--unit", "U3", "--grade", "abc",
        "--session-obtained", "2024",
    )  # fmt: skip
    assert code == 2 and err.startswith("error: INVALID_ARGUMENT: grade")
    code, _, err = await archipel(
        registration, capsys, token, "registration", "not-registered", *where, "--reason", "x"
    )
    assert code == 1 and err.startswith("error: PERMISSION_DENIED")
    code, calendar, err = await archipel(
        registration, capsys, staff, "calendar", "set", "--academy", ACADEMY, "--session", "2027",
        "--opens", "2025-10-01T08:00", "--closes", "2025-12-01T17:00", "--convocations-from", "2027-04-15",
        "--reason", "session 2027",
    )  # fmt: skip
    assert code == 0 and calendar["convocations_from"] == "2027-04-15", err
