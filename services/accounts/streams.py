"""The accounts service's stream ids: built and parsed here only."""

from __future__ import annotations

from uuid import UUID

PREFIX = "account-"


def account_stream(account_id: UUID) -> str:
    return f"{PREFIX}{account_id}"


def account_of(stream_id: str) -> UUID:
    if not stream_id.startswith(PREFIX):
        raise ValueError(f"{stream_id!r} is not an account stream")
    return UUID(stream_id.removeprefix(PREFIX))
