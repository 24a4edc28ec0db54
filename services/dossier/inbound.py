"""The events the dossier's read models consume: the four services' published events
(shared.contracts). `INBOUND` decodes them all; `EVENTS` names, per source, the events of a
candidate stream the dossier folds, and `KEYED` those of them that name the stream's session and
specialty (services.dossier.keys); the calendars and test schedules are académie-wide (the
convocation feed reads them)."""

from __future__ import annotations

from shared.contracts import accounts, documents, registration, results
from shared.events import DomainEvent

INBOUND = accounts.REGISTRY.merged(registration.REGISTRY).merged(documents.REGISTRY).merged(results.REGISTRY)

ACCOUNT_EVENTS: tuple[type[DomainEvent], ...] = (
    accounts.AccountCreated,
    accounts.ActivationLinkSent,
    accounts.AccountActivated,
)
# A candidate's registration stream (one per session and specialty); its first event,
# RegistrationStarted, always names them.
REGISTRATION_EVENTS: tuple[type[DomainEvent], ...] = (
    registration.RegistrationStarted,
    registration.ExamFormChosen,
    registration.LanguageChosen,
    registration.OptionalUnitsChosen,
    registration.BenefitDeclared,
    registration.BenefitRenounced,
    registration.ExemptionDeclared,
    registration.ExemptionWithdrawn,
    registration.RegistrationConfirmed,
    registration.SummaryIssued,
    registration.DocumentsRequired,
    registration.RegistrationSetNotRegistered,
)
# The documents service's stream of a candidate, session and specialty: RequirementsRecorded is its
# first event but when a document is uploaded before the requirements.
DOCUMENTS_EVENTS: tuple[type[DomainEvent], ...] = (
    documents.RequirementsRecorded,
    documents.DocumentUploaded,
    documents.DocumentAccepted,
    documents.DocumentRejected,
    documents.DossierComplete,
    documents.DossierIncomplete,
    documents.DossierRejected,
)
# A results stream: RegistrationNoted, its first event, names it; BenefitGranted's session is that
# of the grade it carries.
RESULTS_EVENTS: tuple[type[DomainEvent], ...] = (
    results.RegistrationNoted,
    results.GradesRecorded,
    results.AbsenceRecorded,
    results.DeliberationCompleted,
    results.FinalResultPublished,
    results.BenefitGranted,
)
ACADEMY_EVENTS: tuple[type[DomainEvent], ...] = (registration.CalendarSet, registration.SchedulePublished)

KEYED = frozenset(
    model.event_type
    for model in (
        registration.RegistrationStarted,
        registration.RegistrationConfirmed,
        registration.DocumentsRequired,
        documents.RequirementsRecorded,
        documents.DossierComplete,
        results.RegistrationNoted,
        results.DeliberationCompleted,
        results.FinalResultPublished,
    )
)
READ = frozenset(
    model.event_type
    for model in (*ACCOUNT_EVENTS, *REGISTRATION_EVENTS, *DOCUMENTS_EVENTS, *RESULTS_EVENTS, *ACADEMY_EVENTS)
)
