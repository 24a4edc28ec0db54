"""The read port of the dossier API: every query of GetDossier, ListDossiers and ListConvocations
over the read models' tables (dossier_views, convocation_feed: their stored names)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.dossier.convocations.feed import Convocation, current
from services.dossier.fold import DossierSummary


class DossierQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def latest_summary(self, candidate_id: UUID, session: int | None) -> tuple[str, DossierSummary] | None:
        """The académie and summary of the candidate's dossier of `session`, else of their latest session."""
        row = await self.pool.fetchrow(
            "SELECT academy, view FROM dossier_views WHERE candidate_id = $1 AND ($2::integer IS NULL OR session = $2)"
            " ORDER BY session DESC LIMIT 1",
            candidate_id,
            session,
        )
        return None if row is None else (row["academy"], DossierSummary.model_validate_json(row["view"]))

    async def state_counts(self, academy: str | None, session: int) -> dict[str, int]:
        """How many of the académie's dossiers of `session` are in each state (None: every académie)."""
        rows = await self.pool.fetch(
            "SELECT state, count(*) AS n FROM dossier_views WHERE ($1::text IS NULL OR academy = $1)"
            " AND session = $2 GROUP BY state",
            academy,
            session,
        )
        return {row["state"]: row["n"] for row in rows}

    async def summaries(
        self, academy: str | None, session: int, state: str, *, incomplete_before: datetime | None
    ) -> list[DossierSummary]:
        """The académie's dossiers (None: every académie's) of `session` by candidate: in `state`
        unless "", and with documents due before `incomplete_before` when given."""
        rows = await self.pool.fetch(
            "SELECT view FROM dossier_views WHERE ($1::text IS NULL OR academy = $1) AND session = $2"
            " AND ($3 = '' OR state = $3)"
            " AND ($4::timestamptz IS NULL OR documents_deadline < $4) ORDER BY candidate_id",
            academy,
            session,
            state,
            incomplete_before,
        )
        return [DossierSummary.model_validate_json(row["view"]) for row in rows]

    async def convocations(self, academy: str | None, session: int, today: date) -> list[Convocation]:
        """The convocation of each candidate and specialty of the académie (None: every académie) to
        show on `today` (Paris)."""
        rows = await self.pool.fetch(
            "SELECT candidate_id, specialty, entry FROM convocation_feed"
            " WHERE ($1::text IS NULL OR academy = $1) AND session = $2"
            " ORDER BY candidate_id, specialty, partial",
            academy,
            session,
        )
        grouped: dict[tuple[UUID, str], list[Convocation]] = {}
        for row in rows:
            grouped.setdefault((row["candidate_id"], row["specialty"]), []).append(
                Convocation.model_validate_json(row["entry"])
            )
        return [shown for published in grouped.values() if (shown := current(published, today)) is not None]
