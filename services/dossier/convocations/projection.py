"""The convocation feed read model: each source stream's part stored on its own (the stream id an
opaque key; whose stream it is, read from its events: services.dossier.keys), and the
convocations of every candidate a change may concern recomputed from the stored parts on each
apply, so the feed is the same whatever the order of the topics (DESIGN rule 6). The runner
records each stream's last applied version in the same transaction: a redelivery changes nothing.
The API reads the feed through services.dossier.queries."""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

from services.dossier.convocations.feed import (
    AnyPart,
    Candidacy,
    CandidateKey,
    Completeness,
    Convocation,
    Identity,
    Schedule,
    SessionCalendar,
    convocations,
    evolve,
)
from services.dossier.keys import Source, StreamKey, key_of
from shared.contracts import accounts, documents, registration
from shared.db import Connection, Migration
from shared.events import Envelope
from shared.projections import Projection

IDENTITY, CANDIDACY, COMPLETENESS, SCHEDULE, CALENDAR = "identity", "candidacy", "completeness", "schedule", "calendar"
MODELS: dict[str, type[AnyPart]] = {
    IDENTITY: Identity,
    CANDIDACY: Candidacy,
    COMPLETENESS: Completeness,
    SCHEDULE: Schedule,
    CALENDAR: SessionCalendar,
}
_SOURCES = {Source.ACCOUNT: IDENTITY, Source.REGISTRATION: CANDIDACY, Source.DOCUMENTS: COMPLETENESS}


class Located(NamedTuple):
    kind: str
    candidate_id: UUID | None
    academy: str
    session: int | None
    specialty: str | None


def locate(envelope: Envelope, stored: Any = None) -> Located | None:
    """Which part `envelope` changes: a schedule or calendar by its fields, a candidate stream's
    by what its events said (this one, else the earlier ones, `stored` with the part)."""
    event = envelope.payload
    if isinstance(event, registration.SchedulePublished):
        return Located(SCHEDULE, None, event.academy, event.session, event.specialty)
    if isinstance(event, registration.CalendarSet):
        return Located(CALENDAR, None, event.academy, event.session, None)
    said = key_of(envelope)
    if said is None or said.source not in _SOURCES:
        return None
    if stored is not None:
        said = said.learned(StreamKey(said.source, stored["candidate_id"], stored["session"], stored["specialty"]))
    return Located(_SOURCES[said.source], said.candidate_id, "", said.session, said.specialty)


class ConvocationFeedReadModel(Projection):
    name = "convocation_feed"
    tables = ("convocation_parts", "convocation_feed")
    event_types = frozenset(
        {
            accounts.AccountCreated.event_type,
            registration.RegistrationStarted.event_type,
            registration.RegistrationConfirmed.event_type,
            registration.RegistrationSetNotRegistered.event_type,
            documents.RequirementsRecorded.event_type,  # names the documents stream (services.dossier.keys)
            documents.DocumentRejected.event_type,
            documents.DossierComplete.event_type,
            documents.DossierIncomplete.event_type,
            documents.DossierRejected.event_type,
            registration.SchedulePublished.event_type,
            registration.CalendarSet.event_type,
            accounts.CandidateForgotten.event_type,
        }
    )
    migrations = (
        Migration(
            "convocations_0001_feed",
            """
            CREATE TABLE convocation_parts (
                stream_id text PRIMARY KEY, kind text NOT NULL, candidate_id uuid, academy text NOT NULL,
                session integer, specialty text, part jsonb NOT NULL
            );
            CREATE INDEX convocation_parts_candidate ON convocation_parts (candidate_id, kind);
            CREATE INDEX convocation_parts_where ON convocation_parts (kind, academy, session, specialty);
            CREATE TABLE convocation_feed (
                candidate_id uuid NOT NULL, session integer NOT NULL, specialty text NOT NULL,
                partial boolean NOT NULL, academy text NOT NULL, publish_from date, version text NOT NULL,
                entry jsonb NOT NULL, PRIMARY KEY (candidate_id, session, specialty, partial)
            );
            CREATE INDEX convocation_feed_list ON convocation_feed (academy, session);
            """,
        ),
    )

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        if isinstance(envelope.payload, accounts.CandidateForgotten):
            await forget(connection, envelope.payload.candidate_id)
            return
        row = await connection.fetchrow(
            "SELECT candidate_id, session, specialty, part FROM convocation_parts WHERE stream_id = $1",
            envelope.stream_id,
        )
        where = locate(envelope, row)
        if where is None:
            return
        model = MODELS[where.kind]
        part = evolve(model.model_validate_json(row["part"]) if row else model(), envelope)
        academy = part.academy if isinstance(part, Candidacy) else where.academy
        await connection.execute(
            "INSERT INTO convocation_parts VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (stream_id) DO UPDATE SET candidate_id = $3, academy = $4, session = $5, specialty = $6,"
            " part = $7",
            envelope.stream_id,
            where.kind,
            where.candidate_id,
            academy,
            where.session,
            where.specialty,
            part.model_dump_json(),
        )
        for key in await self._concerned(connection, where):
            await refresh(connection, key)

    async def _concerned(self, connection: Connection, where: Located) -> list[CandidateKey]:
        if where.kind in (CANDIDACY, COMPLETENESS):
            if where.candidate_id is None or where.session is None or where.specialty is None:
                return []  # the stream has not said whose it is yet
            return [CandidateKey(where.candidate_id, where.session, where.specialty)]
        if where.kind == IDENTITY:
            if where.candidate_id is None:
                return []
            rows = await connection.fetch(
                "SELECT DISTINCT candidate_id, session, specialty FROM convocation_parts"
                " WHERE candidate_id = $1 AND kind = ANY($2::text[]) AND session IS NOT NULL AND specialty IS NOT NULL",
                where.candidate_id,
                [CANDIDACY, COMPLETENESS],
            )
        else:
            rows = await connection.fetch(
                "SELECT candidate_id, session, specialty FROM convocation_parts WHERE kind = $1 AND academy = $2"
                " AND session = $3 AND ($4::text IS NULL OR specialty = $4)",
                CANDIDACY,
                where.academy,
                where.session,
                where.specialty,
            )
        return [CandidateKey(r["candidate_id"], r["session"], r["specialty"]) for r in rows]


