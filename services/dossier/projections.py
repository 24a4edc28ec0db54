"""The dossier read model: each source stream's part stored on its own (one JSON document per
stream, the stream id an opaque key), and the summary of each candidate and session recomputed
from its parts on every apply, so the order in which the four topics deliver does not matter
(DESIGN rule 6). The runner records each stream's last applied version in the same transaction:
a redelivery changes nothing. Which dossier a stream belongs to is read from its events
(services.dossier.keys) and stored beside its part; a part whose stream has not said yet waits
with a partial key, and joins its dossier when a later event of the stream names it."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from services.dossier.fold import combine
from services.dossier.inbound import READ
from services.dossier.keys import Source, StreamKey, key_of
from services.dossier.parts import PART_OF, AccountPart, AnyPart, DocumentsPart, evolve
from shared.contracts.accounts import CandidateForgotten
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection


class DossierReadModel(Projection):
    name = "dossier_views"  # the consumer group and the table keep their first names
    tables = ("dossier_accounts", "dossier_parts", "dossier_views")
    event_types = READ | {CandidateForgotten.event_type}
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
        Migration(
            "dossier_0002_keys_from_events",
            """
            ALTER TABLE dossier_parts ALTER COLUMN candidate_id DROP NOT NULL,
                ALTER COLUMN session DROP NOT NULL, ALTER COLUMN specialty DROP NOT NULL;
            ALTER TABLE dossier_accounts ADD COLUMN stream_id text;
            CREATE UNIQUE INDEX dossier_accounts_stream ON dossier_accounts (stream_id);
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        await self.apply_many(connection, [envelope])

    async def apply_many(self, connection: Connection, envelopes: Sequence[Envelope]) -> None:
        """Events in a few statements: the parts they touch are read at once, folded in memory,
        written at once, and each dossier they change is recomputed once from its stored parts
        (a summary depends only on its parts)."""
        forgotten = [e.payload.candidate_id for e in envelopes if isinstance(e.payload, CandidateForgotten)]
        said = [(envelope, key) for envelope in envelopes if (key := key_of(envelope)) is not None]
        streams = sorted({envelope.stream_id for envelope, _ in said})
        keys, parts = await _stored_parts(connection, streams)
        mentioned = [*keys.values(), *(key for _, key in said)]
        accounts = await _accounts(
            connection, sorted({k.candidate_id for k in mentioned if k.source is Source.ACCOUNT and k.candidate_id})
        )
        account_streams: dict[UUID, str] = {}
        for envelope, event_key in said:
            key = keys[envelope.stream_id] = event_key.learned(keys.get(envelope.stream_id))
            if key.source is not Source.ACCOUNT:
                parts[envelope.stream_id] = evolve(parts.get(envelope.stream_id) or PART_OF[key.source](), envelope)
            elif key.candidate_id is not None:
                account = evolve(accounts.get(key.candidate_id) or AccountPart(), envelope)
                assert isinstance(account, AccountPart)
                accounts[key.candidate_id] = account
                account_streams[key.candidate_id] = envelope.stream_id
        account_ids = sorted(account_streams)
        if account_ids:
            await connection.execute(
                "INSERT INTO dossier_accounts (candidate_id, part, stream_id)"
                " SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::text[])"
                " ON CONFLICT (candidate_id) DO UPDATE SET part = excluded.part, stream_id = excluded.stream_id",
                account_ids,
                [accounts[candidate].model_dump_json() for candidate in account_ids],
                [account_streams[candidate] for candidate in account_ids],
            )
        written = sorted(stream for stream in parts if stream in keys)
        if written:
            await connection.execute(
                "INSERT INTO dossier_parts SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int[],"
                " $5::text[], $6::jsonb[]) ON CONFLICT (stream_id) DO UPDATE SET candidate_id = excluded.candidate_id,"
                " session = excluded.session, specialty = excluded.specialty, part = excluded.part",
                written,
                [keys[stream].source.value for stream in written],
                [keys[stream].candidate_id for stream in written],
                [keys[stream].session for stream in written],
                [keys[stream].specialty for stream in written],
                [parts[stream].model_dump_json() for stream in written],
            )
        dossiers = {
            (key.candidate_id, key.session)
            for stream in written
            if (key := keys[stream]).complete and key.candidate_id is not None and key.session is not None
        }
        if account_ids:  # an account's change shows in every session of its candidate
            dossiers.update(
                (row["candidate_id"], row["session"])
                for row in await connection.fetch(
                    "SELECT DISTINCT candidate_id, session FROM dossier_parts WHERE candidate_id = ANY($1::uuid[])"
                    " AND session IS NOT NULL AND specialty IS NOT NULL",
                    account_ids,
                )
            )
        if forgotten:  # issue 13 part 7: the documents' labels read as erased, as a replay computes them
            dossiers.update(await _forget(connection, forgotten))
        if dossiers:
            await refresh_many(connection, sorted(dossiers))


