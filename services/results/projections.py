"""The read model of the results service: the outcomes per session, académie and specialty (the
candidates' names are in the shared known accounts read model; the registration intake is declared
in services.results.service)."""

from __future__ import annotations

from shared.contracts.results import DeliberationCompleted, FinalResultPublished, RegistrationNoted
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class OutcomesReadModel(Projection):
    """One row per candidate, session and specialty: the outcome as it stands."""

    name = "results_outcomes"
    tables = ("outcomes",)
    event_types = frozenset(
        {RegistrationNoted.event_type, DeliberationCompleted.event_type, FinalResultPublished.event_type}
    )
    migrations = (
        Migration(
            "results_0002_outcomes",
            """
            CREATE TABLE outcomes (
                stream_id text PRIMARY KEY, candidate_id uuid NOT NULL, academy text NOT NULL,
                session integer NOT NULL, specialty text NOT NULL, form text NOT NULL,
                outcome text, average numeric(5, 2), final_average numeric(5, 2), final boolean NOT NULL DEFAULT false
            );
            CREATE INDEX outcomes_session ON outcomes (session, academy, specialty, outcome);
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        if isinstance(event, RegistrationNoted):
            await connection.execute(
                "INSERT INTO outcomes (stream_id, candidate_id, academy, session, specialty, form)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_id) DO UPDATE SET form = excluded.form",
                envelope.stream_id,
                event.candidate_id,
                event.academy,
                event.session,
                event.specialty,
                event.form,
            )
        elif isinstance(event, DeliberationCompleted):
            await connection.execute(
                "UPDATE outcomes SET outcome = $2, average = $3 WHERE stream_id = $1",
                envelope.stream_id,
                event.outcome,
                event.average,
            )
        elif isinstance(event, FinalResultPublished):
            await connection.execute(
                "UPDATE outcomes SET outcome = $2, average = $3, final_average = $4, final = true WHERE stream_id = $1",
                envelope.stream_id,
                event.outcome,
                event.average,
                event.final_average,
            )
