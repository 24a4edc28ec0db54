"""The dossier read model: each source stream's part stored on its own (one JSON document per
stream), and the view of each candidate and session recomputed from its parts on every apply, so
the order in which the four topics deliver does not matter (DESIGN rule 6). The runner records
each stream's last applied version in the same transaction: a redelivery changes nothing."""

from __future__ import annotations

from uuid import UUID

from services.dossier.fold import DossierView, combine
from services.dossier.inbound import INBOUND
from services.dossier.parts import PART_OF, AccountPart, AnyPart, Source, StreamKey, evolve, stream_key
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class DossierProjection(Projection):
    name = "dossier_views"
    tables = ("dossier_accounts", "dossier_parts", "dossier_views")
    event_types = frozenset(INBOUND.models)
    migrations = (
        Migration(
            "dossier_0001_views",
            """
            CREATE TABLE dossier_accounts (candidate_id uuid PRIMARY KEY, part jsonb NOT NULL);
            CREATE TABLE dossier_parts (
                stream_id text PRIMARY KEY, source text NOT NULL, candidate_id uuid NOT NULL,
                session integer NOT NULL, specialty text NOT NULL, part jsonb NOT NULL
            );
            CREATE INDEX dossier_parts_key ON dossier_parts (candidate_id, session);
            CREATE TABLE dossier_views (
                candidate_id uuid NOT NULL, session integer NOT NULL, academy text NOT NULL,
                state text NOT NULL, documents_deadline timestamptz, view jsonb NOT NULL,
                PRIMARY KEY (candidate_id, session)
            );
            CREATE INDEX dossier_views_list ON dossier_views (academy, session, state);
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        key = stream_key(envelope.stream_id)
        if key is None:
            return
        if key.source is Source.ACCOUNT:
            row = await connection.fetchrow(
                "SELECT part FROM dossier_accounts WHERE candidate_id = $1", key.candidate_id
            )
            account = AccountPart.model_validate_json(row["part"]) if row else AccountPart()
            await connection.execute(
                "INSERT INTO dossier_accounts VALUES ($1, $2) ON CONFLICT (candidate_id) DO UPDATE SET part = $2",
                key.candidate_id,
                evolve(account, envelope).model_dump_json(),
            )
            sessions = await connection.fetch(
                "SELECT DISTINCT session FROM dossier_parts WHERE candidate_id = $1", key.candidate_id
            )
            for row in sessions:
                await refresh(connection, key.candidate_id, row["session"])
            return
        assert key.session is not None and key.specialty is not None
        model = PART_OF[key.source]
        row = await connection.fetchrow("SELECT part FROM dossier_parts WHERE stream_id = $1", envelope.stream_id)
        part = model.model_validate_json(row["part"]) if row else model()
        await connection.execute(
            "INSERT INTO dossier_parts VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_id) DO UPDATE SET part = $6",
            envelope.stream_id,
            key.source.value,
            key.candidate_id,
            key.session,
            key.specialty,
            evolve(part, envelope, key.specialty).model_dump_json(),
        )
        await refresh(connection, key.candidate_id, key.session)


async def refresh(connection: Connection, candidate_id: UUID, session: int) -> DossierView:
    """Recomputes the view of one candidate and session from its stored parts."""
    row = await connection.fetchrow("SELECT part FROM dossier_accounts WHERE candidate_id = $1", candidate_id)
    account = AccountPart.model_validate_json(row["part"]) if row else None
    parts: dict[StreamKey, AnyPart] = {}
    for stored in await connection.fetch(
        "SELECT source, specialty, part FROM dossier_parts WHERE candidate_id = $1 AND session = $2",
        candidate_id,
        session,
    ):
        source = Source(stored["source"])
        parts[StreamKey(source, candidate_id, session, stored["specialty"])] = PART_OF[source].model_validate_json(
            stored["part"]
        )
    view = combine(candidate_id, session, account, parts)
    await connection.execute(
        "INSERT INTO dossier_views VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (candidate_id, session) DO UPDATE"
        " SET academy = $3, state = $4, documents_deadline = $5, view = $6",
        candidate_id,
        session,
        view.academy,
        view.state,
        view.documents_deadline,
        view.model_dump_json(),
    )
    return view
