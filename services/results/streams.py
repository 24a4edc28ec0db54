"""The results service's stream ids: one stream per candidate, session and specialty, stored as
`results-{candidate}-{session}-{specialty}`. Built and parsed here only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

PREFIX = "results-"
_STREAM = re.compile(r"^results-([0-9a-fA-F-]{36})-(-?[0-9]+)-(.+)$")


@dataclass(frozen=True)
class ResultsKey:
    candidate_id: UUID
    session: int
    specialty: str


def results_stream(candidate_id: UUID, session: int, specialty: str) -> str:
    return f"{PREFIX}{candidate_id}-{session}-{specialty}"


def results_key_of(stream_id: str) -> ResultsKey:
    found = _STREAM.match(stream_id)
    if found is None:
        raise ValueError(f"{stream_id!r} is not a results stream")
    candidate, session, specialty = found.groups()
    return ResultsKey(UUID(candidate), int(session), specialty)
