"""Which URL each process connects with (shared.settings.Settings.database_url_for): its own role's,
from a password in the environment or a pgpass file beside the administrator's; else the URL given."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.infra.manager import redact
from shared.settings import Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("ARCHIPEL_") or name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_a_role_password_in_the_environment_makes_the_role_url(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://admin:root-pw@db.example:5432/archipel?sslmode=require")
    clean_env.setenv("ARCHIPEL_DB_ROLE_PASSWORD_REGISTRATION", "p@ss:word/1")
    settings = Settings()
    assert settings.db_role_passwords == {"registration": "p@ss:word/1"}
    assert settings.database_url_for("registration") == (
        "postgresql://archipel_registration:p%40ss%3Aword%2F1@db.example:5432/archipel?sslmode=require"
    )
    assert settings.database_url_for("accounts") == settings.resolved_database_url()  # no role: the URL given
    assert redact(settings.database_url_for("registration")).startswith("postgresql://archipel_registration:***@")


def test_the_local_server_roles_come_from_pgpass_files_beside_the_admins(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "pg-postgres").write_text("*:*:*:postgres:x\n")
    (secrets / "pg-auditor").write_text("*:*:*:archipel_auditor:y\n")
    admin = f"postgresql://postgres@127.0.0.1:5555/archipel?passfile={secrets / 'pg-postgres'}"
    settings = Settings(home=tmp_path, database_url=admin)
    assert settings.database_url_for("auditor") == (
        f"postgresql://archipel_auditor@127.0.0.1:5555/archipel?passfile={secrets / 'pg-auditor'}"
    )
    assert settings.database_url_for("results") == admin  # no file for it: the URL given
    assert redact(admin) == admin  # nothing to hide: the password is in the file
