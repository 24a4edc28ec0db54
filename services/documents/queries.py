"""Read port of the documents API: a dossier as its stream tells it (state, version and the
events the candidate space shows), the staff's list of dossiers (read model `dossier_list`) and
the calendars' documents deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.documents.domain import DOSSIER, DossierState
from services.documents.facts import documents_deadline
from services.documents.streams import DossierKey
from shared.decider import replay
from shared.events import Envelope
from shared.eventstore import EventStore


@dataclass(frozen=True)
class StoredDossier:
    state: DossierState
    version: int
    history: list[Envelope]


class DocumentsQueries:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.pool = store.pool

    async def dossier(self, key: DossierKey) -> StoredDossier:
        history = await self.store.read_stream(key.stream)
        return StoredDossier(replay(DOSSIER, (e.payload for e in history)), len(history), history)

    async def documents_deadline(self, academy: str, session: int) -> datetime | None:
        return await documents_deadline(self.pool, academy, session)

    async def dossiers(self, academy: str | None, session: int | None, state: str | None) -> list[asyncpg.Record]:
        """The académie's dossiers (None: every académie's)."""
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT candidate_id, session, specialty, state, missing, pending_review FROM dossier_list"
            " WHERE ($1::text IS NULL OR academy = $1) AND ($2::int IS NULL OR session = $2)"
            " AND ($3::text IS NULL OR state = $3)"
            " ORDER BY session, specialty, candidate_id",
            academy,
            session,
            state,
        )
        return rows
