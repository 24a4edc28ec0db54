"""Read port of the registration commands: what decide needs from outside a stream (the calendar,
the candidate's account from the shared known-accounts read model, the first confirmed exam form,
the granted bénéfices, the identity printed on the summary), over asyncpg, and an in-memory fake
for unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

import asyncpg

from services.registration.domain.facts import FirstForm, GrantedBenefit, KnownCandidate
from shared.errors import InvalidInput
from shared.reference import Calendar, ExamForm, ReferenceData, Regulation

Identity = dict[str, object]  # last_name, first_names, birth_date, email


class RegistrationFacts(Protocol):
    async def calendar(self, academy: str, session: int) -> Calendar | None: ...

    async def candidate(self, candidate_id: UUID) -> KnownCandidate | None: ...

    async def first_form(self, candidate_id: UUID, specialty: str) -> FirstForm | None: ...

    async def granted(self, candidate_id: UUID, specialty: str) -> tuple[GrantedBenefit, ...]: ...

    async def identity(self, candidate_id: UUID) -> Identity | None: ...


def regulation_of(reference: ReferenceData, specialty: str, session: int) -> Regulation:
    """The regulation of a specialty for a session; InvalidInput naming the field otherwise."""
    if specialty not in reference.specialties():
        known = ", ".join(reference.specialties())
        raise InvalidInput("specialty", f"unknown specialty {specialty!r} (known: {known})")
    try:
        return reference.regulation(specialty, session)
    except LookupError as error:
        raise InvalidInput("session", str(error)) from None


async def read_calendar(pool: asyncpg.Pool, reference: ReferenceData, academy: str, session: int) -> Calendar | None:
    """The calendar staff set (or the data files' one once published), else the data files'."""
    row = await pool.fetchrow("SELECT * FROM calendars WHERE academy = $1 AND session = $2", academy, session)
    if row is None:
        return reference.calendar(academy, session)
    return Calendar.model_validate(dict(row))


class PgRegistrationFacts:
    def __init__(self, pool: asyncpg.Pool, reference: ReferenceData) -> None:
        self.pool = pool
        self.reference = reference

    async def calendar(self, academy: str, session: int) -> Calendar | None:
        return await read_calendar(self.pool, self.reference, academy, session)

    async def candidate(self, candidate_id: UUID) -> KnownCandidate | None:
        row = await self.pool.fetchrow(
            "SELECT academy, role, activated_at FROM known_accounts WHERE account_id = $1", candidate_id
        )
        if row is None:
            return None
        return KnownCandidate(academy=row["academy"], role=row["role"], activated=row["activated_at"] is not None)

    async def first_form(self, candidate_id: UUID, specialty: str) -> FirstForm | None:
        row = await self.pool.fetchrow(
            "SELECT form, session FROM form_choices WHERE candidate_id = $1 AND specialty = $2",
            candidate_id,
            specialty,
        )
        return FirstForm(form=ExamForm(row["form"]), session=row["session"]) if row else None

    async def granted(self, candidate_id: UUID, specialty: str) -> tuple[GrantedBenefit, ...]:
        rows = await self.pool.fetch(
            "SELECT unit, grade, session, valid_through_session FROM granted_benefits"
            " WHERE candidate_id = $1 AND specialty = $2 ORDER BY unit, session",
            candidate_id,
            specialty,
        )
        return tuple(
            GrantedBenefit(
                unit=r["unit"],
                grade=r["grade"],
                session_obtained=r["session"],
                valid_through_session=r["valid_through_session"],
            )
            for r in rows
        )

    async def identity(self, candidate_id: UUID) -> Identity | None:
        row = await self.pool.fetchrow(
            "SELECT last_name, first_names, birth_date, email FROM known_accounts WHERE account_id = $1", candidate_id
        )
        return dict(row) if row else None


@dataclass
class InMemoryRegistrationFacts:
    reference: ReferenceData | None = None  # the data files' calendars, when given
    calendars: dict[tuple[str, int], Calendar] = field(default_factory=dict)
    candidates: dict[UUID, KnownCandidate] = field(default_factory=dict)
    first_forms: dict[tuple[UUID, str], FirstForm] = field(default_factory=dict)
    benefits: dict[tuple[UUID, str], tuple[GrantedBenefit, ...]] = field(default_factory=dict)
    identities: dict[UUID, Identity] = field(default_factory=dict)

    async def calendar(self, academy: str, session: int) -> Calendar | None:
        found = self.calendars.get((academy, session))
        if found is None and self.reference is not None:
            return self.reference.calendar(academy, session)
        return found

    async def candidate(self, candidate_id: UUID) -> KnownCandidate | None:
        return self.candidates.get(candidate_id)

    async def first_form(self, candidate_id: UUID, specialty: str) -> FirstForm | None:
        return self.first_forms.get((candidate_id, specialty))

    async def granted(self, candidate_id: UUID, specialty: str) -> tuple[GrantedBenefit, ...]:
        return self.benefits.get((candidate_id, specialty), ())

    async def identity(self, candidate_id: UUID) -> Identity | None:
        return self.identities.get(candidate_id)
