"""The test schedule of a session (R-26) as an aggregate: staff of an académie publish, per specialty,
the date, time, duration and place of each unit's test, earlier tests (languages, rare languages)
included. Publishing again replaces the schedule: a new SchedulePublished on the same stream."""

from __future__ import annotations

from typing import assert_never

from pydantic import BaseModel, ConfigDict

from services.registration.commands import PublishSchedule
from shared.clock import PARIS
from shared.contracts.registration import ScheduledTest, SchedulePublished
from shared.decider import Aggregate
from shared.errors import InvalidInput
from shared.events import DomainEvent
from shared.reference.calendars import paris_to_utc
from shared.reference.regulations import Regulation


class ScheduleFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    regulation: Regulation
    rare_languages: frozenset[str] = frozenset()


class ScheduleState(BaseModel):
    model_config = ConfigDict(frozen=True)

    latest: SchedulePublished | None = None


ScheduleCommand = PublishSchedule


def decide(command: ScheduleCommand, state: ScheduleState, facts: ScheduleFacts) -> list[DomainEvent]:
    match command:
        case PublishSchedule():
            return [decide_schedule(command, facts.regulation, facts.rare_languages)]
        case _:
            assert_never(command)


def decide_schedule(
    command: PublishSchedule, regulation: Regulation, rare_languages: frozenset[str]
) -> SchedulePublished:
    """The event publishing `command`'s schedule; InvalidInput naming the entry's field otherwise."""
    titles = {u.code: u.title for u in regulation.units} | {u.code: u.title for u in regulation.optional_units}
    languages = set(regulation.languages) | set(rare_languages)
    tests: list[ScheduledTest] = []
    seen: set[tuple[str, str, str]] = set()
    for index, entry in enumerate(command.entries):
        where = f"entries.{index}"
        if entry.unit not in titles:
            known = ", ".join(sorted(titles))
            raise InvalidInput(f"{where}.unit", f"{entry.unit} is not a unit of {regulation.specialty} ({known})")
        try:
            starts_at = paris_to_utc(entry.starts_at)
        except ValueError as error:
            raise InvalidInput(f"{where}.starts_at", str(error)) from None
        if starts_at.astimezone(PARIS).year != command.session:
            raise InvalidInput(f"{where}.starts_at", f"the tests of session {command.session} are held that year")
        if entry.language and entry.language not in languages:
            raise InvalidInput(f"{where}.language", f"{entry.language!r} is not a language of {regulation.specialty}")
        key = (entry.unit, entry.language, starts_at.isoformat())
        if key in seen:
            raise InvalidInput(f"{where}", f"{entry.unit} at {entry.starts_at} is listed twice")
        seen.add(key)
        tests.append(
            ScheduledTest(
                unit=entry.unit,
                title=titles[entry.unit],
                starts_at=starts_at,
                duration_minutes=entry.duration_minutes,
                place=entry.place,
                language=entry.language or None,
            )
        )
    return SchedulePublished(
        academy=command.academy,
        session=command.session,
        specialty=command.specialty,
        specialty_title=regulation.title,
        entries=tuple(sorted(tests, key=lambda t: (t.starts_at, t.unit, t.language or ""))),
        reason=command.reason,
    )


def evolve(state: ScheduleState, event: DomainEvent) -> ScheduleState:
    return state.model_copy(update={"latest": event}) if isinstance(event, SchedulePublished) else state


SCHEDULE = Aggregate("schedule", ScheduleState(), evolve, decide)
