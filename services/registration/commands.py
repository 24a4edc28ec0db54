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

UnitCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}[0-9]{1,2}(\.[0-9])?$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StartRegistration(_Command):
    candidate_id: UUID
    academy: str
    session: int = Field(ge=2000, le=2100)
    specialty: Text
    category: Category


class ChangeCategory(_Command):
    category: Category


class ChooseExamForm(_Command):
    form: ExamForm
    units: tuple[UnitCode, ...] = ()  # progressive only: the units sat this session
    confirm_renounce: bool = False  # registering for a unit with a bénéfice renounces it


class ChooseLanguage(_Command):
    language: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]
    teaching_followed: bool


class ChooseOptionalUnits(_Command):
    units: tuple[UnitCode, ...]


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

    academy: str
    session: int
    opens: str
    closes: str
    documents_deadline: str | None = None
    amex_deadline: str | None = None
    convocations_from: str | None = None
    reason: str
    source: str


class SeedCalendar(_Command):
    """A calendar of the data files, published once as a CalendarSet (the service at start)."""

    calendar: Calendar


CalendarCommand = SetCalendar | SeedCalendar


# -- the test schedule (R-26) -----------------------------------------------------------------------

MAX_DURATION_MINUTES = 12 * 60
Language = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=40)]


class EntryInput(_Command):
    unit: UnitCode
    starts_at: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]  # Paris, "YYYY-MM-DDTHH:MM"
    duration_minutes: int = Field(ge=1, le=MAX_DURATION_MINUTES)
    place: Text
    language: Language = ""  # empty: every candidate of the specialty


class PublishSchedule(_Command):
    academy: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    session: int = Field(ge=2000, le=2100)
    specialty: Text
    entries: tuple[EntryInput, ...] = Field(min_length=1)
    reason: Text
