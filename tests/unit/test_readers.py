"""Who reads what (issue 13 part 8): the roles' read scope, and the token check of the commands that
read on the server (archipel_cli.readers) with a key set of the test's own and the accounts' token
versions of its own (the integration test reads them from a real accounts' store)."""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from archipel_cli import readers
from archipel_cli.common import EXIT_REFUSED
from archipel_cli.readers import principal_from, reading
from shared.auth import AUDITORS, READERS, Principal, Role
from shared.contracts.accounts import REGISTRY as ACCOUNTS
from shared.contracts.accounts import AccountCreated
from shared.errors import PermissionDenied, Unauthenticated
from shared.names import SERVICES
from shared.settings import Settings
from shared.token_keys import SigningKey, ensure_keys
from tests.tokens import mint


def who(role: Role, academy: str = "lyon") -> Principal:
    return Principal(subject=str(uuid.uuid4()), role=role, academy=academy)


def test_staff_and_auditors_read_their_academie_a_national_auditor_every_one_a_candidate_their_own() -> None:
    for role in (Role.STAFF, Role.AUDITOR):
        assert who(role).reads_academy("lyon") and not who(role).reads_academy("nice")
        assert who(role).read_scope == "lyon"
        assert who(role).may_read("anyone", "lyon") and not who(role).may_read("anyone", "nice")
    national = who(Role.NATIONAL_AUDITOR, "national")
    assert national.reads_academy("lyon") and national.reads_academy("nice") and national.read_scope is None
    candidate = who(Role.CANDIDATE)
    assert not candidate.reads_academy("lyon") and not candidate.may_read("someone else", "lyon")
    assert candidate.may_read(candidate.subject, "lyon")
    with pytest.raises(PermissionDenied, match="read-only access"):
        national.require_writer()
    assert {Role.STAFF, Role.AUDITOR, Role.NATIONAL_AUDITOR} == READERS and AUDITORS < READERS


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SigningKey:
    signing = ensure_keys(tmp_path / "keys")
    monkeypatch.setenv("ARCHIPEL_TOKEN_KEYS_FILE", str(tmp_path / "keys" / "token-keys.json"))
    monkeypatch.delenv("ARCHIPEL_TOKEN", raising=False)
    monkeypatch.setattr(readers, "versions_of", lambda config: KnownVersions({}))
    return signing


@dataclass
class KnownVersions:
    """The accounts' token versions as the accounts' store would tell them."""

    versions: dict[UUID, int]

    async def current(self, account: UUID) -> int | None:
        return self.versions.get(account)


def test_a_token_older_than_its_accounts_version_cannot_read(key: SigningKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """A password reset or a deactivation since the token was issued: refused, as by every service."""
    auditor = who(Role.AUDITOR)
    monkeypatch.setattr(readers, "versions_of", lambda config: KnownVersions({UUID(auditor.subject): 1}))
    with pytest.raises(Unauthenticated, match="token revoked"):
        principal_from(token(auditor, key), AUDITORS, SERVICES)
    newer = auditor.model_copy(update={"token_version": 1})
    assert principal_from(token(newer, key), AUDITORS, SERVICES) == newer


def token(principal: Principal, key: SigningKey, audience: list[str] | None = None, ttl: int = 3600) -> str:
    return mint(Settings(), principal, datetime.now(UTC), timedelta(seconds=ttl), audience=audience, key=key)


def test_a_read_needs_a_valid_token_for_every_service_it_shows_and_an_admitted_role(
    key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    auditor = who(Role.AUDITOR)
    assert principal_from(token(auditor, key), AUDITORS, SERVICES) == auditor
    with pytest.raises(Unauthenticated, match="--token, ARCHIPEL_TOKEN or a session"):
        principal_from(None, READERS, ["registration"])
    with pytest.raises(Unauthenticated, match="unknown key"):
        principal_from(token(auditor, SigningKey.generate()), READERS, ["registration"])
    with pytest.raises(Unauthenticated, match="expired"):
        principal_from(token(auditor, key, ttl=-1), READERS, ["registration"])
    narrow = token(auditor, key, audience=["results"])
    assert principal_from(narrow, READERS, ["results"]) == auditor
    with pytest.raises(Unauthenticated, match="not for this service"):
        principal_from(narrow, READERS, ["results", "registration"])
    with pytest.raises(PermissionDenied, match="candidate tokens may not run this command"):
        principal_from(token(who(Role.CANDIDATE), key), READERS, ["registration"])
    with pytest.raises(PermissionDenied, match=r"staff tokens may not run this command \(only auditor, national"):
        principal_from(token(who(Role.STAFF), key), AUDITORS, ["registration"])
    monkeypatch.setenv("ARCHIPEL_TOKEN", token(auditor, key))
    assert principal_from(None, AUDITORS, ["registration"]) == auditor


def test_a_refused_read_prints_one_line_and_exits_3(key: SigningKey, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Principal] = []

    @reading(READERS, lambda arguments: ["registration"])
    def handler(arguments: argparse.Namespace, principal: Principal) -> int:
        seen.append(principal)
        return 0

    assert handler(argparse.Namespace(token=None)) == EXIT_REFUSED
    assert capsys.readouterr().err.startswith("error: UNAUTHENTICATED: a staff or auditor token is required")
    assert handler(argparse.Namespace(token=token(who(Role.CANDIDATE), key))) == EXIT_REFUSED
    assert capsys.readouterr().err.startswith("error: PERMISSION_DENIED: candidate tokens")
    staff = who(Role.STAFF)
    assert handler(argparse.Namespace(token=token(staff, key))) == 0 and seen == [staff]


def test_an_account_created_in_version_1_reads_as_version_3() -> None:
    payload = {
        "account_id": str(uuid.uuid4()),
        "role": "auditor",
        "last_name": "Martin",
        "first_names": "Léa",
        "birth_date": None,
        "email": "lea@example.fr",
        "academy": "lyon",
    }
    event = ACCOUNTS.decode("AccountCreated", 1, payload)
    assert isinstance(event, AccountCreated) and event.role is Role.AUDITOR and AccountCreated.schema_version == 3
    national = ACCOUNTS.decode("AccountCreated", 2, {**payload, "role": "national_auditor"})
    assert isinstance(national, AccountCreated) and national.role is Role.NATIONAL_AUDITOR
