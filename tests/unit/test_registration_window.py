"""Registration window (R-07, R-08) and SetNotRegistered outside it (R-33): given events, when command,
then events or the rule's refusal. Aix-Marseille 2026 opens Friday 10 October 2025 08:00 Paris (CEST,
06:00 UTC) and closes Wednesday 12 November 2025 17:00 Paris (CET, 16:00 UTC): the window spans the
change to winter time on Sunday 26 October 2025 (03:00 CEST -> 02:00 CET, at 01:00 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from services.registration.commands import (
    ChangeCategory,
    ChooseExamForm,
    ChooseLanguage,
    Command,
    ConfirmRegistration,
    DeclareHandicap,
    SetNotRegistered,
)
from services.registration.domain import INITIAL, Facts, decide
from shared.clock import PARIS
from shared.contracts.registration import (
    Category,
    CategoryChanged,
    ExamFormChosen,
    RegistrationSetNotRegistered,
    RegistrationStarted,
)
from shared.errors import RuleViolation
from shared.reference import CalendarFieldError, ExamForm, calendar_from_local, paris_to_utc
from tests.unit.registration_fixtures import CLOSES, OPENS, calendar, facts, given, ready, start, started, types

SECOND = timedelta(seconds=1)
WINDOW = "du vendredi 10 octobre 2025 à 08:00 au mercredi 12 novembre 2025 à 17:00 (heure de Paris)"


def test_r07_the_real_calendar_opens_at_0600_utc_and_closes_at_1600_utc() -> None:
    """R-07: 08:00 Paris in summer time is 06:00 UTC; 17:00 Paris in winter time is 16:00 UTC."""
    assert (calendar().registration_opens, calendar().registration_closes) == (OPENS, CLOSES)


def test_r07_start_accepted_exactly_at_the_opening_minute() -> None:
    events = decide(start(), INITIAL, facts(now=OPENS))
    assert events == [started()]


def test_r07_start_refused_one_second_before_opening_with_the_window_in_french() -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(start(), INITIAL, facts(now=OPENS - SECOND))
    assert refused.value.rule == "R-07"
    assert "not open yet" in refused.value.message
    assert WINDOW in refused.value.message


def test_r07_opening_compared_as_instants_whatever_the_zone_of_now() -> None:
    """R-07: 07:59:59 Paris is refused and 08:00 Paris accepted, when `now` is given in Paris time."""
    with pytest.raises(RuleViolation, match=r"\(R-07\)"):
        decide(start(), INITIAL, facts(now=datetime(2025, 10, 10, 7, 59, 59, tzinfo=PARIS)))
    assert types(decide(start(), INITIAL, facts(now=datetime(2025, 10, 10, 8, 0, tzinfo=PARIS)))) == [
        "RegistrationStarted"
    ]


def test_r08_change_refused_exactly_at_the_closing_minute() -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(ChangeCategory(category=Category.DISTANCE), given(started()), facts(now=CLOSES))
    assert refused.value.rule == "R-08"
    assert "closed" in refused.value.message
    assert WINDOW in refused.value.message


def test_r08_change_accepted_one_second_before_closing() -> None:
    events = decide(ChangeCategory(category=Category.DISTANCE), given(started()), facts(now=CLOSES - SECOND))
    assert events == [CategoryChanged(category=Category.DISTANCE)]


def test_r08_closing_is_17_00_paris_winter_time_not_summer_time() -> None:
    """R-08: a window compared with a fixed UTC+2 offset would close at 15:00 UTC; 15:30 UTC is still open."""
    events = decide(
        ChangeCategory(category=Category.DISTANCE), given(started()), facts(now=CLOSES - timedelta(minutes=30))
    )
    assert types(events) == ["CategoryChanged"]


@pytest.mark.parametrize(
    "command",
    [
        start(),
        ChangeCategory(category=Category.REPEATER),
        ChooseExamForm(form=ExamForm.GLOBALE),
        ChooseLanguage(language="anglais", teaching_followed=True),
        DeclareHandicap(handicap=False),
        ConfirmRegistration(),
    ],
    ids=lambda command: type(command).__name__,
)
def test_r08_nothing_is_created_or_modified_after_the_close(command: Command) -> None:
    state = INITIAL if command == start() else given(*ready())
    with pytest.raises(RuleViolation, match=r"\(R-08\)$"):
        decide(command, state, facts(now=CLOSES + timedelta(days=3)))


def test_r07_no_calendar_for_the_academy_and_session_refuses() -> None:
    no_calendar = facts().model_copy(update={"calendar": None})
    with pytest.raises(RuleViolation, match="no registration calendar") as refused:
        decide(start(), INITIAL, no_calendar)
    assert refused.value.rule == "R-07"


@pytest.mark.parametrize(
    "now",
    [
        datetime(2025, 10, 26, 0, 30, tzinfo=UTC),  # 02:30 CEST, first occurrence
        datetime(2025, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET, second occurrence
        datetime(2025, 10, 26, 2, 30, tzinfo=UTC),  # 03:30 CET
    ],
)
def test_r07_commands_accepted_on_the_autumn_dst_change_day(now: datetime) -> None:
    """R-07, R-08: the window compares instants, so the hour repeated on 26 Oct 2025 is inside it."""
    assert calendar().registration_open(now)
    events = decide(ChooseExamForm(form=ExamForm.GLOBALE), given(started()), facts(now=now))
    assert events == [ExamFormChosen(form=ExamForm.GLOBALE, units=())]


def _dst_facts(closes_local: str, now: datetime) -> Facts:
    dst_calendar = calendar_from_local("aix-marseille", 2026, "2026-03-01T08:00", closes_local)
    return facts(now=now, in_calendar=dst_calendar)


def test_r08_closing_on_the_spring_dst_change_day_is_the_right_utc_instant() -> None:
    """R-08: 03:30 Paris on 29 March 2026 is summer time already (02:00 -> 03:00), i.e. 01:30 UTC."""
    closes = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert paris_to_utc("2026-03-29T03:30") == closes
    assert types(decide(start(), INITIAL, _dst_facts("2026-03-29T03:30", closes - SECOND))) == ["RegistrationStarted"]
    with pytest.raises(RuleViolation) as refused:
        decide(start(), INITIAL, _dst_facts("2026-03-29T03:30", closes))
    assert refused.value.rule == "R-08"
    assert "dimanche 29 mars 2026 à 03:30" in refused.value.message


def test_r08_closing_in_the_repeated_autumn_hour_is_its_first_occurrence() -> None:
    """R-08: 02:30 Paris on 26 Oct 2025 happens twice; the window closes at the first one (00:30 UTC)."""
    closes = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    dst_calendar = calendar_from_local("aix-marseille", 2026, "2025-10-01T08:00", "2025-10-26T02:30")
    assert dst_calendar.registration_closes == closes
    at = facts(now=closes - SECOND, in_calendar=dst_calendar)
    assert types(decide(start(), INITIAL, at)) == ["RegistrationStarted"]
    with pytest.raises(RuleViolation, match=r"\(R-08\)"):
        decide(start(), INITIAL, at.model_copy(update={"now": closes}))


def test_r07_a_closing_time_in_the_spring_gap_is_refused_naming_the_field() -> None:
    """R-07: 02:30 Paris does not exist on 29 March 2026; the calendar is not built on a guess."""
    with pytest.raises(CalendarFieldError) as error:
        calendar_from_local("aix-marseille", 2026, "2026-03-01T08:00", "2026-03-29T02:30")
    assert error.value.field == "registration_closes"


def test_r33_staff_sets_not_registered_even_outside_the_window() -> None:
    events = decide(
        SetNotRegistered(reason="left"), given(started()), facts(now=CLOSES + timedelta(days=60), staff=True)
    )
    assert events == [RegistrationSetNotRegistered(reason="left")]


_AROUND = st.datetimes(
    min_value=datetime(2025, 10, 5),  # noqa: DTZ001 (hypothesis draws naive values, made aware below)
    max_value=datetime(2025, 11, 17),  # noqa: DTZ001
)


@settings(max_examples=300, deadline=None)
@hypothesis_given(
    naive=_AROUND
    | st.sampled_from([OPENS, CLOSES, OPENS - SECOND, CLOSES - SECOND]).map(lambda t: t.replace(tzinfo=None)),
    in_paris=st.booleans(),
)
def test_r07_r08_property_a_command_is_accepted_iff_opens_le_now_lt_closes(naive: datetime, in_paris: bool) -> None:
    """R-07, R-08: for any instant t, StartRegistration is accepted iff opens <= t < closes; before, R-07;
    from the close, R-08 (whether `now` is expressed in UTC or Paris time)."""
    instant = naive.replace(tzinfo=UTC)
    now = instant.astimezone(PARIS) if in_paris else instant
    if OPENS <= instant < CLOSES:
        events = decide(start(), INITIAL, facts(now=now))
        assert len(events) == 1
        assert isinstance(events[0], RegistrationStarted)
    else:
        with pytest.raises(RuleViolation) as refused:
            decide(start(), INITIAL, facts(now=now))
        assert refused.value.rule == ("R-07" if instant < OPENS else "R-08")
