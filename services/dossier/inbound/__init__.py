"""The events the dossier read models consume, as the dossier's own copies of the four published
contracts, one module per source topic (extra fields ignored: a producer may add fields without
breaking this consumer). `INBOUND` decodes them all; each module's `EVENTS` are its topic's, and
`KEYED` those of them that name the stream's session and specialty (services.dossier.keys)."""

from __future__ import annotations

from services.dossier.inbound import accounts, documents, registration, results
from services.dossier.inbound.accounts import (
    AccountActivated,
    AccountCreated,
    ActivationLinkSent,
)
from services.dossier.inbound.base import (
    Inbound,
    Part,
)
from services.dossier.inbound.documents import (
    DocumentAccepted,
    DocumentRejected,
    DocumentUploaded,
    DossierComplete,
    DossierIncomplete,
    DossierRejected,
    RequirementsRecorded,
)
from services.dossier.inbound.registration import (
    BenefitDeclared,
    BenefitRenounced,
    CalendarSet,
    DocumentsRequired,
    ExamFormChosen,
    ExemptionDeclared,
    ExemptionWithdrawn,
    LanguageChosen,
    OptionalUnitsChosen,
    RegistrationConfirmed,
    RegistrationSetNotRegistered,
    RegistrationStarted,
    RequiredDocument,
    ScheduledTest,
    SchedulePublished,
    SummaryIssued,
)
from services.dossier.inbound.results import (
    AbsenceRecorded,
    BenefitGranted,
    DeliberationCompleted,
    FinalResultPublished,
    GradesRecorded,
    RegistrationNoted,
)
from shared.events import EventRegistry

INBOUND = EventRegistry([*accounts.EVENTS, *registration.EVENTS, *documents.EVENTS, *results.EVENTS])

__all__ = [
    "INBOUND",
    "AbsenceRecorded",
    "AccountActivated",
    "AccountCreated",
    "ActivationLinkSent",
    "BenefitDeclared",
    "BenefitGranted",
    "BenefitRenounced",
    "CalendarSet",
    "DeliberationCompleted",
    "DocumentAccepted",
    "DocumentRejected",
    "DocumentUploaded",
    "DocumentsRequired",
    "DossierComplete",
    "DossierIncomplete",
    "DossierRejected",
    "ExamFormChosen",
    "ExemptionDeclared",
    "ExemptionWithdrawn",
    "FinalResultPublished",
    "GradesRecorded",
    "Inbound",
    "LanguageChosen",
    "OptionalUnitsChosen",
    "Part",
    "RegistrationConfirmed",
    "RegistrationNoted",
    "RegistrationSetNotRegistered",
    "RegistrationStarted",
    "RequiredDocument",
    "RequirementsRecorded",
    "SchedulePublished",
    "ScheduledTest",
    "SummaryIssued",
    "accounts",
    "documents",
    "registration",
    "results",
]
