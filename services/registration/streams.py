"""The registration service's stream ids: built and parsed here only (the stored strings are
`registration-<candidate>-<session>-<specialty>`, `calendar-<academy>-<session>` and
`schedule-<academy>-<session>-<specialty>`)."""

from __future__ import annotations

import re
from uuid import UUID

REGISTRATION = "registration-"
CALENDAR = "calendar-"
SCHEDULE = "schedule-"
_REGISTRATION = re.compile(r"^registration-([0-9a-f-]{36})-([0-9]{4})-(.+)$")


def registration_stream(candidate_id: UUID, session: int, specialty: str) -> str:
    return f"{REGISTRATION}{candidate_id}-{session}-{specialty}"


def registration_of(stream_id: str) -> tuple[UUID, int, str]:
    """(candidate, session, specialty) of a registration stream."""
    found = _REGISTRATION.match(stream_id)
    if found is None:
        raise ValueError(f"{stream_id!r} is not a registration stream")
    return UUID(found.group(1)), int(found.group(2)), found.group(3)


def calendar_stream(academy: str, session: int) -> str:
    return f"{CALENDAR}{academy}-{session}"


def schedule_stream(academy: str, session: int, specialty: str) -> str:
    return f"{SCHEDULE}{academy}-{session}-{specialty}"
