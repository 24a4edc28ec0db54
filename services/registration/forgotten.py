"""A forgotten candidate's summaries (issue 13 part 7): the PDFs the registration service rendered
carry the candidate's name and handicap answer in clear, so they are deleted when the accounts'
CandidateForgotten arrives (the events say they were issued: SummaryIssued stays). No read model of
its own (never replayed): it deletes private rows."""

from __future__ import annotations

from services.registration.streams import REGISTRATION
from shared.contracts.accounts import CandidateForgotten
from shared.db import Connection
from shared.events import Envelope
from shared.projections import Projection


class ForgottenSummaries(Projection):
    name = "registration_forgotten"
    tables = ()
    migrations = ()
    event_types = frozenset({CandidateForgotten.event_type})
    partitioned = True

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        if isinstance(event, CandidateForgotten):
            await connection.execute(
                "DELETE FROM summaries WHERE starts_with(registration_id, $1)", f"{REGISTRATION}{event.candidate_id}-"
            )
