"""Public events of the registration service (topic archipel.registration.events)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent, EventRegistry
from shared.reference.forms import ExamForm


class Category(StrEnum):
    """R-01, R-02: who registers here."""

    INDIVIDUAL = "individual"  # candidat isolé, with a preparation in a training body
    DISTANCE = "distance"  # enseignement à distance (CNED...)
    PROFESSIONAL_EXPERIENCE = "professional_experience"
    REPEATER = "repeater"  # redoublant, same account as the previous session


class ExemptionGround(StrEnum):
    DIPLOMA = "diploma"  # BTS, DUT, level 5+ diploma (arrêté du 24 juin 2005)
    VAE = "vae"


class BenefitOrigin(StrEnum):
    DECLARED = "declared"  # from a score sheet of a session before Archipel
    GRANTED = "granted"  # from the results service's BenefitGranted


class RequiredDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    label: str
    rule: str


class CarriedGrade(BaseModel):
    """A kept bénéfice as the results service needs it to deliberate (R-14, R-15)."""

    model_config = ConfigDict(frozen=True)

    unit: str
    grade: Decimal
    session_obtained: int


class CalendarSet(DomainEvent):
    event_type: ClassVar[str] = "CalendarSet"

    academy: str
    session: int
    registration_opens: datetime
    registration_closes: datetime
    documents_deadline: datetime | None
    amex_deadline: datetime | None
    convocations_from: date | None
    reason: str


class RegistrationStarted(DomainEvent):
    event_type: ClassVar[str] = "RegistrationStarted"

    registration_id: str
    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    category: Category


class CategoryChanged(DomainEvent):
    event_type: ClassVar[str] = "CategoryChanged"

    category: Category


class ExamFormChosen(DomainEvent):
    event_type: ClassVar[str] = "ExamFormChosen"

    form: ExamForm
    units: tuple[str, ...]  # progressive: the units sat this session; globale: empty (all)


class LanguageChosen(DomainEvent):
    event_type: ClassVar[str] = "LanguageChosen"

    language: str
    teaching_followed: bool
    rare: bool


class OptionalUnitsChosen(DomainEvent):
    event_type: ClassVar[str] = "OptionalUnitsChosen"

    units: tuple[str, ...]


class BenefitDeclared(DomainEvent):
    event_type: ClassVar[str] = "BenefitDeclared"

    unit: str
    grade: Decimal
    session_obtained: int
    origin: BenefitOrigin


class BenefitRenounced(DomainEvent):
    event_type: ClassVar[str] = "BenefitRenounced"

    unit: str
    session_obtained: int
    by_registering: bool  # registering for the unit is renouncing


class ExemptionDeclared(DomainEvent):
    event_type: ClassVar[str] = "ExemptionDeclared"

    unit: str
    ground: ExemptionGround
    detail: str


class ExemptionWithdrawn(DomainEvent):
    event_type: ClassVar[str] = "ExemptionWithdrawn"

    unit: str


class SituationDeclared(DomainEvent):
    event_type: ClassVar[str] = "SituationDeclared"

    training_shortened: bool  # a positionnement decision
    r408_exemption: bool  # RQTH + medical certificate instead of R408


class HandicapDeclared(DomainEvent):
    event_type: ClassVar[str] = "HandicapDeclared"
    # The handicap answers never reach a topic in clear: sealed under the candidate's data key
    # (shared.personal), read as "no handicap" once it is destroyed.
    personal: ClassVar[dict[str, object]] = {"handicap": False, "amex_reference": None, "existing_decision": False}

    handicap: bool
    amex_reference: str | None
    existing_decision: bool


class RegistrationConfirmed(DomainEvent):
    event_type: ClassVar[str] = "RegistrationConfirmed"
    personal: ClassVar[dict[str, object]] = {"handicap": False}

    registration_id: str
    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    category: Category
    form: ExamForm
    units: tuple[str, ...]  # the units the candidate sits this session
    optional_units: tuple[str, ...]
    language: str | None
    exempted_units: tuple[str, ...]
    benefit_units: tuple[str, ...]  # kept bénéfices
    handicap: bool  # personal (sealed), read as False once the candidate's key is destroyed
    benefits: tuple[CarriedGrade, ...] = ()  # the kept bénéfices' grades


class SummaryIssued(DomainEvent):
    event_type: ClassVar[str] = "SummaryIssued"

    version: int
    issued_at: datetime


class DocumentsRequired(DomainEvent):
    event_type: ClassVar[str] = "DocumentsRequired"

    registration_id: str
    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    documents: tuple[RequiredDocument, ...]
    deadline: datetime | None


class ScheduledTest(BaseModel):
    """One sitting of a unit's test (R-26); `language` set when only its candidates sit it then."""

    model_config = ConfigDict(frozen=True)

    unit: str
    title: str
    starts_at: datetime  # UTC
    duration_minutes: int
    place: str
    language: str | None = None


class SchedulePublished(DomainEvent):
    """The test schedule of a session for one specialty in an académie; a new one replaces it."""

    event_type: ClassVar[str] = "SchedulePublished"

    academy: str
    session: int
    specialty: str
    specialty_title: str
    entries: tuple[ScheduledTest, ...]
    reason: str


class RegistrationSetNotRegistered(DomainEvent):
    event_type: ClassVar[str] = "RegistrationSetNotRegistered"

    reason: str


REGISTRY = EventRegistry(
    [
        CalendarSet,
        RegistrationStarted,
        CategoryChanged,
        ExamFormChosen,
        LanguageChosen,
        OptionalUnitsChosen,
        BenefitDeclared,
        BenefitRenounced,
        ExemptionDeclared,
        ExemptionWithdrawn,
        SituationDeclared,
        HandicapDeclared,
        RegistrationConfirmed,
        SummaryIssued,
        DocumentsRequired,
        RegistrationSetNotRegistered,
        SchedulePublished,
    ]
)
