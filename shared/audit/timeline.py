"""A candidate's history across the services' stores: every event recorded for them, in time order,
with who did it and what changed (a compact summary of the payload as stored)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.settings import SERVICES

# Payload fields that say nothing to an auditor (already in the envelope) or must not be shown.
HIDDEN = frozenset({"candidate_id", "academy", "source_event_id", "token_digest"})
VALUE_WIDTH, CHANGE_WIDTH = 40, 160


@dataclass(frozen=True)
class TimelineEntry:
    recorded_at: datetime  # UTC
    service: str
    position: int
    stream_id: str
    stream_version: int
    event_type: str
    actor: str
    academy: str
    event_id: str
    payload: dict[str, Any]

    @property
    def change(self) -> str:
        return summarise(self.payload)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _value(value: Any) -> str:
    if isinstance(value, dict):
        named = next((str(value[k]) for k in ("kind", "unit", "name", "id") if value.get(k) is not None), None)
        if named is None:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        grade = next((value[k] for k in ("grade", "retained") if value.get(k) is not None), None)
        return named if grade is None else f"{named}:{grade}"
    if isinstance(value, list | tuple):
        return ",".join(_value(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def summarise(payload: Mapping[str, Any]) -> str:
    """`form=globale units=U1,U2`: the payload's fields, without empty or hidden ones, clipped."""
    parts = [
        f"{key}={_clip(_value(value), VALUE_WIDTH)}"
        for key, value in payload.items()
        if key not in HIDDEN and value not in (None, [], "", {})
    ]
    return _clip(" ".join(parts), CHANGE_WIDTH)


_QUERY = (
    "SELECT position, stream_id, stream_version, event_type, recorded_at, actor, academy, event_id, payload"
    " FROM events WHERE (candidate_id = $1 OR (candidate_id IS NULL AND strpos(stream_id, $1) > 0))"
    " AND ($2::timestamptz IS NULL OR recorded_at <= $2) AND ($3::text IS NULL OR academy = $3)"
    " ORDER BY recorded_at, position"
)


def _order(service: str) -> int:
    return SERVICES.index(service) if service in SERVICES else len(SERVICES)


async def as_of(
    pools: Mapping[str, asyncpg.Pool], candidate_id: str, moment: datetime, academy: str | None = None
) -> list[TimelineEntry]:
    """The candidate's events recorded at or before `moment` (aware), ordered by recorded time, then
    service, then log position. An event without a candidate id counts when its stream id contains
    the candidate id (streams named after the candidate). With `academy`, only that académie's events
    (an auditor's scope; None: every académie, a national auditor's)."""
    if moment.tzinfo is None:
        raise ValueError("as_of needs an aware datetime")
    return await _entries(pools, candidate_id, moment, academy)


async def _entries(
    pools: Mapping[str, asyncpg.Pool], candidate_id: str, moment: datetime | None, academy: str | None
) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            recorded_at=row["recorded_at"],
            service=service,
            position=row["position"],
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            event_type=row["event_type"],
            actor=row["actor"],
            academy=row["academy"],
            event_id=str(row["event_id"]),
            payload=json.loads(row["payload"]),
        )
        for service, pool in pools.items()
        for row in await pool.fetch(_QUERY, candidate_id, moment, academy)
    ]
    return sorted(entries, key=lambda e: (e.recorded_at, _order(e.service), e.service, e.position))


async def timeline(
    pools: Mapping[str, asyncpg.Pool], candidate_id: str, academy: str | None = None
) -> list[TimelineEntry]:
    """Every event of the candidate (see `as_of`)."""
    return await _entries(pools, candidate_id, None, academy)
