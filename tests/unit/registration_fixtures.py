"""Helpers for the registration domain's unit tests: "given these events, when this command, then...".

`facts()` uses the REAL reference data (shared/reference/data): the regulation of the specialty for the
session, the aix-marseille 2026 calendar (10 Oct 2025 08:00 to 12 Nov 2025 17:00, Europe/Paris) and the
rare languages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from uuid import UUID

from services.registration.commands import (
    ChooseExamForm,
    ChooseLanguage,
    Command,
    ConfirmRegistration,
    StartRegistration,
)
from services.registration.domain import (
    INITIAL,
    Facts,
    FirstForm,
    GrantedBenefit,
    KnownCandidate,
    RegistrationState,
    decide,
    evolve,
    registration_id,
)
from shared.contracts.registration import Category, RegistrationStarted
from shared.events import DomainEvent
from shared.reference import Calendar, ExamForm, ReferenceData, Regulation, load_reference
from shared.reference.labels import window_label

ACADEMY = "aix-marseille"
SESSION = 2026
SPECIALTY = "SIO-SISR"
CANDIDATE = UUID("0b5e7c1a-0000-4000-8000-000000000026")

OPENS = datetime(2025, 10, 10, 6, 0, tzinfo=UTC)  # Friday 10 October 2025 08:00 Paris (CEST, UTC+2)
CLOSES = datetime(2025, 11, 12, 16, 0, tzinfo=UTC)  # Wednesday 12 November 2025 17:00 Paris (CET, UTC+1)
DOCUMENTS_DEADLINE = datetime(2025, 11, 28, 16, 0, tzinfo=UTC)  # Friday 28 November 2025 17:00 Paris
INSIDE = datetime(2025, 10, 20, 9, 30, tzinfo=UTC)  # well inside the window
LATER = datetime(2025, 10, 21, 9, 30, tzinfo=UTC)
ACTIVATED = KnownCandidate(academy=ACADEMY, role="candidate", activated=True)  # may register


@cache
def catalogue() -> ReferenceData:
    return load_reference()


def regulation(specialty: str = SPECIALTY, session: int = SESSION) -> Regulation:
    return catalogue().regulation(specialty, session)


def calendar() -> Calendar:
    found = catalogue().calendar(ACADEMY, SESSION)
    assert found is not None, "the real catalogue has no aix-marseille 2026 calendar"
    return found


def facts(
    now: datetime = INSIDE,
    *,
    session: int = SESSION,
    specialty: str = SPECIALTY,
    first_form: FirstForm | None = None,
    staff: bool = False,
    granted: Iterable[GrantedBenefit] = (),
    in_calendar: Calendar | None = None,
    candidate: KnownCandidate | None = ACTIVATED,
) -> Facts:
    """The facts the handler would gather; `in_calendar` replaces the real calendar (and its window)."""
    chosen = calendar() if in_calendar is None else in_calendar
    return Facts(
        now=now,
        calendar=chosen,
        window=window_label(chosen),
        regulation=regulation(specialty, session),
        rare_languages=catalogue().rare_languages,
        candidate=candidate,
        first_form=first_form,
        staff=staff,
        granted=tuple(granted),
    )


def started(
    category: Category = Category.INDIVIDUAL, session: int = SESSION, specialty: str = SPECIALTY
) -> RegistrationStarted:
    """The RegistrationStarted of CANDIDATE's registration (as StartRegistration produces it)."""
    return RegistrationStarted(
        registration_id=registration_id(CANDIDATE, session, specialty),
        candidate_id=CANDIDATE,
        academy=ACADEMY,
        session=session,
        specialty=specialty,
        category=category,
    )


def start(
    category: Category = Category.INDIVIDUAL, session: int = SESSION, specialty: str = SPECIALTY
) -> StartRegistration:
    return StartRegistration(
        candidate_id=CANDIDATE, academy=ACADEMY, session=session, specialty=specialty, category=category
    )


def given(*events: DomainEvent) -> RegistrationState:
    """Fold `evolve` over the events, from INITIAL."""
    state = INITIAL
    for event in events:
        state = evolve(state, event)
    return state


def run(history: Iterable[DomainEvent], *commands: Command, with_facts: Facts | None = None) -> list[DomainEvent]:
    """The history plus the events each command produces in turn (each must be accepted)."""
    events = list(history)
    for command in commands:
        events += decide(command, given(*events), with_facts or facts())
    return events


def ready(
    category: Category = Category.INDIVIDUAL,
    form: ExamForm = ExamForm.GLOBALE,
    units: tuple[str, ...] = (),
) -> list[DomainEvent]:
    """A started SIO-SISR registration with its form and language chosen: ready to confirm."""
    return run(
        [started(category)],
        ChooseExamForm(form=form, units=units),
        ChooseLanguage(language="anglais", teaching_followed=True),
    )


def confirmed(
    category: Category = Category.INDIVIDUAL,
    form: ExamForm = ExamForm.GLOBALE,
    units: tuple[str, ...] = (),
) -> list[DomainEvent]:
    """`ready(...)` then ConfirmRegistration: summary version 1 issued."""
    return run(ready(category, form, units), ConfirmRegistration())


def types(events: Iterable[DomainEvent]) -> list[str]:
    return [type(event).__name__ for event in events]
