"""The deliberation's input (a unit's first-group result, a carried grade, the request of `archipel
deliberate`) and output (the outcome, the exact averages, the retained grades, the granted bénéfices),
with the rounding the averages are reported with. The rules are told in services.results.deliberation."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from math import floor
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from shared.errors import InvalidInput
from shared.reference.forms import ExamForm
from shared.reference.regulations import Number, Regulation


class Absence(StrEnum):
    JUSTIFIED = "justified"
    UNJUSTIFIED = "unjustified"


class Outcome(StrEnum):
    ADMIS = "ADMIS"
    AJOURNE = "AJOURNE"
    CONTROLE = "CONTROLE"
    ELIMINE = "ELIMINE"
    INCOMPLET = "INCOMPLET"


class Source(StrEnum):
    GRADE = "grade"
    BENEFIT = "benefit"
    CONTROLE = "controle"
    ABSENT = "absent"
    DISPENSED = "dispensed"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- input ---------------------------------------------------------------------------------------


class CarriedGrade(_Frozen):
    """A bénéfice: a grade obtained at an earlier `session` (R-14, R-15)."""

    grade: Number
    session: StrictInt


class UnitResult(_Frozen):
    """The first-group result of one unit: exactly one of a grade, an absence, an exemption, a bénéfice."""

    grade: Number | None = None
    absent: Absence | None = None
    dispensed: Literal[True] | None = None
    benefit: CarriedGrade | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> UnitResult:
        given = [name for name in ("grade", "absent", "dispensed", "benefit") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of grade, absent, dispensed, benefit"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class DeliberationRequest(_Frozen):
    """The input of `archipel deliberate`; `regulation` may be omitted when the catalogue has one for
    `specialty` and `session` (the caller resolves it)."""

    specialty: str | None = None
    session: StrictInt = Field(ge=1900, le=2999)
    form: ExamForm
    regulation: Regulation | None = None
    results: dict[str, UnitResult]
    controle: dict[str, Number] | None = None


def _field(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "input"


def parse_request(data: object) -> DeliberationRequest:
    """Validate the decoded JSON; the first problem becomes InvalidInput(field, reason)."""
    try:
        return DeliberationRequest.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "model_type":
            reason = "expected a JSON object"
        raise InvalidInput(_field(error["loc"]), reason) from None


# --- output --------------------------------------------------------------------------------------


def two_decimals(value: Fraction | Decimal) -> str:
    """`value` rounded half-up (away from zero on a tie, as ROUND_HALF_UP) to two decimals, computed
    exactly on the rational value."""
    scaled = Fraction(value) * 100
    hundredths = floor(abs(scaled) + Fraction(1, 2))
    return f"{Decimal(-hundredths if scaled < 0 else hundredths).scaleb(-2):.2f}"


def rounded_text(value: Fraction | Decimal | None) -> str | None:
    return None if value is None else two_decimals(value)


class RetainedUnit(_Frozen):
    retained: Decimal | None
    source: Source


class GrantedBenefit(_Frozen):
    """A bénéfice granted by this deliberation (the future BenefitGranted event)."""

    unit: str
    grade: Decimal
    valid_through_session: int


class Deliberation(_Frozen):
    """The deliberation's result; averages are exact Fractions, `as_json()` renders the contract."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    outcome: Outcome
    average: Fraction | None
    professional_average: Fraction | None
    final_average: Fraction | None = None
    controle_given: bool = False
    units: dict[str, RetainedUnit]
    benefits: tuple[GrantedBenefit, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The JSON object of `archipel deliberate` (`final_average` only when contrôle grades were given)."""
        output: dict[str, Any] = {
            "outcome": self.outcome.value,
            "average": rounded_text(self.average),
            "professional_average": rounded_text(self.professional_average),
        }
        if self.controle_given:
            output["final_average"] = rounded_text(self.final_average)
        output["units"] = {
            code: {"retained": rounded_text(unit.retained), "source": unit.source.value}
            for code, unit in self.units.items()
        }
        output["benefits"] = [
            {"unit": b.unit, "grade": two_decimals(b.grade), "valid_through_session": b.valid_through_session}
            for b in self.benefits
        ]
        return output
