"""Whose stream an event belongs to, from the event itself, never from its stream id.

A stream id is its producer's business (each service builds and parses its own): the read models
here use it only as an opaque key. What a stream is about is read from its events: the source
topic from the event type; the candidate from the envelope's `candidate_id`, else the payload's
`candidate_id` (`account_id` for an account); the session and specialty from the events that name
them (services.dossier.inbound.KEYED), of which every stream's first event is
one (RegistrationStarted, RequirementsRecorded, RegistrationNoted). The other events of a stream
are placed by what its earlier events said (`StreamKey.learned`)."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple
from uuid import UUID

from services.dossier.inbound import ACCOUNT_EVENTS, DOCUMENTS_EVENTS, KEYED, REGISTRATION_EVENTS, RESULTS_EVENTS
from shared.events import Envelope


class Source(StrEnum):
    """The kind of a candidate stream; the values are stored (dossier_parts.source)."""

    ACCOUNT = "account"
    REGISTRATION = "registration"
    DOCUMENTS = "dossier"  # the documents service's stream of a candidate, session and specialty
    RESULTS = "results"


SOURCE_OF: dict[str, Source] = {
    **{model.event_type: Source.ACCOUNT for model in ACCOUNT_EVENTS},
    **{model.event_type: Source.REGISTRATION for model in REGISTRATION_EVENTS},
    **{model.event_type: Source.DOCUMENTS for model in DOCUMENTS_EVENTS},
    **{model.event_type: Source.RESULTS for model in RESULTS_EVENTS},
}


class StreamKey(NamedTuple):
    """What a stream is about; None where its events have not said yet."""

    source: Source
    candidate_id: UUID | None
    session: int | None  # None for an account (one per candidate, every session)
    specialty: str | None

    @property
    def complete(self) -> bool:
        """An account needs its candidate; any other stream its candidate, session and specialty."""
        if self.source is Source.ACCOUNT:
            return self.candidate_id is not None
        return None not in (self.candidate_id, self.session, self.specialty)

    def learned(self, known: StreamKey | None) -> StreamKey:
        """This event's key completed by what the stream's earlier events said."""
        if known is None:
            return self
        return StreamKey(
            self.source,
            self.candidate_id if self.candidate_id is not None else known.candidate_id,
            self.session if self.session is not None else known.session,
            self.specialty if self.specialty is not None else known.specialty,
        )


def key_of(envelope: Envelope) -> StreamKey | None:
    """What `envelope` says of its stream; None for an event of no candidate stream."""
    source = SOURCE_OF.get(envelope.event_type)
    if source is None:
        return None
    payload = envelope.payload
    said = getattr(payload, "account_id" if source is Source.ACCOUNT else "candidate_id", None)
    candidate = UUID(envelope.candidate_id) if envelope.candidate_id else said
    if envelope.event_type not in KEYED:
        return StreamKey(source, candidate, None, None)
    return StreamKey(source, candidate, getattr(payload, "session", None), getattr(payload, "specialty", None))
