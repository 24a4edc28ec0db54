"""Public events of the results service (topic archipel.results.events). Grades and averages are
exact decimals written as strings ("12.50"), never binary floats."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent, EventRegistry


class Carried(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: str
    grade: Decimal
    session_obtained: int


class RegistrationNoted(DomainEvent):
    """What the deliberation needs of the confirmed registration (form, units, exemptions, bénéfices)."""

    event_type: ClassVar[str] = "RegistrationNoted"

    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    form: str
    units: tuple[str, ...]
    optional_units: tuple[str, ...]
    exempted_units: tuple[str, ...]
    benefits: tuple[Carried, ...]
    source_event_id: UUID


class GradesRecorded(DomainEvent):
    """A grade for one unit; a correction is a new event naming the previous grade and the reason."""

    event_type: ClassVar[str] = "GradesRecorded"

    unit: str
    grade: Decimal
    previous: str | None  # "12.50", "absent", "absent (justified)" or None for a first record
    reason: str


class AbsenceRecorded(DomainEvent):
    event_type: ClassVar[str] = "AbsenceRecorded"

    unit: str
    justified: bool  # force majeure (D643-24): counts 0 instead of eliminating
    previous: str | None
    reason: str


class UnitOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: str
    retained: Decimal | None
    source: str


class DeliberationCompleted(DomainEvent):
    event_type: ClassVar[str] = "DeliberationCompleted"

    candidate_id: UUID
    session: int
    specialty: str
    outcome: str  # ADMIS | AJOURNE | CONTROLE | ELIMINE | INCOMPLET
    average: Decimal | None  # rounded half-up to two decimals
    professional_average: Decimal | None
    units: tuple[UnitOutcome, ...]
    regulation_session: int  # the first session of the regulation applied


class ControleResultRecorded(DomainEvent):
    event_type: ClassVar[str] = "ControleResultRecorded"

    grades: tuple[Carried, ...]  # unit, grade, session (this one)


class FinalResultPublished(DomainEvent):
    event_type: ClassVar[str] = "FinalResultPublished"

    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    outcome: str  # ADMIS | AJOURNE | ELIMINE
    average: Decimal | None
    final_average: Decimal | None
    units: tuple[UnitOutcome, ...] = ()  # the grades finally retained (after the contrôle, R-31)


class BenefitGranted(DomainEvent):
    """A carried grade kept for the five following sessions (R-14, R-15); the registration service
    lists it at the candidate's next registration."""

    event_type: ClassVar[str] = "BenefitGranted"

    candidate_id: UUID
    specialty: str
    unit: str
    grade: Decimal
    session: int
    valid_through_session: int


REGISTRY = EventRegistry(
    [
        RegistrationNoted,
        GradesRecorded,
        AbsenceRecorded,
        DeliberationCompleted,
        ControleResultRecorded,
        FinalResultPublished,
        BenefitGranted,
    ]
)
