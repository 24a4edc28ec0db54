"""The test schedule of a session (R-26): staff of an académie publish, per specialty, the date, time,
duration and place of each unit's test, earlier tests (languages, rare languages) included.
Publishing again replaces the schedule: a new SchedulePublished on `schedule-<academy>-<session>-<specialty>`.

`decide_schedule` is pure (the command, the regulation and the known languages in, the event out);
`ScheduleHandlers` authorises, loads the stream's version and appends."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.registration.commands import Text, UnitCode
from services.registration.events import ScheduledTest, SchedulePublished
from shared.auth import Principal, Role
from shared.clock import PARIS, Clock
from shared.errors import InvalidInput, NotFound, PermissionDenied
from shared.events import CommandContext
from shared.eventstore import EventStore
from shared.reference import ReferenceData, Regulation, paris_to_utc
from shared.telemetry import current_context_carrier

MAX_DURATION_MINUTES = 12 * 60
Language = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=40)]


class EntryInput(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: UnitCode
    starts_at: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]  # Paris, "YYYY-MM-DDTHH:MM"
    duration_minutes: int = Field(ge=1, le=MAX_DURATION_MINUTES)
    place: Text
    language: Language = ""  # empty: every candidate of the specialty


class PublishSchedule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    academy: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    session: int = Field(ge=2000, le=2100)
    specialty: Text
    entries: tuple[EntryInput, ...] = Field(min_length=1)
    reason: Text


def schedule_stream(academy: str, session: int, specialty: str) -> str:
    return f"schedule-{academy}-{session}-{specialty}"


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


class ScheduleHandlers:
    def __init__(self, store: EventStore, clock: Clock, reference: ReferenceData) -> None:
        self.store = store
        self.clock = clock
        self.reference = reference

    def _regulation(self, specialty: str, session: int) -> Regulation:
        if specialty not in self.reference.specialties():
            raise InvalidInput("specialty", f"unknown specialty {specialty!r}")
        try:
            return self.reference.regulation(specialty, session)
        except LookupError as error:
            raise InvalidInput("session", str(error)) from None

    async def publish(self, principal: Principal, command: PublishSchedule) -> tuple[SchedulePublished, int]:
        principal.require_writer()
        if principal.role is not Role.STAFF or principal.academy != command.academy:
            raise PermissionDenied("only staff of this académie publish its test schedule")
        event = decide_schedule(
            command, self._regulation(command.specialty, command.session), self.reference.rare_languages
        )
        stream = schedule_stream(command.academy, command.session, command.specialty)
        version = len(await self.store.read_stream(stream))
        context = CommandContext(
            academy=command.academy,
            actor=f"{principal.role.value}:{principal.subject}",
            occurred_at=self.clock(),
            trace_context=current_context_carrier(),
        )
        await self.store.append(stream, version, [event], context)
        return event, version + 1

    async def get(self, academy: str, session: int, specialty: str) -> tuple[SchedulePublished, int]:
        envelopes = await self.store.read_stream(schedule_stream(academy, session, specialty))
        if not envelopes:
            raise NotFound(f"no test schedule published for {specialty}, session {session}, {academy}")
        latest = envelopes[-1].payload
        assert isinstance(latest, SchedulePublished)
        return latest, len(envelopes)
