"""Tables of the registration service: the event store and bookkeeping, private tables written in
the same transaction as the events, and the read models."""

from __future__ import annotations

from shared import eventstore, projections, relay
from shared.db import Migration

PRIVATE = (
    Migration(
        "registration_0001_private",
        """
        CREATE TABLE form_choices (
            candidate_id uuid NOT NULL, specialty text NOT NULL, form text NOT NULL, session integer NOT NULL,
            PRIMARY KEY (candidate_id, specialty)
        );
        CREATE TABLE summaries (
            registration_id text NOT NULL, version integer NOT NULL, issued_at timestamptz NOT NULL,
            sha256 text NOT NULL, pdf bytea NOT NULL,
            PRIMARY KEY (registration_id, version)
        );
        CREATE TABLE calendars (
            academy text NOT NULL, session integer NOT NULL, registration_opens timestamptz NOT NULL,
            registration_closes timestamptz NOT NULL, documents_deadline timestamptz,
            amex_deadline timestamptz, convocations_from date, source text NOT NULL,
            PRIMARY KEY (academy, session)
        );
        """,
    ),
)


def migrations() -> tuple[Migration, ...]:
    from services.registration.projections import CandidatesView, RegistrationsView  # noqa: PLC0415

    return (
        *eventstore.MIGRATIONS,
        *relay.MIGRATIONS,
        *projections.MIGRATIONS,
        *PRIVATE,
        *CandidatesView.migrations,
        *RegistrationsView.migrations,
    )
