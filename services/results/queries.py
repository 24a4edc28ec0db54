"""Read port of the results API: the outcomes read model (`outcomes`) and the candidates' names from
the shared known accounts read model (`known_accounts`)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


class ResultsQueries:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def outcomes(self, academy: str | None, session: int, specialty: str | None) -> list[asyncpg.Record]:
        """The outcome of every candidate of the académie (None: every académie) at `session`, by
        specialty then candidate."""
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT candidate_id, specialty, form, outcome, average, final_average, final FROM outcomes"
            " WHERE ($1::text IS NULL OR academy = $1) AND session = $2 AND ($3::text IS NULL OR specialty = $3)"
            " ORDER BY specialty, candidate_id",
            academy,
            session,
            specialty,
        )
        return rows

    async def to_deliberate(self, academy: str, session: int, specialty: str | None) -> list[tuple[UUID, str]]:
        """(candidate, specialty) of every candidate of the académie not yet deliberated (or INCOMPLET)."""
        rows = await self.pool.fetch(
            "SELECT candidate_id, specialty FROM outcomes WHERE academy = $1 AND session = $2"
            " AND ($3::text IS NULL OR specialty = $3) AND (outcome IS NULL OR outcome = 'INCOMPLET')"
            " ORDER BY specialty, candidate_id",
            academy,
            session,
            specialty,
        )
        return [(row["candidate_id"], row["specialty"]) for row in rows]

    async def names(self, candidate_id: UUID) -> dict[str, str]:
        """The candidate's last and first names for the score sheet (empty when not known yet)."""
        row = await self.pool.fetchrow(
            "SELECT last_name, first_names FROM known_accounts WHERE account_id = $1", candidate_id
        )
        return {"last_name": row["last_name"], "first_names": row["first_names"]} if row else {}

    async def existing_streams(self, stream_ids: list[str]) -> set[str]:
        """Which of `stream_ids` hold at least one event: one query for a whole jury file."""
        rows = await self.pool.fetch(
            "SELECT DISTINCT stream_id FROM events WHERE stream_id = ANY($1::text[])", stream_ids
        )
        return {row["stream_id"] for row in rows}
