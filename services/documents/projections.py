"""Read models of the documents service: each académie's documents deadline per session (from
the registration's CalendarSet), and the staff's list of dossiers. The accounts it must know
about are kept by the shared known accounts read model (shared.known_accounts)."""

from __future__ import annotations

from services.documents import domain
from services.documents.streams import dossier_of
from shared.contracts.accounts import CandidateForgotten
from shared.contracts.documents import REGISTRY
from shared.contracts.registration import CalendarSet
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class CalendarsReadModel(Projection):
    """The documents deadline of each académie and session (R-18), the fallback of a dossier
    whose requirements carry none."""

    name = "documents_calendars"
    tables = ("calendars",)
    event_types = frozenset({CalendarSet.event_type})
    migrations = (
        Migration(
            "documents_0001_contacts",
            """
            CREATE TABLE candidates (
                account_id uuid PRIMARY KEY, email text NOT NULL, last_name text NOT NULL,
                first_names text NOT NULL, academy text NOT NULL
            );
            CREATE TABLE calendars (
                academy text NOT NULL, session integer NOT NULL, documents_deadline timestamptz,
                PRIMARY KEY (academy, session)
            );
            """,
        ),
        # Where to email a candidate is now read from the shared known_accounts table.
        Migration("documents_0003_known_accounts", "DROP TABLE candidates;"),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        if isinstance(event, CalendarSet):
            await connection.execute(
                "INSERT INTO calendars VALUES ($1, $2, $3) ON CONFLICT (academy, session)"
                " DO UPDATE SET documents_deadline = excluded.documents_deadline",
                event.academy,
                event.session,
                event.documents_deadline,
            )


def dossier_label(state: domain.DossierState) -> str:
    if state.rejected:
        return "rejected"
    if state.requirements is None:
        return "waiting"
    return "complete" if state.is_complete() else "incomplete"


class DossierListReadModel(Projection):
    """One row per dossier with its state, folded with the domain's own evolve."""

    name = "documents_dossiers"
    tables = ("dossier_list",)
    event_types = frozenset({*REGISTRY.models, CandidateForgotten.event_type})
    migrations = (
        Migration(
            "documents_0002_dossiers",
            """
            CREATE TABLE dossier_list (
                stream_id text PRIMARY KEY, candidate_id uuid, academy text NOT NULL, session integer,
                specialty text, state text NOT NULL, missing integer NOT NULL, pending_review integer NOT NULL,
                snapshot jsonb NOT NULL
            );
            CREATE INDEX dossier_list_academy ON dossier_list (academy, session, state);
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        if isinstance(envelope.payload, CandidateForgotten):  # issue 13 part 7: labels read as erased
            for stored in await connection.fetch(
                "SELECT stream_id, snapshot FROM dossier_list WHERE candidate_id = $1", envelope.payload.candidate_id
            ):
                state = domain.DossierState.model_validate_json(stored["snapshot"])
                erased = {key: document.model_copy(update={"label": ""}) for key, document in state.documents.items()}
                await connection.execute(
                    "UPDATE dossier_list SET snapshot = $2 WHERE stream_id = $1",
                    stored["stream_id"],
                    state.model_copy(update={"documents": erased}).model_dump_json(),
                )
            return
        row = await connection.fetchrow("SELECT snapshot FROM dossier_list WHERE stream_id = $1", envelope.stream_id)
        state = domain.DossierState.model_validate_json(row["snapshot"]) if row else domain.INITIAL
        state = domain.evolve(state, envelope.payload)
        key = dossier_of(envelope.stream_id)
        pending = sum(
            1 for document_id in state.latest.values() if state.documents[document_id].review is domain.Review.PENDING
        )
        await connection.execute(
            "INSERT INTO dossier_list VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (stream_id) DO UPDATE SET"
            " candidate_id = $2, state = $6, missing = $7, pending_review = $8, snapshot = $9",
            envelope.stream_id,
            state.candidate_id,
            envelope.academy,
            key.session,
            key.specialty,
            dossier_label(state),
            len(state.missing()),
            pending,
            state.model_dump_json(),
        )
