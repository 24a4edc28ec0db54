"""The deliberation of one candidate at one session: a PURE function of the regulation, the exam form,
the session, the first-group results and the contrôle grades (DESIGN rule 1: standard library, pydantic
and the service's own models only). Rules: R-13 to R-17, R-27 to R-32.

Arithmetic is exact: grades and coefficients are Decimals (never binary floats), averages are Fractions,
and the thresholds 8 and 10 are compared on the exact values. Averages are REPORTED rounded half-up
(ROUND_HALF_UP, computed exactly on the fraction) to two decimals, as strings: 10.005 -> "10.01",
10.004999 -> "10.00".

The computation
- average (R-28, R-13, R-14, R-17): sum of coefficient x retained grade over the compulsory units that are
  not dispensed, plus, for each optional unit, coefficient x (grade - 10) when positive, divided by the sum
  of the coefficients of those compulsory units. A carried grade (bénéfice) counts as a grade.
- professional_average (R-29): the same over the compulsory professional-domain units only, without the
  optional bonus.
- outcome before contrôle: ADMIS when average >= 10; CONTROLE ("may sit the épreuves de contrôle") when
  8 <= average < 10 and professional_average >= 10; AJOURNE otherwise.
- contrôle (R-30, R-31): at most two compulsory general-domain units, each keeping the better of its two
  grades; final_average is the average with those retained grades; ADMIS when >= 10, else AJOURNE.

Interpretation decisions (each one a choice the rules leave open; tests pin them)
1. Absences (R-27). Any absence retains the grade 0 (`retained` "0.00", source "absent"). A justified
   absence (force majeure) is a grade of 0: it counts 0 in the averages and makes the unit complete for
   forme progressive. An unjustified absence from a COMPULSORY unit eliminates. An absence from an
   OPTIONAL unit never eliminates and adds nothing (0 - 10 < 0).
2. ELIMINE wins over every other outcome, INCOMPLET included. The averages of an eliminated candidate
   are still computed and reported when every compulsory unit is there (the unjustified absences count
   0), so the score sheet shows them; they are null when units are missing (forme progressive).
3. "Refused" after the contrôle (R-31) is AJOURNE; `average` stays the first-group average,
   `final_average` is the one after the contrôle, and `units` shows the grades finally retained
   (source "controle" where the contrôle grade is strictly better; on a tie the first grade stays).
4. Benefits (R-14, R-15) are granted to every candidate who is not admitted after a complete
   deliberation or who is eliminated: AJOURNE (also after a failed contrôle) and ELIMINE (an eliminated
   candidate has failed, and the grades obtained at the other units are genuine). Granted: the units
   graded AT THIS SESSION (source "grade" or "controle", compulsory or optional) whose retained grade is
   >= 10 in forme globale, or any such grade in forme progressive; valid through session + 5. A carried
   grade is not granted again (its validity runs from the session it was obtained), nor is an absence
   (no grade was obtained) nor an exemption. ADMIS, CONTROLE (deliberation not finished) and INCOMPLET
   (forme progressive, nothing to refuse yet: the grades stay in the candidate's progression) get none.
5. Forme progressive: the outcome is INCOMPLET while a compulsory unit has no result (grade, carried
   grade, justified absence or exemption); its averages are null and `units` lists the units present.
   Carried grades below 10 are allowed and count (R-15).
6. `professional_average` is null when no professional unit counts (all dispensed by VAE, or none in
   the regulation); the contrôle condition "professional average >= 10" is then NOT met (it cannot be
   checked), so such a candidate between 8 and 10 is AJOURNE.
7. `units` has an entry for every compulsory and optional unit present in the results, in the order of
   the regulation: `retained` is the grade retained as a two-decimal string, null only for a dispensed
   unit (source "dispensed") Grades may carry more decimals (they count exactly); they are only
   shown rounded. A float given programmatically is read through its shortest repr, never its binary value.
8. Contrôle grades are accepted only for a candidate whose first-group outcome is CONTROLE; a contrôle
   unit must be a compulsory general-domain unit that was not dispensed (a carried grade or a justified
   absence may be retaken: the better grade is kept). An empty `controle` is "no contrôle grades given".
9. Invalid inputs (InvalidInput naming the field): besides the contract's list, more than two optional
   units (R-13), a carried grade from the session itself or a later one, and a candidate whose every
   compulsory unit is dispensed (no average exists to deliberate on).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from math import floor
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from shared.errors import InvalidInput
from shared.reference.forms import ExamForm
from shared.reference.regulations import Domain, Number, OptionalUnit, Regulation, Unit
from shared.reference.rules import (
    BENEFIT_SESSIONS,
    CONTROLE_FLOOR,
    MAX_CONTROLE_UNITS,
    MAX_GRADE,
    MAX_OPTIONAL_UNITS,
    PASS_GRADE,
)


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


def _text(value: Fraction | Decimal | None) -> str | None:
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
            "average": _text(self.average),
            "professional_average": _text(self.professional_average),
        }
        if self.controle_given:
            output["final_average"] = _text(self.final_average)
        output["units"] = {
            code: {"retained": _text(unit.retained), "source": unit.source.value} for code, unit in self.units.items()
        }
        output["benefits"] = [
            {"unit": b.unit, "grade": two_decimals(b.grade), "valid_through_session": b.valid_through_session}
            for b in self.benefits
        ]
        return output


# --- the deliberation ----------------------------------------------------------------------------


def _check_grade(value: Decimal, field: str) -> None:
    if not 0 <= value <= MAX_GRADE:
        raise InvalidInput(field, f"must be between 0 and 20 (got {value})")


def _check_results(regulation: Regulation, form: ExamForm, session: int, results: Mapping[str, UnitResult]) -> None:
    known = [u.code for u in regulation.units] + [u.code for u in regulation.optional_units]
    unknown = sorted(set(results) - set(known))
    if unknown:
        raise InvalidInput(f"results.{unknown[0]}", f"unknown unit (the regulation has {', '.join(known)})")
    optional = [u.code for u in regulation.optional_units if u.code in results]
    if len(optional) > MAX_OPTIONAL_UNITS:
        raise InvalidInput("results", f"at most {MAX_OPTIONAL_UNITS} optional units (R-13), got {', '.join(optional)}")
    for code in known:
        entry = results.get(code)
        if entry is None:
            continue
        if entry.grade is not None:
            _check_grade(entry.grade, f"results.{code}.grade")
        if entry.benefit is not None:
            carried = entry.benefit
            _check_grade(carried.grade, f"results.{code}.benefit.grade")
            age = session - carried.session
            if age < 1:
                raise InvalidInput(
                    f"results.{code}.benefit.session", f"a carried grade comes from a session before {session}"
                )
            if age > BENEFIT_SESSIONS:
                raise InvalidInput(
                    f"results.{code}.benefit.session",
                    f"a carried grade is kept five sessions (R-14, R-15): obtained in {carried.session}, "
                    f"valid through {carried.session + BENEFIT_SESSIONS}, not {session}",
                )
            if form is ExamForm.GLOBALE and Fraction(carried.grade) < PASS_GRADE:
                raise InvalidInput(
                    f"results.{code}.benefit.grade",
                    f"in forme globale only grades of 10 or more are carried (R-14), got {carried.grade}",
                )


def _first_group(entry: UnitResult) -> RetainedUnit:
    if entry.grade is not None:
        return RetainedUnit(retained=entry.grade, source=Source.GRADE)
    if entry.benefit is not None:
        return RetainedUnit(retained=entry.benefit.grade, source=Source.BENEFIT)
    if entry.absent is not None:
        return RetainedUnit(retained=Decimal(0), source=Source.ABSENT)  # 0 (or elimination)
    return RetainedUnit(retained=None, source=Source.DISPENSED)  # out of the average


def _average(
    units: tuple[Unit, ...], optional_units: tuple[OptionalUnit, ...], retained: Mapping[str, RetainedUnit]
) -> Fraction | None:
    # Sums of two-decimal grades times coefficients are exact in Decimal (28 significant digits);
    # one Fraction is made at the end for the exact division and the threshold comparisons.
    total, weights = Decimal(0), Decimal(0)
    for unit in units:
        grade = retained[unit.code].retained
        if grade is not None:
            total += unit.coefficient * grade
            weights += unit.coefficient
    if not weights:
        return None
    for option in optional_units:
        kept = retained.get(option.code)
        if kept is not None and kept.retained is not None and kept.retained > PASS_GRADE:
            total += option.coefficient * (kept.retained - PASS_GRADE)
    return Fraction(total) / Fraction(weights)


def _check_controle(regulation: Regulation, results: Mapping[str, UnitResult], controle: Mapping[str, Decimal]) -> None:
    if len(controle) > MAX_CONTROLE_UNITS:
        raise InvalidInput("controle", f"at most {MAX_CONTROLE_UNITS} units are retaken (R-30), got {len(controle)}")
    for code in sorted(controle):
        unit = regulation.unit(code)
        if unit is None:
            what = "an optional unit" if regulation.optional_unit(code) is not None else "an unknown unit"
            raise InvalidInput(f"controle.{code}", f"{what}: only compulsory general-domain units are retaken (R-30)")
        if unit.domain is not Domain.GENERAL:
            raise InvalidInput(
                f"controle.{code}", f"a {unit.domain} unit: only general-domain units are retaken (R-30)"
            )
        entry = results.get(code)
        if entry is None:
            raise InvalidInput(f"controle.{code}", "the unit has no first-group result to retake")
        if entry.dispensed:
            raise InvalidInput(f"controle.{code}", "a dispensed unit has no grade to retake (R-17)")
        _check_grade(controle[code], f"controle.{code}")


def deliberate(
    regulation: Regulation,
    form: ExamForm,
    session: int,
    results: Mapping[str, UnitResult],
    controle: Mapping[str, Decimal] | None = None,
) -> Deliberation:
    """Deliberate (see the module docstring). Raises InvalidInput naming the field for invalid input."""
    _check_results(regulation, form, session, results)
    missing = [u.code for u in regulation.units if u.code not in results]
    if missing and form is ExamForm.GLOBALE:
        raise InvalidInput(
            f"results.{missing[0]}",
            "missing: in forme globale every compulsory unit has a result (grade, absence, exemption or carried grade)",
        )
    codes = [u.code for u in regulation.units] + [u.code for u in regulation.optional_units]
    present = [code for code in codes if code in results]
    retained = {code: _first_group(results[code]) for code in present}
    eliminated = any(results[u.code].absent is Absence.UNJUSTIFIED for u in regulation.units if u.code in results)

    average: Fraction | None = None
    professional: Fraction | None = None
    if not missing:
        average = _average(regulation.units, regulation.optional_units, retained)
        if average is None:
            raise InvalidInput("results", "every compulsory unit is dispensed: there is no average to deliberate on")
        professional_units = tuple(u for u in regulation.units if u.domain is Domain.PROFESSIONAL)
        professional = _average(professional_units, (), retained)

    if eliminated:
        outcome = Outcome.ELIMINE
    elif average is None:
        outcome = Outcome.INCOMPLET  # forme progressive, a unit still missing
    elif average >= PASS_GRADE:
        outcome = Outcome.ADMIS
    elif average >= CONTROLE_FLOOR and professional is not None and professional >= PASS_GRADE:
        outcome = Outcome.CONTROLE
    else:
        outcome = Outcome.AJOURNE

    final = None
    if controle:
        _check_controle(regulation, results, controle)
        if outcome is not Outcome.CONTROLE:
            raise InvalidInput(
                "controle",
                f"the candidate may not sit the épreuves de contrôle (R-29): outcome {outcome.value}, "
                f"average {_text(average)}, professional average {_text(professional)}",
            )
        for code, grade in controle.items():
            first = retained[code].retained
            if first is None or grade > first:  # the better of the two grades
                retained[code] = RetainedUnit(retained=grade, source=Source.CONTROLE)
        final = _average(regulation.units, regulation.optional_units, retained)
        outcome = Outcome.ADMIS if final is not None and final >= PASS_GRADE else Outcome.AJOURNE

    benefits: tuple[GrantedBenefit, ...] = ()
    if outcome in (Outcome.AJOURNE, Outcome.ELIMINE):
        benefits = tuple(
            GrantedBenefit(unit=code, grade=kept.retained, valid_through_session=session + BENEFIT_SESSIONS)
            for code, kept in retained.items()
            if kept.retained is not None
            and kept.source in (Source.GRADE, Source.CONTROLE)
            and (form is ExamForm.PROGRESSIVE or Fraction(kept.retained) >= PASS_GRADE)
        )
    return Deliberation(
        outcome=outcome,
        average=average,
        professional_average=professional,
        final_average=final,
        controle_given=bool(controle),
        units=retained,
        benefits=benefits,
    )


def deliberate_request(request: DeliberationRequest, regulation: Regulation) -> Deliberation:
    """`deliberate` on a parsed request, with the regulation the caller resolved."""
    return deliberate(regulation, request.form, request.session, request.results, request.controle)
