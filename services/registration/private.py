"""The registration service's private tables, written in the same transaction as the events: the
candidate's first confirmed exam form per specialty (`form_choices`, the fact R-11 is decided on),
the summary PDFs (R-09) and the calendars in force (R-07)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from shared.db import Connection, Migration
from shared.errors import ConcurrencyError
from shared.eventstore import ExtraWrite
from shared.reference import Calendar, ExamForm

TABLES = (
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


@dataclass(frozen=True)
class RenderedSummary:
    version: int
    issued_at: datetime
    pdf: bytes


@dataclass(frozen=True)
class ConfirmedForm:
    candidate_id: UUID
    specialty: str
    session: int
    form: ExamForm


def registration_rows(
    registration_id: str, confirmed: ConfirmedForm | None, summaries: Sequence[RenderedSummary]
) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        if confirmed is not None:
            await _keep_first_form(connection, confirmed)
        for summary in summaries:
            await connection.execute(
                "INSERT INTO summaries (registration_id, version, issued_at, sha256, pdf) VALUES ($1, $2, $3, $4, $5)",
                registration_id,
                summary.version,
                summary.issued_at,
                hashlib.sha256(summary.pdf).hexdigest(),
                summary.pdf,
            )

    return write


async def _keep_first_form(connection: Connection, confirmed: ConfirmedForm) -> None:
    """The first confirmed form of a specialty is kept once (one row per candidate and specialty).
    The domain decided R-11 on the `first_form` fact; a different row here means that another
    registration of the specialty was confirmed with the other form after that fact was read: the
    decision is stale, so nothing is written and the command is retried (where the domain refuses it)."""
    await connection.execute(
        "INSERT INTO form_choices (candidate_id, specialty, form, session) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (candidate_id, specialty) DO NOTHING",
        confirmed.candidate_id,
        confirmed.specialty,
        confirmed.form.value,
        confirmed.session,
    )
    kept = await connection.fetchval(
        "SELECT form FROM form_choices WHERE candidate_id = $1 AND specialty = $2",
        confirmed.candidate_id,
        confirmed.specialty,
    )
    if kept != confirmed.form.value:
        raise ConcurrencyError("another registration of this specialty was confirmed meanwhile: retry")


def calendar_row(calendar: Calendar) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        await connection.execute(
            "INSERT INTO calendars VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (academy, session) DO UPDATE"
            " SET registration_opens = $3, registration_closes = $4, documents_deadline = $5,"
            " amex_deadline = $6, convocations_from = $7, source = $8",
            calendar.academy,
            calendar.session,
            calendar.registration_opens,
            calendar.registration_closes,
            calendar.documents_deadline,
            calendar.amex_deadline,
            calendar.convocations_from,
            calendar.source,
        )

    return write
