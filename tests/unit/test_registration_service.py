"""The registration service's new pure parts: R-04 decided by the domain on the candidate fact, the
calendar and schedule deciders, the facts gathered through the in-memory fake (given/when), the
scope of a command and the stream ids."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from services.registration.commands import (
    ChangeCategory,
    EntryInput,
    OnRegistration,
    PublishSchedule,
    RegistrationKey,
    SeedCalendar,
    SetCalendar,
)
from services.registration.domain import INITIAL, REGISTRATION, FirstForm, GrantedBenefit, KnownCandidate, decide
from services.registration.domain.calendar import CALENDAR
from services.registration.domain.schedule import SCHEDULE, ScheduleFacts
from services.registration.facts import InMemoryRegistrationFacts
from services.registration.queries import RegistrationQueries
from services.registration.service import RegistrationPorts, registration_facts, registration_scope
from services.registration.streams import registration_of, registration_stream
from shared.auth import Principal, Role
from shared.contracts.registration import CalendarSet, Category, SchedulePublished
from shared.decider import replay
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.pipeline import Call
from shared.reference import ExamForm
from tests.unit.registration_fixtures import (
    ACADEMY,
    CANDIDATE,
    INSIDE,
    SESSION,
    SPECIALTY,
    calendar,
    catalogue,
    facts,
    given,
    regulation,
    start,
    started,
    types,
)


@pytest.mark.parametrize(
    "candidate",
    [None, KnownCandidate(academy=ACADEMY, activated=False)],
    ids=["unknown", "not activated"],
)
def test_r04_only_an_activated_account_registers(candidate: KnownCandidate | None) -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(start(), INITIAL, facts(candidate=candidate))
    assert refused.value.rule == "R-04" and "activate" in refused.value.message


def test_r04_a_staff_account_or_another_academie_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(start(), INITIAL, facts(candidate=KnownCandidate(academy=ACADEMY, role="staff", activated=True)))
    assert refused.value.field == "candidate_id"
    with pytest.raises(InvalidInput, match="lille") as refused:
        decide(start(), INITIAL, facts(candidate=KnownCandidate(academy="lille", activated=True)))
    assert refused.value.field == "academy"


def test_a_change_of_a_registration_never_started_by_an_unknown_candidate_is_not_found() -> None:
    with pytest.raises(NotFound, match="start one first"):
        decide(ChangeCategory(category=Category.DISTANCE), INITIAL, facts(candidate=None))


def test_the_pipeline_decider_decides_the_addressed_command() -> None:
    key = RegistrationKey(candidate_id=CANDIDATE, session=SESSION, specialty=SPECIALTY)
    command = OnRegistration(key=key, command=ChangeCategory(category=Category.DISTANCE))
    assert types(REGISTRATION.decide(command, given(started()), facts())) == ["CategoryChanged"]


def _set(reason: str = "new dates", closes: str = "2025-12-01T17:00") -> SetCalendar:
    return SetCalendar(
        academy=ACADEMY,
        session=2027,
        opens="2025-10-01T08:00",
        closes=closes,
        reason=reason,
        source="staff:s-1",
    )


def test_calendar_set_by_staff_and_its_refusals() -> None:
    (event,) = CALENDAR.decide(_set(), CALENDAR.initial, None)
    assert isinstance(event, CalendarSet) and (event.academy, event.session, event.reason) == (
        ACADEMY,
        2027,
        "new dates",
    )
    with pytest.raises(InvalidInput) as refused:
        CALENDAR.decide(_set(reason="  "), CALENDAR.initial, None)
    assert refused.value.field == "reason"
    with pytest.raises(InvalidInput) as refused:
        CALENDAR.decide(_set(closes="2025-09-01T17:00"), CALENDAR.initial, None)
    assert refused.value.field == "calendar"


def test_a_seeded_calendar_is_published_once() -> None:
    seed = SeedCalendar(calendar=calendar())
    events = CALENDAR.decide(seed, CALENDAR.initial, None)
    assert types(events) == ["CalendarSet"] and "seeded from the data file" in events[0].reason  # type: ignore[attr-defined]
    assert CALENDAR.decide(seed, replay(CALENDAR, events), None) == []


def test_the_schedule_decider_publishes_the_latest_schedule() -> None:
    entry = EntryInput(unit="U1", starts_at="2026-05-12T08:00", duration_minutes=240, place="Lycée Thiers")
    command = PublishSchedule(academy=ACADEMY, session=SESSION, specialty=SPECIALTY, entries=(entry,), reason="r")
    at = ScheduleFacts(regulation=regulation(), rare_languages=catalogue().rare_languages)
    events = SCHEDULE.decide(command, SCHEDULE.initial, at)
    assert isinstance(events[0], SchedulePublished) and replay(SCHEDULE, events).latest == events[0]


async def test_given_known_facts_when_starting_then_the_facts_and_scope_are_the_candidates() -> None:
    candidate = KnownCandidate(academy=ACADEMY, activated=True)
    granted = GrantedBenefit(unit="U3", grade=Decimal(12), session_obtained=2025, valid_through_session=2030)
    first = FirstForm(form=ExamForm.GLOBALE, session=2025)
    fake = InMemoryRegistrationFacts(
        reference=catalogue(),
        candidates={CANDIDATE: candidate},
        first_forms={(CANDIDATE, SPECIALTY): first},
        benefits={(CANDIDATE, SPECIALTY): (granted,)},
    )
    ports = RegistrationPorts(fake, RegistrationQueries.__new__(RegistrationQueries), catalogue())
    key = RegistrationKey(candidate_id=CANDIDATE, session=SESSION, specialty=SPECIALTY)
    command = OnRegistration(key=key, command=start(Category.REPEATER))
    principal = Principal(subject=str(CANDIDATE), role=Role.CANDIDATE, academy=ACADEMY)
    call = Call(command, principal, "s", INITIAL, 0, INSIDE)
    found = await registration_facts(ports, call)
    assert (found.candidate, found.first_form, found.granted, found.calendar) == (
        candidate,
        first,
        (granted,),
        calendar(),
    )
    assert not found.staff and "octobre" in found.window
    scope = registration_scope(command, INITIAL, found)
    assert (scope.academy, scope.candidate_id) == (ACADEMY, CANDIDATE)
    assert types(REGISTRATION.decide(command, INITIAL, found)) == ["RegistrationStarted", "BenefitDeclared"]


async def test_an_unknown_specialty_is_invalid_before_deciding() -> None:
    ports = RegistrationPorts(
        InMemoryRegistrationFacts(), RegistrationQueries.__new__(RegistrationQueries), catalogue()
    )
    key = RegistrationKey(candidate_id=uuid4(), session=SESSION, specialty="BTS-INCONNU")
    call = Call(OnRegistration(key=key, command=start()), None, "s", INITIAL, 0, datetime(2025, 10, 20, tzinfo=UTC))
    with pytest.raises(InvalidInput) as refused:
        await registration_facts(ports, call)
    assert refused.value.field == "specialty"


def test_registration_stream_ids_round_trip() -> None:
    stream = registration_stream(CANDIDATE, 2026, "SIO-SISR")
    assert stream == f"registration-{CANDIDATE}-2026-SIO-SISR"
    assert registration_of(stream) == (CANDIDATE, 2026, "SIO-SISR")
    with pytest.raises(ValueError, match="not a registration stream"):
        registration_of("calendar-lyon-2026")
