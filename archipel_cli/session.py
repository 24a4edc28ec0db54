"""The CLI's session (issue 13 part 6): `accounts login` keeps the access token (15 min) and the
refresh token in `<home>/session.json` (mode 0600); a command given no --token and no ARCHIPEL_TOKEN
uses it, refreshing it through the accounts service (Refresh: the refresh token serves once, the
answer carries the next) when it expires within a minute."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc

from shared import grpc_tls
from shared.settings import Settings

MARGIN = timedelta(minutes=1)


def path(settings: Settings) -> Path:
    return settings.home / "session.json"


def save(settings: Settings, response: Any) -> None:
    """Keeps a LoginResponse (from Login or Refresh)."""
    content = {
        "token": response.token,
        "expires_at": response.expires_at,
        "refresh_token": response.refresh_token,
        "refresh_expires_at": response.refresh_expires_at,
    }
    target = path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".tmp")
    staging.unlink(missing_ok=True)
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(content, handle)
    staging.replace(target)


def token(settings: Settings, now: datetime | None = None) -> str | None:
    """The session's access token, refreshed if it expires within MARGIN; None without a session
    (or when its refresh token is refused or expired: log in again)."""
    try:
        kept = json.loads(path(settings).read_text())
    except (OSError, ValueError):
        return None
    now = now or datetime.now(UTC)
    if datetime.fromisoformat(kept["expires_at"]) - now > MARGIN:
        return str(kept["token"])
    if not kept.get("refresh_token") or datetime.fromisoformat(kept["refresh_expires_at"]) <= now:
        return None
    from archipel.accounts.v1 import accounts_pb2 as pb  # noqa: PLC0415 (generated stubs)
    from archipel.accounts.v1 import accounts_pb2_grpc as pb_grpc  # noqa: PLC0415

    with grpc_tls.channel(settings, "accounts") as channel:
        try:
            response = pb_grpc.AccountsStub(channel).Refresh(pb.RefreshRequest(refresh_token=kept["refresh_token"]))
        except grpc.RpcError:
            return None
    save(settings, response)
    return str(response.token)
