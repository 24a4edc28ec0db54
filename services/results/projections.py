"""Read models of the results service (candidates' names, outcomes per session, académie and
specialty) and the intake turning RegistrationConfirmed into NoteRegistration."""

from __future__ import annotations

from services.results.events import REGISTRY, DeliberationCompleted, FinalResultPublished, RegistrationNoted
from services.results.handlers import note_registration
from services.results.inbound import AccountCreated, RegistrationConfirmed
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import CommandIntake, Projection


class CandidatesView(Projection):
    name = "results_candidates"
    tables = ("candidates",)
    event_types = frozenset({AccountCreated.event_type})
    migrations = (
        Migration(
            "results_0001_candidates",
            "CREATE TABLE candidates (account_id uuid PRIMARY KEY, last_name text NOT NULL,"
            " first_names text NOT NULL, academy text NOT NULL)",
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        assert isinstance(event, AccountCreated)
        await connection.execute(
            "INSERT INTO candidates VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO NOTHING",
            event.account_id,
            event.last_name,
            event.first_names,
            event.academy,
        )


class OutcomesView(Projection):
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


def registration_intake() -> CommandIntake:
    """Each RegistrationConfirmed (registration topic) becomes NoteRegistration on the results."""
    return CommandIntake("results_registration_intake", RegistrationConfirmed.event_type, REGISTRY, note_registration)
