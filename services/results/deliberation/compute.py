"""The deliberation itself: checking the first-group results and the contrôle grades against the
regulation, the exact averages, the outcome and the bénéfices (services.results.deliberation tells
the rules and the interpretation decisions)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from services.results.deliberation.model import (
    Absence,
    Deliberation,
    DeliberationRequest,
    GrantedBenefit,
    Outcome,
    RetainedUnit,
    Source,
    UnitResult,
    rounded_text,
)
from shared.errors import InvalidInput
from shared.reference.forms import ExamForm
from shared.reference.regulations import Domain, OptionalUnit, Regulation, Unit
from shared.reference.rules import (
    BENEFIT_SESSIONS,
    CONTROLE_FLOOR,
    MAX_CONTROLE_UNITS,
    MAX_GRADE,
    MAX_OPTIONAL_UNITS,
    PASS_GRADE,
)


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
                f"average {rounded_text(average)}, professional average {rounded_text(professional)}",
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
