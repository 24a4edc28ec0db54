"""The dossier read model: each source stream's part stored on its own (one JSON document per
stream), and the view of each candidate and session recomputed from its parts on every apply, so
the order in which the four topics deliver does not matter (DESIGN rule 6). The runner records
each stream's last applied version in the same transaction: a redelivery changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
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

    async def apply_many(self, connection: Connection, envelopes: Sequence[Envelope]) -> None:
        """A batch (a rebuild's) in a few statements: the parts it touches are read at once,
        folded in memory, written at once, and each dossier it changes is recomputed once, from
        the same parts `apply` would have left (a view depends only on its parts)."""
        keyed = [(envelope, key) for envelope in envelopes if (key := stream_key(envelope.stream_id)) is not None]
        account_ids = sorted({key.candidate_id for _, key in keyed if key.source is Source.ACCOUNT})
        stream_ids = sorted({envelope.stream_id for envelope, key in keyed if key.source is not Source.ACCOUNT})
        accounts = {
            row["candidate_id"]: AccountPart.model_validate_json(row["part"])
            for row in await connection.fetch(
                "SELECT candidate_id, part FROM dossier_accounts WHERE candidate_id = ANY($1::uuid[])", account_ids
            )
        }
        parts: dict[str, AnyPart] = {}
        for row in await connection.fetch(
            "SELECT stream_id, source, part FROM dossier_parts WHERE stream_id = ANY($1::text[])", stream_ids
        ):
            parts[row["stream_id"]] = PART_OF[Source(row["source"])].model_validate_json(row["part"])
        keys: dict[str, StreamKey] = {}
        dossiers: set[tuple[UUID, int]] = set()
        for envelope, key in keyed:
            if key.source is Source.ACCOUNT:
                account = evolve(accounts.get(key.candidate_id) or AccountPart(), envelope)
                assert isinstance(account, AccountPart)
                accounts[key.candidate_id] = account
            else:
                assert key.session is not None and key.specialty is not None
                part = parts.get(envelope.stream_id) or PART_OF[key.source]()
                parts[envelope.stream_id] = evolve(part, envelope, key.specialty)
                keys[envelope.stream_id] = key
                dossiers.add((key.candidate_id, key.session))
        if account_ids:
            await connection.execute(
                "INSERT INTO dossier_accounts SELECT * FROM unnest($1::uuid[], $2::jsonb[])"
                " ON CONFLICT (candidate_id) DO UPDATE SET part = excluded.part",
                account_ids,
                [accounts[candidate].model_dump_json() for candidate in account_ids],
            )
        if keys:
            written = sorted(keys)
            await connection.execute(
                "INSERT INTO dossier_parts SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int[],"
                " $5::text[], $6::jsonb[]) ON CONFLICT (stream_id) DO UPDATE SET part = excluded.part",
                written,
                [keys[stream].source.value for stream in written],
                [keys[stream].candidate_id for stream in written],
                [keys[stream].session for stream in written],
                [keys[stream].specialty for stream in written],
                [parts[stream].model_dump_json() for stream in written],
            )
        if account_ids:  # an account's change shows in every session of its candidate
            dossiers.update(
                (row["candidate_id"], row["session"])
                for row in await connection.fetch(
                    "SELECT DISTINCT candidate_id, session FROM dossier_parts WHERE candidate_id = ANY($1::uuid[])",
                    account_ids,
                )
            )
        if dossiers:
            await refresh_many(connection, sorted(dossiers))


async def refresh_many(connection: Connection, dossiers: Sequence[tuple[UUID, int]]) -> None:
    """Recomputes the views of several candidates and sessions from their stored parts."""
    candidates = sorted({candidate for candidate, _ in dossiers})
    accounts = {
        row["candidate_id"]: AccountPart.model_validate_json(row["part"])
        for row in await connection.fetch(
            "SELECT candidate_id, part FROM dossier_accounts WHERE candidate_id = ANY($1::uuid[])", candidates
        )
    }
    parts: dict[tuple[UUID, int], dict[StreamKey, AnyPart]] = {}
    for row in await connection.fetch(
        "SELECT p.candidate_id, p.session, p.source, p.specialty, p.part FROM dossier_parts p"
        " JOIN unnest($1::uuid[], $2::int[]) AS d(candidate_id, session)"
        " ON p.candidate_id = d.candidate_id AND p.session = d.session",
        [candidate for candidate, _ in dossiers],
        [session for _, session in dossiers],
    ):
        source = Source(row["source"])
        key = StreamKey(source, row["candidate_id"], row["session"], row["specialty"])
        parts.setdefault((key.candidate_id, row["session"]), {})[key] = PART_OF[source].model_validate_json(row["part"])
    views = [
        combine(candidate, session, accounts.get(candidate), parts.get((candidate, session), {}))
        for candidate, session in dossiers
    ]
    await connection.execute(
        "INSERT INTO dossier_views SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[],"
        " $5::timestamptz[], $6::jsonb[]) ON CONFLICT (candidate_id, session) DO UPDATE SET academy = excluded.academy,"
        " state = excluded.state, documents_deadline = excluded.documents_deadline, view = excluded.view",
        [view.candidate_id for view in views],
        [view.session for view in views],
        [view.academy for view in views],
        [view.state for view in views],
        [view.documents_deadline for view in views],
        [view.model_dump_json() for view in views],
    )


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
