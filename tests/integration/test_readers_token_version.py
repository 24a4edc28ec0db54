"""The CLI's authenticated reads (`events read`, `audit *`) refuse a token older than its account's
token version, as every service does (issue 13 part 4 of the accounts' work): a token issued before a
password reset, or before its account's deactivation, cannot read; one issued after the reset can.
The version is read from the account's own stream in the accounts' event store (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from archipel_cli.common import EXIT_REFUSED
from archipel_cli.main import main
from services.accounts.streams import account_stream
from shared.auth import Principal, Role
from shared.contracts.accounts import AccountActivated, AccountCreated, AccountDeactivated, PasswordReset
from shared.events import DomainEvent
from shared.eventstore import EventStore
from shared.settings import Settings
from tests.integration.cli_readers import use_settings
from tests.integration.sample_events import context, open_store
from tests.tokens import mint

ACADEMY = "ac-lyon"
T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def account(account_id: uuid.UUID, role: Role) -> list[DomainEvent]:
    return [
        AccountCreated(
            account_id=account_id, role=role, last_name="Agent", first_names="Rectorat", birth_date=None,
            email=f"{account_id.hex[:8]}@ac-lyon.fr", academy=ACADEMY,
        ),
        AccountActivated(account_id=account_id, academy=ACADEMY, activated_at=T0),
    ]  # fmt: skip


@pytest.fixture
async def accounts(isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EventStore]:
    settings = isolated_settings
    store = await open_store(settings.database_url_for("accounts"), settings.db_schema("accounts"))  # its role
    use_settings(monkeypatch, settings)
    yield store
    await store.pool.close()


def token(settings: Settings, subject: uuid.UUID, role: Role, version: int) -> str:
    principal = Principal(subject=str(subject), role=role, academy=ACADEMY, token_version=version)
    return mint(settings, principal, datetime.now(UTC), timedelta(minutes=15))


async def run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    code = await asyncio.to_thread(main, list(arguments))
    return code, capsys.readouterr().err


async def test_a_token_issued_before_a_password_reset_cannot_read_and_one_after_can(
    accounts: EventStore, isolated_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    auditor = uuid.uuid4()
    reset = PasswordReset(account_id=auditor, reset_at=T0, token_version=1)
    await accounts.append(account_stream(auditor), 0, [*account(auditor, Role.AUDITOR), reset], context())
    before, after = (
        token(isolated_settings, auditor, Role.AUDITOR, 0),
        token(isolated_settings, auditor, Role.AUDITOR, 1),
    )
    for command in (["audit", "verify"], ["audit", "timeline", "cand-x"], ["events", "read", "--service", "accounts"]):
        code, err = await run(capsys, *command, "--token", before)
        assert code == EXIT_REFUSED, command
        assert err.startswith("error: UNAUTHENTICATED: token revoked"), err
    code, err = await run(capsys, "audit", "verify", "--token", after)
    assert code != EXIT_REFUSED and "revoked" not in err, err


async def test_a_deactivated_accounts_token_cannot_read(
    accounts: EventStore, isolated_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    staff = uuid.uuid4()
    deactivated = AccountDeactivated(
        account_id=staff, deactivated_at=T0, by=str(uuid.uuid4()), reason="fin de contrat", token_version=1
    )
    await accounts.append(account_stream(staff), 0, account(staff, Role.STAFF), context())
    issued = token(isolated_settings, staff, Role.STAFF, 0)
    code, err = await run(capsys, "events", "read", "--service", "accounts", "--token", issued)
    assert code != EXIT_REFUSED, err  # still active: it reads (the topic may hold nothing)
    await accounts.append(account_stream(staff), 2, [deactivated], context())
    code, err = await run(capsys, "events", "read", "--service", "accounts", "--token", issued)
    assert (code, err.splitlines()[0]) == (
        EXIT_REFUSED,
        "error: UNAUTHENTICATED: token revoked: the password was reset or the account deactivated since it was"
        " issued; log in again",
    )
