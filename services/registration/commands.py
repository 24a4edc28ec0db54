"""Commands of the registration service, validated on construction (bad input names its field)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.registration.events import Category, ExemptionGround
from shared.reference.forms import ExamForm

UnitCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}[0-9]{1,2}(\.[0-9])?$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StartRegistration(Command):
    candidate_id: UUID
    academy: str
    session: int = Field(ge=2000, le=2100)
    specialty: Text
    category: Category


class ChangeCategory(Command):
    category: Category


class ChooseExamForm(Command):
    form: ExamForm
    units: tuple[UnitCode, ...] = ()  # progressive only: the units sat this session
    confirm_renounce: bool = False  # registering for a unit with a bénéfice renounces it


class ChooseLanguage(Command):
    language: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]
    teaching_followed: bool


class ChooseOptionalUnits(Command):
    units: tuple[UnitCode, ...]


class DeclareBenefit(Command):
    unit: UnitCode
    grade: Decimal = Field(ge=0, le=20, decimal_places=2)
    session_obtained: int = Field(ge=2000, le=2100)


class RenounceBenefit(Command):
    unit: UnitCode
    confirm: bool = False


class DeclareExemption(Command):
    unit: UnitCode
    ground: ExemptionGround
    detail: Text


class WithdrawExemption(Command):
    unit: UnitCode


class DeclareSituation(Command):
    training_shortened: bool = False
    r408_exemption: bool = False


class DeclareHandicap(Command):
    handicap: bool
    amex_reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    existing_decision: bool = False


class ConfirmRegistration(Command):
    pass


class SetNotRegistered(Command):
    """Staff only (R-33)."""

    reason: Text


CandidateCommand = (
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
)