async def _forget(connection: Connection, candidates: list[UUID]) -> set[tuple[UUID, int]]:
    """The forgotten candidates' documents parts with their labels erased; the dossiers to refresh."""
    touched: set[tuple[UUID, int]] = set()
    for row in await connection.fetch(
        "SELECT stream_id, candidate_id, session, specialty, part FROM dossier_parts"
        " WHERE candidate_id = ANY($1::uuid[]) AND source = $2",
        candidates,
        Source.DOCUMENTS.value,
    ):
        part = DocumentsPart.model_validate_json(row["part"])
        documents = tuple(document.model_copy(update={"label": ""}) for document in part.documents)
        await connection.execute(
            "UPDATE dossier_parts SET part = $2 WHERE stream_id = $1",
            row["stream_id"],
            part.model_copy(update={"documents": documents}).model_dump_json(),
        )
        if row["session"] is not None and row["specialty"] is not None:
            touched.add((row["candidate_id"], row["session"]))
    return touched


async def _stored_parts(connection: Connection, streams: list[str]) -> tuple[dict[str, StreamKey], dict[str, AnyPart]]:
    """The stored keys of `streams` (accounts included) and their parts (but the accounts')."""
    keys: dict[str, StreamKey] = {}
    parts: dict[str, AnyPart] = {}
    if not streams:
        return keys, parts
    for row in await connection.fetch(
        "SELECT stream_id, source, candidate_id, session, specialty, part FROM dossier_parts"
        " WHERE stream_id = ANY($1::text[])",
        streams,
    ):
        source = Source(row["source"])
        keys[row["stream_id"]] = StreamKey(source, row["candidate_id"], row["session"], row["specialty"])
        parts[row["stream_id"]] = PART_OF[source].model_validate_json(row["part"])
    for row in await connection.fetch(
        "SELECT stream_id, candidate_id FROM dossier_accounts WHERE stream_id = ANY($1::text[])", streams
    ):
        keys[row["stream_id"]] = StreamKey(Source.ACCOUNT, row["candidate_id"], None, None)
    return keys, parts


async def refresh_many(connection: Connection, dossiers: Sequence[tuple[UUID, int]]) -> None:
    """Recomputes the summaries of several candidates and sessions from their stored parts."""
    accounts = await _accounts(connection, sorted({candidate for candidate, _ in dossiers}))
    parts: dict[tuple[UUID, int], dict[StreamKey, AnyPart]] = {}
    for row in await connection.fetch(
        "SELECT p.candidate_id, p.session, p.source, p.specialty, p.part FROM dossier_parts p"
        " JOIN unnest($1::uuid[], $2::int[]) AS d(candidate_id, session)"
        " ON p.candidate_id = d.candidate_id AND p.session = d.session WHERE p.specialty IS NOT NULL",
        [candidate for candidate, _ in dossiers],
        [session for _, session in dossiers],
    ):
        source = Source(row["source"])
        key = StreamKey(source, row["candidate_id"], row["session"], row["specialty"])
        parts.setdefault((row["candidate_id"], row["session"]), {})[key] = PART_OF[source].model_validate_json(
            row["part"]
        )
    summaries = [
        combine(candidate, session, accounts.get(candidate), parts.get((candidate, session), {}))
        for candidate, session in dossiers
    ]
    await connection.execute(
        "INSERT INTO dossier_views SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[],"
        " $5::timestamptz[], $6::jsonb[]) ON CONFLICT (candidate_id, session) DO UPDATE SET academy = excluded.academy,"
        " state = excluded.state, documents_deadline = excluded.documents_deadline, view = excluded.view",
        [summary.candidate_id for summary in summaries],
        [summary.session for summary in summaries],
        [summary.academy for summary in summaries],
        [summary.state for summary in summaries],
        [summary.documents_deadline for summary in summaries],
        [summary.model_dump_json() for summary in summaries],
    )


async def _accounts(connection: Connection, candidates: list[UUID]) -> dict[UUID, AccountPart]:
    """The stored account parts of `candidates` (those that have one)."""
    if not candidates:
        return {}
    rows = await connection.fetch(
        "SELECT candidate_id, part FROM dossier_accounts WHERE candidate_id = ANY($1::uuid[])", candidates
    )
    return {row["candidate_id"]: AccountPart.model_validate_json(row["part"]) for row in rows}
