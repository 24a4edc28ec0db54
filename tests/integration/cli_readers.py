"""Helpers for the tests of the commands that read on the server (`events read`, `audit *`): the
environment naming a test's isolated settings, and bearer tokens of each role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.auth import Principal, Role
from shared.settings import Settings
from shared.token_keys import SigningKey
from tests.tokens import mint, signing_key


def use_settings(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The CLI, run in this process, reads `settings` (its stores, topics and published token keys)."""
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.resolved_kafka())
    monkeypatch.setenv("ARCHIPEL_TOPIC_PREFIX", settings.topic_prefix)
    monkeypatch.setenv("ARCHIPEL_DB_SCHEMA_PREFIX", settings.db_schema_prefix)
    signing_key(settings)  # the settings' key set exists
    monkeypatch.setenv("ARCHIPEL_TOKEN_KEYS_FILE", str(settings.token_keys_path()))
    monkeypatch.delenv("ARCHIPEL_TOKEN", raising=False)


def token(settings: Settings, role: Role, academy: str = "ac-lyon", *, key: SigningKey | None = None) -> str:
    """A token of `role` in `academy` for its role's services, signed by the settings' key (or `key`)."""
    principal = Principal(subject=str(uuid.uuid4()), role=role, academy=academy)
    return mint(settings, principal, datetime.now(UTC), timedelta(hours=1), key=key)
