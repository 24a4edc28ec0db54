"""The dossier read model: each source stream's part stored on its own (one JSON document per
stream), and the view of each candidate and session recomputed from its parts on every apply, so
the order in which the four topics deliver does not matter (DESIGN rule 6). The runner records
each stream's last applied version in the same transaction: a redelivery changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from services.dossier.fold import combine
from services.dossier.inbound import INBOUND
from services.dossier.parts import PART_OF, AccountPart, AnyPart, Source, StreamKey, evolve, stream_key
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class DossierProjection(Projection):
    name = "dossier_views"
    tables = ("dossier_accounts", "dossier_parts", "dossier_views")
    event_types = frozenset(INBOUND.models)
    # A candidate's rows are folded from the candidate's events only, which every service keys by
    # the candidate id (a staff account's, by its own stream): a rebuild may split the partitions.
    partitioned = True
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
        await self.apply_many(connection, [envelope])

    async def apply_many(self, connection: Connection, envelopes: Sequence[Envelope]) -> None:
        """Events in a few statements: the parts they touch are read at once, folded in memory,
        written at once, and each dossier they change is recomputed once from its stored parts
        (a view depends only on its parts)."""
        keyed = [(envelope, key) for envelope in envelopes if (key := stream_key(envelope.stream_id)) is not None]
        account_ids = sorted({key.candidate_id for _, key in keyed if key.source is Source.ACCOUNT})
        stream_ids = sorted({envelope.stream_id for envelope, key in keyed if key.source is not Source.ACCOUNT})
        accounts = await _accounts(connection, account_ids)
        parts: dict[str, AnyPart] = {}
        if stream_ids:
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
    accounts = await _accounts(connection, sorted({candidate for candidate, _ in dossiers}))
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


async def _accounts(connection: Connection, candidates: list[UUID]) -> dict[UUID, AccountPart]:
    """The stored account parts of `candidates` (those that have one)."""
    if not candidates:
        return {}
    rows = await connection.fetch(
        "SELECT candidate_id, part FROM dossier_accounts WHERE candidate_id = ANY($1::uuid[])", candidates
    )
    return {row["candidate_id"]: AccountPart.model_validate_json(row["part"]) for row in rows}
