"""The dossier's copies of archipel.results.events: the candidate's results stream (one per session and specialty)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from services.dossier.inbound.base import Inbound


class RegistrationNoted(Inbound):
    """The results stream's first event: whose results, for which session and specialty."""

    event_type: ClassVar[str] = "RegistrationNoted"

    candidate_id: UUID
    academy: str
    session: int
    specialty: str


class GradesRecorded(Inbound):
    event_type: ClassVar[str] = "GradesRecorded"

    unit: str
    grade: Decimal


class AbsenceRecorded(Inbound):
    event_type: ClassVar[str] = "AbsenceRecorded"

    unit: str
    justified: bool


class DeliberationCompleted(Inbound):
    event_type: ClassVar[str] = "DeliberationCompleted"

    candidate_id: UUID | None = None
    session: int | None = None
    specialty: str | None = None
    outcome: str
    average: Decimal | None


class FinalResultPublished(Inbound):
    event_type: ClassVar[str] = "FinalResultPublished"

    candidate_id: UUID | None = None
    session: int | None = None
    specialty: str | None = None
    outcome: str
    average: Decimal | None
    final_average: Decimal | None


class BenefitGranted(Inbound):
    event_type: ClassVar[str] = "BenefitGranted"

    unit: str
    grade: Decimal
    session: int
    valid_through_session: int


# The events of a results stream, and those that name its session and specialty (the first one,
# RegistrationNoted, always does; BenefitGranted's session is that of the grade it carries).
EVENTS: tuple[type[Inbound], ...] = (
    RegistrationNoted,
    GradesRecorded,
    AbsenceRecorded,
    DeliberationCompleted,
    FinalResultPublished,
    BenefitGranted,
)
KEYED = frozenset({RegistrationNoted.event_type, DeliberationCompleted.event_type, FinalResultPublished.event_type})
