"""The CLI's session file (archipel_cli.session): kept with mode 0600, its access token used while
it is valid, nothing when both tokens expired (log in again). The refresh itself is the accounts'
Refresh RPC (tests/integration/test_scoped_tokens.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from archipel_cli import session
from shared.settings import Settings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def kept(tmp_path: Path, access: timedelta, refresh: timedelta) -> Settings:
    settings = Settings(home=tmp_path)
    response = SimpleNamespace(
        token="access",
        expires_at=(NOW + access).isoformat(),
        refresh_token="refresh",
        refresh_expires_at=(NOW + refresh).isoformat(),
    )
    session.save(settings, response)
    return settings


def test_the_session_is_kept_for_its_owner_only_and_used_while_valid(tmp_path: Path) -> None:
    settings = kept(tmp_path, timedelta(minutes=10), timedelta(hours=12))
    assert session.path(settings).stat().st_mode & 0o777 == 0o600
    assert session.token(settings, NOW) == "access"


def test_no_token_when_both_expired_or_without_a_session(tmp_path: Path) -> None:
    assert session.token(Settings(home=tmp_path / "nobody"), NOW) is None
    settings = kept(tmp_path, timedelta(minutes=-1), timedelta(minutes=-1))
    assert session.token(settings, NOW) is None
