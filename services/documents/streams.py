"""The documents service's stream ids, built and parsed here only: one dossier stream per
candidate, session and specialty, `dossier-<candidate uuid>-<session>-<specialty>` (the stored
string is unchanged since the first release, so existing streams and the read models keyed by
them stay valid)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

PREFIX = "dossier-"
_UUID_LENGTH = 36


@dataclass(frozen=True)
class DossierKey:
    """Which dossier: a candidate's documents for one session and one specialty."""

    candidate_id: UUID
    session: int
    specialty: str

    @property
    def stream(self) -> str:
        return f"{PREFIX}{self.candidate_id}-{self.session}-{self.specialty}"


def dossier_stream(candidate_id: UUID, session: int, specialty: str) -> str:
    return DossierKey(candidate_id, session, specialty).stream


def dossier_of(stream_id: str) -> DossierKey:
    """The key a dossier stream id was built from; ValueError for any other stream id."""
    if not stream_id.startswith(PREFIX):
        raise ValueError(f"not a documents dossier stream: {stream_id!r}")
    rest = stream_id.removeprefix(PREFIX)
    candidate, separator, tail = rest[:_UUID_LENGTH], rest[_UUID_LENGTH : _UUID_LENGTH + 1], rest[_UUID_LENGTH + 1 :]
    session, _, specialty = tail.partition("-")
    if separator != "-" or not session.isdigit() or not specialty:
        raise ValueError(f"not a documents dossier stream: {stream_id!r}")
    return DossierKey(UUID(candidate), int(session), specialty)
