"""The events the dossier projection reads, as its own copies of the four published contracts
(extra fields ignored: a producer may add fields without breaking this consumer)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events import DomainEvent, EventRegistry


class Inbound(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# -- archipel.accounts.events -----------------------------------------------------------------------


class AccountCreated(Inbound):
    event_type: ClassVar[str] = "AccountCreated"

    account_id: UUID
    role: str
    academy: str
    last_name: str = ""  # read by the convocation feed
    first_names: str = ""
    birth_date: date | None = None


class ActivationLinkSent(Inbound):
    event_type: ClassVar[str] = "ActivationLinkSent"

    sent_at: datetime
    expires_at: datetime


class AccountActivated(Inbound):
    event_type: ClassVar[str] = "AccountActivated"

    account_id: UUID
    activated_at: datetime


# -- archipel.registration.events -------------------------------------------------------------------


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


# -- archipel.documents.events ----------------------------------------------------------------------


class RequirementsRecorded(Inbound):
    event_type: ClassVar[str] = "RequirementsRecorded"

    requirements: tuple[RequiredDocument, ...]
    deadline: datetime | None


class DocumentUploaded(Inbound):
    event_type: ClassVar[str] = "DocumentUploaded"

    document_id: UUID
    kind: str
    label: str
    uploaded_at: datetime


class DocumentAccepted(Inbound):
    event_type: ClassVar[str] = "DocumentAccepted"

    document_id: UUID
    kind: str


class DocumentRejected(Inbound):
    event_type: ClassVar[str] = "DocumentRejected"

    document_id: UUID
    kind: str
    reason: str


class DossierComplete(Inbound):
    event_type: ClassVar[str] = "DossierComplete"


class DossierIncomplete(Inbound):
    event_type: ClassVar[str] = "DossierIncomplete"

    missing: tuple[str, ...]
    wrong: tuple[str, ...]
    note: str


class DossierRejected(Inbound):
    event_type: ClassVar[str] = "DossierRejected"

    reason: str


# -- archipel.results.events ------------------------------------------------------------------------


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

    outcome: str
    average: Decimal | None


class FinalResultPublished(Inbound):
    event_type: ClassVar[str] = "FinalResultPublished"

    outcome: str
    average: Decimal | None
    final_average: Decimal | None


class BenefitGranted(Inbound):
    event_type: ClassVar[str] = "BenefitGranted"

    unit: str
    grade: Decimal
    session: int
    valid_through_session: int


INBOUND = EventRegistry(
    [
        AccountCreated,
        ActivationLinkSent,
        AccountActivated,
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
        CalendarSet,
        SchedulePublished,
        RequirementsRecorded,
        DocumentUploaded,
        DocumentAccepted,
        DocumentRejected,
        DossierComplete,
        DossierIncomplete,
        DossierRejected,
        GradesRecorded,
        AbsenceRecorded,
        DeliberationCompleted,
        FinalResultPublished,
        BenefitGranted,
    ]
)
