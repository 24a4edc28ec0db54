"""Commands of the registration service, validated on construction (bad input names its field).

A registration's commands (`Command`) say what changes; `OnRegistration` addresses one of them to a
registration (candidate, session, specialty), which is what the pipeline executes. The calendar and
the test schedule have commands of their own."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.registration import Category, ExemptionGround
from shared.reference.calendars import Calendar
from shared.reference.forms import ExamForm

# Every string and list a command carries is bounded here, once (issue 13): a command over a bound
# is refused at the gRPC edge with INVALID_ARGUMENT naming the field, and no event can outgrow a
# Kafka record. tests/unit/test_command_bounds.py walks every command and fails on an unbounded one.
UnitCode = Annotated[str, StringConstraints(max_length=7, pattern=r"^[A-Z]{1,3}[0-9]{1,2}(\.[0-9])?$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Academy = Annotated[str, StringConstraints(max_length=60)]
LocalTime = Annotated[str, StringConstraints(max_length=40)]  # Paris, "YYYY-MM-DDTHH:MM"
MAX_UNITS = 30  # more than the units of any specialty (shared.reference)
MAX_SCHEDULE_ENTRIES = 50  # one call publishes a specialty's schedule: a few tests per unit


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StartRegistration(_Command):
    candidate_id: UUID
    academy: Academy
    session: int = Field(ge=2000, le=2100)
    specialty: Text
    category: Category


class ChangeCategory(_Command):
    category: Category


class ChooseExamForm(_Command):
    form: ExamForm
    units: tuple[UnitCode, ...] = Field(
        default=(), max_length=MAX_UNITS
    )  # progressive only: the units sat this session
    confirm_renounce: bool = False  # registering for a unit with a bénéfice renounces it


class ChooseLanguage(_Command):
    language: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]
    teaching_followed: bool


class ChooseOptionalUnits(_Command):
    units: tuple[UnitCode, ...] = Field(max_length=MAX_UNITS)


class DeclareBenefit(_Command):
    unit: UnitCode
    grade: Decimal = Field(ge=0, le=20, decimal_places=2)
    session_obtained: int = Field(ge=2000, le=2100)


class RenounceBenefit(_Command):
    unit: UnitCode
    confirm: bool = False


class DeclareExemption(_Command):
    unit: UnitCode
    ground: ExemptionGround
    detail: Text


class WithdrawExemption(_Command):
    unit: UnitCode


class DeclareSituation(_Command):
    training_shortened: bool = False
    r408_exemption: bool = False


class DeclareHandicap(_Command):
    handicap: bool
    amex_reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    existing_decision: bool = False


class ConfirmRegistration(_Command):
    pass


class SetNotRegistered(_Command):
    """Staff only (R-33)."""

    reason: Text


Command = (
    StartRegistration
    | ChangeCategory
    | ChooseExamForm
    | ChooseLanguage
    | ChooseOptionalUnits
    | DeclareBenefit
    | RenounceBenefit
    | DeclareExemption
    | WithdrawExemption
    | DeclareSituation
    | DeclareHandicap
    | ConfirmRegistration
    | SetNotRegistered
)


class RegistrationKey(_Command):
    """Which registration: one per candidate, session and specialty."""

    candidate_id: UUID
    session: int = Field(ge=2000, le=2100)
    specialty: Text


class OnRegistration(_Command):
    """A registration command addressed to its registration (what the pipeline executes)."""

    key: RegistrationKey
    command: Command


# -- the calendar of an académie's session (R-07, R-08) ---------------------------------------------


class SetCalendar(_Command):
    """Staff set the calendar in Paris local times ("YYYY-MM-DDTHH:MM"); `source` says who. The
    fields are checked by the domain when it builds the calendar (an error names "calendar")."""

    academy: Academy
    session: int
    opens: LocalTime
    closes: LocalTime
    documents_deadline: LocalTime | None = None
    amex_deadline: LocalTime | None = None
    convocations_from: LocalTime | None = None
    reason: Annotated[str, StringConstraints(max_length=1000)]
    source: Annotated[str, StringConstraints(max_length=200)]


class SeededCalendar(Calendar):
    """A calendar of the data files as SeedCalendar carries it: the reference Calendar, bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)

    academy: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    source: Annotated[str, StringConstraints(max_length=200)]


class SeedCalendar(_Command):
    """A calendar of the data files, published once as a CalendarSet (the service at start)."""

    calendar: SeededCalendar


CalendarCommand = SetCalendar | SeedCalendar


# -- the test schedule (R-26) -----------------------------------------------------------------------

MAX_DURATION_MINUTES = 12 * 60
Language = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=40)]


class EntryInput(_Command):
    unit: UnitCode
    starts_at: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ]  # Paris, "YYYY-MM-DDTHH:MM"
    duration_minutes: int = Field(ge=1, le=MAX_DURATION_MINUTES)
    place: Text
    language: Language = ""  # empty: every candidate of the specialty


class PublishSchedule(_Command):
    academy: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    session: int = Field(ge=2000, le=2100)
    specialty: Text
    entries: tuple[EntryInput, ...] = Field(min_length=1, max_length=MAX_SCHEDULE_ENTRIES)
    reason: Text