async def forget(connection: Connection, candidate_id: UUID) -> None:
    """A forgotten candidate (issue 13 part 7): the identity and the handicap answer take the values
    their events read as once the candidate's key is destroyed (what a replay computes), and the
    candidate's convocations are recomputed from them. The parts' versions do not move."""
    rows = await connection.fetch(
        "SELECT stream_id, kind, session, specialty, part FROM convocation_parts"
        " WHERE candidate_id = $1 AND kind = ANY($2::text[])",
        candidate_id,
        [IDENTITY, CANDIDACY],
    )
    erased: dict[str, dict[str, Any]] = {
        IDENTITY: {"last_name": "", "first_names": "", "birth_date": None},
        CANDIDACY: {"handicap": False},
    }
    for row in rows:
        part = MODELS[row["kind"]].model_validate_json(row["part"]).model_copy(update=erased[row["kind"]])
        await connection.execute(
            "UPDATE convocation_parts SET part = $2 WHERE stream_id = $1", row["stream_id"], part.model_dump_json()
        )
    for key in await ConvocationFeedReadModel()._concerned(connection, Located(IDENTITY, candidate_id, "", None, None)):
        await refresh(connection, key)


async def _part(connection: Connection, kind: str, query: str, *arguments: object) -> AnyPart | None:
    row = await connection.fetchrow(f"SELECT part FROM convocation_parts WHERE kind = $1 AND {query}", kind, *arguments)
    return MODELS[kind].model_validate_json(row["part"]) if row else None


async def refresh(connection: Connection, key: CandidateKey) -> tuple[Convocation, ...]:
    """Recomputes one candidate's convocations for a specialty from the stored parts."""
    same = "candidate_id = $2 AND session = $3 AND specialty = $4"
    candidacy = await _part(connection, CANDIDACY, same, *key)
    completeness = await _part(connection, COMPLETENESS, same, *key)
    identity = await _part(connection, IDENTITY, "candidate_id = $2", key.candidate_id)
    academy = candidacy.academy if isinstance(candidacy, Candidacy) else ""
    schedule = await _part(
        connection, SCHEDULE, "academy = $2 AND session = $3 AND specialty = $4", academy, key.session, key.specialty
    )
    calendar = await _part(connection, CALENDAR, "academy = $2 AND session = $3", academy, key.session)
    assert candidacy is None or isinstance(candidacy, Candidacy)
    assert completeness is None or isinstance(completeness, Completeness)
    assert identity is None or isinstance(identity, Identity)
    assert schedule is None or isinstance(schedule, Schedule)
    assert calendar is None or isinstance(calendar, SessionCalendar)
    found = convocations(
        key, identity=identity, candidacy=candidacy, completeness=completeness, schedule=schedule, calendar=calendar
    )
    await connection.execute(
        "DELETE FROM convocation_feed WHERE candidate_id = $1 AND session = $2 AND specialty = $3", *key
    )
    for convocation in found:
        await connection.execute(
            "INSERT INTO convocation_feed VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            *key,
            convocation.partial,
            convocation.academy,
            convocation.publish_from,
            convocation.version,
            convocation.model_dump_json(),
        )
    return found
