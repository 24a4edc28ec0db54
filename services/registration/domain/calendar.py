"""The calendar of an académie's session (R-07, R-08) as an aggregate: staff set it (the latest
CalendarSet wins), the calendars of the data files are published once when the service starts."""

from __future__ import annotations

from typing import assert_never

from pydantic import BaseModel, ConfigDict

from services.registration.commands import CalendarCommand, SeedCalendar, SetCalendar
from shared.contracts.registration import CalendarSet
from shared.decider import Aggregate
from shared.errors import InvalidInput
from shared.events import DomainEvent
from shared.reference.calendars import Calendar, calendar_from_local


class CalendarState(BaseModel):
    model_config = ConfigDict(frozen=True)

    versions: int = 0

    @property
    def exists(self) -> bool:
        return self.versions > 0


def decide(command: CalendarCommand, state: CalendarState, facts: None) -> list[DomainEvent]:
    match command:
        case SetCalendar():
            if not command.reason.strip():
                raise InvalidInput("reason", "say why the calendar changes (it stays in the history)")
            return [calendar_set(calendar_of(command), command.reason.strip())]
        case SeedCalendar():
            if state.exists:
                return []  # published already (by this replica or another)
            calendar = command.calendar
            return [calendar_set(calendar, f"seeded from the data file ({calendar.source})")]
        case _:
            assert_never(command)


def calendar_of(command: SetCalendar) -> Calendar:
    try:
        return calendar_from_local(
            command.academy,
            command.session,
            opens=command.opens,
            closes=command.closes,
            documents_deadline=command.documents_deadline,
            amex_deadline=command.amex_deadline,
            convocations_from=command.convocations_from,
            source=command.source,
        )
    except ValueError as error:
        raise InvalidInput("calendar", str(error).splitlines()[0]) from None


def calendar_set(calendar: Calendar, reason: str) -> CalendarSet:
    return CalendarSet(
        academy=calendar.academy,
        session=calendar.session,
        registration_opens=calendar.registration_opens,
        registration_closes=calendar.registration_closes,
        documents_deadline=calendar.documents_deadline,
        amex_deadline=calendar.amex_deadline,
        convocations_from=calendar.convocations_from,
        reason=reason,
    )


def evolve(state: CalendarState, event: DomainEvent) -> CalendarState:
    return state.model_copy(update={"versions": state.versions + 1}) if isinstance(event, CalendarSet) else state


CALENDAR = Aggregate("calendar", CalendarState(), evolve, decide)
