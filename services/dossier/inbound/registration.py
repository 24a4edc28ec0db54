"""The dossier's copies of archipel.registration.events: the candidate's registration stream (one per session and
specialty), and the académie-wide calendars and test schedules read by the convocation feed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from services.dossier.inbound.base import Inbound, Part


class RegistrationStarted(Inbound):
    event_type: ClassVar[str] = "RegistrationStarted"

    registration_id: str
    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    category: str


class ExamFormChosen(Inbound):
    event_type: ClassVar[str] = "ExamFormChosen"

    form: str
    units: tuple[str, ...]


class LanguageChosen(Inbound):
    event_type: ClassVar[str] = "LanguageChosen"

    language: str


class OptionalUnitsChosen(Inbound):
    event_type: ClassVar[str] = "OptionalUnitsChosen"

    units: tuple[str, ...]


class BenefitDeclared(Inbound):
    event_type: ClassVar[str] = "BenefitDeclared"

    unit: str
    grade: Decimal
    session_obtained: int


class BenefitRenounced(Inbound):
    event_type: ClassVar[str] = "BenefitRenounced"

    unit: str


class ExemptionDeclared(Inbound):
    event_type: ClassVar[str] = "ExemptionDeclared"

    unit: str
    ground: str


class ExemptionWithdrawn(Inbound):
    event_type: ClassVar[str] = "ExemptionWithdrawn"

    unit: str


class RegistrationConfirmed(Inbound):
    event_type: ClassVar[str] = "RegistrationConfirmed"

    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    form: str
    units: tuple[str, ...]
    optional_units: tuple[str, ...]
    language: str | None
    exempted_units: tuple[str, ...]
    benefit_units: tuple[str, ...]
    handicap: bool = False


class SummaryIssued(Inbound):
    event_type: ClassVar[str] = "SummaryIssued"

    version: int
    issued_at: datetime


class RequiredDocument(Part):
    kind: str
    label: str


class DocumentsRequired(Inbound):
    event_type: ClassVar[str] = "DocumentsRequired"

    candidate_id: UUID | None = None
    session: int | None = None
    specialty: str | None = None
    documents: tuple[RequiredDocument, ...]
    deadline: datetime | None


class RegistrationSetNotRegistered(Inbound):
    event_type: ClassVar[str] = "RegistrationSetNotRegistered"

    reason: str


class CalendarSet(Inbound):
    event_type: ClassVar[str] = "CalendarSet"

    academy: str
    session: int
    convocations_from: date | None


class ScheduledTest(Part):
    unit: str
    title: str
    starts_at: datetime
    duration_minutes: int
    place: str
    language: str | None = None


class SchedulePublished(Inbound):
    event_type: ClassVar[str] = "SchedulePublished"

    academy: str
    session: int
    specialty: str
    specialty_title: str
    entries: tuple[ScheduledTest, ...]


# The events of a candidate's registration stream, and those of them that name its session and
# specialty (the first one, RegistrationStarted, always does).
STREAM_EVENTS: tuple[type[Inbound], ...] = (
    RegistrationStarted,
    ExamFormChosen,
    LanguageChosen,
    OptionalUnitsChosen,
    BenefitDeclared,
    BenefitRenounced,
    ExemptionDeclared,
    ExemptionWithdrawn,
    RegistrationConfirmed,
    SummaryIssued,
    DocumentsRequired,
    RegistrationSetNotRegistered,
)
KEYED = frozenset({RegistrationStarted.event_type, RegistrationConfirmed.event_type, DocumentsRequired.event_type})
EVENTS: tuple[type[Inbound], ...] = (*STREAM_EVENTS, CalendarSet, SchedulePublished)
