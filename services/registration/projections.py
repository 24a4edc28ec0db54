"""Read models of the registration service: the candidates it learns of from the accounts topic
(and their granted bénéfices from the results topic), and the list of registrations."""

from __future__ import annotations

from uuid import UUID

from services.registration.events import (
    CategoryChanged,
    ExamFormChosen,
    RegistrationConfirmed,
    RegistrationSetNotRegistered,
    RegistrationStarted,
    SummaryIssued,
)
from services.registration.inbound import AccountActivated, AccountCreated, BenefitGranted
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class CandidatesView(Projection):
    name = "registration_candidates"
    tables = ("candidates", "granted_benefits")
    event_types = frozenset({AccountCreated.event_type, AccountActivated.event_type, BenefitGranted.event_type})
    migrations = (
        Migration(
            "registration_0002_candidates",
            """
            CREATE TABLE candidates (
                account_id uuid PRIMARY KEY, last_name text NOT NULL, first_names text NOT NULL,
                birth_date date, email text NOT NULL, academy text NOT NULL, role text NOT NULL,
                activated_at timestamptz
            );
            CREATE TABLE granted_benefits (
                candidate_id uuid NOT NULL, specialty text NOT NULL, unit text NOT NULL, session integer NOT NULL,
                grade numeric(4, 2) NOT NULL, valid_through_session integer NOT NULL,
                PRIMARY KEY (candidate_id, specialty, unit, session)
            );
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        if isinstance(event, AccountCreated):
            await connection.execute(
                "INSERT INTO candidates (account_id, last_name, first_names, birth_date, email, academy, role)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id) DO UPDATE SET"
                " last_name = excluded.last_name, first_names = excluded.first_names,"
                " birth_date = excluded.birth_date, email = excluded.email, role = excluded.role",
                event.account_id,
                event.last_name,
                event.first_names,
                event.birth_date,
                event.email,
                event.academy,
                event.role,
            )
        elif isinstance(event, AccountActivated):
            # The activation may arrive first (topics are not ordered together): keep it anyway.
            await connection.execute(
                "INSERT INTO candidates (account_id, last_name, first_names, email, academy, role, activated_at)"
                " VALUES ($1, '', '', '', $2, '', $3) ON CONFLICT (account_id) DO UPDATE SET"
                " activated_at = excluded.activated_at",
                event.account_id,
                event.academy,
                event.activated_at,
            )
        elif isinstance(event, BenefitGranted):
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


async def candidate(connection: Connection, account_id: UUID) -> dict[str, object] | None:
    row = await connection.fetchrow("SELECT * FROM candidates WHERE account_id = $1", account_id)
    return dict(row) if row else None
