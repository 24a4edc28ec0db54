"""Read port of the registration API: the registrations list, the summaries, the calendars."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.registration.facts import read_calendar
from shared.auth import Principal, Role
from shared.reference import Calendar, ReferenceData


class RegistrationQueries:
    def __init__(self, pool: asyncpg.Pool, reference: ReferenceData) -> None:
        self.pool = pool
        self.reference = reference

    async def registrations(
        self, principal: Principal, session: int | None, specialty: str | None
    ) -> list[asyncpg.Record]:
        """A candidate's own registrations; staff and auditors, their académie's (a national auditor,
        every académie's)."""
        candidate = UUID(principal.subject) if principal.role is Role.CANDIDATE else None
        academy = None if candidate is not None else principal.read_scope
        rows: list[asyncpg.Record] = await self.pool.fetch(
            "SELECT * FROM registration_list WHERE ($1::uuid IS NULL OR candidate_id = $1)"
            " AND ($4::text IS NULL OR academy = $4)"
            " AND ($2::int IS NULL OR session = $2) AND ($3::text IS NULL OR specialty = $3)"
            " ORDER BY session, specialty, registration_id",
            candidate,
            session,
            specialty,
            academy,
        )
        return rows

    async def summary(self, registration_id: str, version: int) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self.pool.fetchrow(
            "SELECT version, issued_at, sha256, pdf FROM summaries WHERE registration_id = $1 AND version = $2",
            registration_id,
            version,
        )
        return row

    async def calendar(self, academy: str, session: int) -> Calendar | None:
        return await read_calendar(self.pool, self.reference, academy, session)
