"""Read models of the registration service: the bénéfices granted by the results topic, and the
list of registrations (the accounts it knows of are the shared KnownAccounts read model)."""

from __future__ import annotations

from shared.contracts.registration import (
    CategoryChanged,
    ExamFormChosen,
    RegistrationConfirmed,
    RegistrationSetNotRegistered,
    RegistrationStarted,
    SummaryIssued,
)
from shared.contracts.results import BenefitGranted
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class GrantedBenefits(Projection):
    """The bénéfices granted by the results service's deliberations, listed at the start of a later
    registration (R-14, R-15). The candidates themselves are the shared KnownAccounts read model."""

    name = "registration_granted_benefits"
    tables = ("granted_benefits",)
    event_types = frozenset({BenefitGranted.event_type})
    migrations = (
        Migration(
            "registration_0004_granted_benefits",
            """
            CREATE TABLE IF NOT EXISTS granted_benefits (
                candidate_id uuid NOT NULL, specialty text NOT NULL, unit text NOT NULL, session integer NOT NULL,
                grade numeric(4, 2) NOT NULL, valid_through_session integer NOT NULL,
                PRIMARY KEY (candidate_id, specialty, unit, session)
            );
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        if isinstance(event, BenefitGranted):
            await connection.execute(
                "INSERT INTO granted_benefits VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                event.candidate_id,
                event.specialty,
                event.unit,
                event.session,
                event.grade,
                event.valid_through_session,
            )


class RegistrationsView(Projection):
    name = "registration_list"
    tables = ("registration_list",)
    event_types = frozenset(
        {
            RegistrationStarted.event_type,
            CategoryChanged.event_type,
            ExamFormChosen.event_type,
            RegistrationConfirmed.event_type,
            SummaryIssued.event_type,
            RegistrationSetNotRegistered.event_type,
        }
    )
    migrations = (
        Migration(
            "registration_0003_list",
            """
            CREATE TABLE registration_list (
                registration_id text PRIMARY KEY, candidate_id uuid NOT NULL, academy text NOT NULL,
                session integer NOT NULL, specialty text NOT NULL, category text NOT NULL, form text,
                confirmed boolean NOT NULL DEFAULT false, summary_version integer NOT NULL DEFAULT 0,
                not_registered boolean NOT NULL DEFAULT false, updated_at timestamptz NOT NULL
            );
            CREATE INDEX registration_list_academy ON registration_list (academy, session, specialty);
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        key = envelope.stream_id
        at = envelope.occurred_at
        if isinstance(event, RegistrationStarted):
            await connection.execute(
                "INSERT INTO registration_list (registration_id, candidate_id, academy, session, specialty,"
                " category, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                key,
                event.candidate_id,
                event.academy,
                event.session,
                event.specialty,
                event.category.value,
                at,
            )
            return
        column, value = _update_of(event)
        await connection.execute(
            f"UPDATE registration_list SET {column} = $2, updated_at = $3 WHERE registration_id = $1",
            key,
            value,
            at,
        )


def _update_of(event: object) -> tuple[str, object]:
    if isinstance(event, CategoryChanged):
        return "category", event.category.value
    if isinstance(event, ExamFormChosen):
        return "form", event.form.value
    if isinstance(event, RegistrationConfirmed):
        return "confirmed", True
    if isinstance(event, SummaryIssued):
        return "summary_version", event.version
    if isinstance(event, RegistrationSetNotRegistered):
        return "not_registered", True
    raise TypeError(type(event).__name__)
