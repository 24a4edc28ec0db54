"""Results domain: one aggregate per candidate, session and specialty (pure decide/evolve).

Grades and absences are recorded per unit; a correction is a new event with its reason, nothing is
overwritten. Deliberating applies services.results.deliberation (R-13 to R-17, R-27 to R-32) with the
regulation of the candidate's session (its facts); its outcome, the final result and the granted
bénéfices are events. The state and its evolve are in services.results.state; `RESULTS` is the decider.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import assert_never

from pydantic import BaseModel, ConfigDict

from services.results.commands import Command, Deliberate, NoteRegistration, RecordAbsence, RecordControle, RecordGrade
from services.results.deliberation import (
    Absence,
    CarriedGrade,
    Deliberation,
    Outcome,
    UnitResult,
    deliberate,
    two_decimals,
)
from services.results.state import INITIAL, ResultsState, evolve
from shared.contracts.results import (
    AbsenceRecorded,
    BenefitGranted,
    Carried,
    ControleResultRecorded,
    DeliberationCompleted,
    FinalResultPublished,
    GradesRecorded,
    RegistrationNoted,
    UnitOutcome,
)
from shared.decider import Aggregate
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.events import DomainEvent
from shared.reference.forms import ExamForm
from shared.reference.regulations import Regulation
from shared.reference.rules import BENEFIT_SESSIONS

FINAL = frozenset({Outcome.ADMIS, Outcome.AJOURNE, Outcome.ELIMINE})


class ResultsFacts(BaseModel):
    """What decide needs from outside the stream: the regulation of the candidate's specialty and
    session (R-32), for the commands that deliberate (None for the others)."""

    model_config = ConfigDict(frozen=True)

    regulation: Regulation | None = None


NO_FACTS = ResultsFacts()


def decide(command: Command, state: ResultsState, facts: ResultsFacts = NO_FACTS) -> list[DomainEvent]:
    if not isinstance(command, NoteRegistration) and not state.registered:
        raise NotFound("no confirmed registration is known for this candidate, session and specialty")
    match command:
        case NoteRegistration():
            return _note(state, command)
        case RecordGrade() | RecordAbsence():
            return _record(state, command)
        case Deliberate():
            return _deliberate(state, _regulation(facts))
        case RecordControle():
            return _controle(state, command, _regulation(facts))
        case _:
            assert_never(command)


def _regulation(facts: ResultsFacts) -> Regulation:
    assert facts.regulation is not None, "deliberating needs the regulation of the session (R-32)"
    return facts.regulation


def _note(state: ResultsState, command: NoteRegistration) -> list[DomainEvent]:
    if command.source_event_id in state.sources or state.outcome is not None:
        # A redelivery, or a registration change arriving after the jury deliberated (the window
        # closed long before): neither changes the results.
        return []
    return [RegistrationNoted(**command.model_dump())]


def _record(state: ResultsState, command: RecordGrade | RecordAbsence) -> list[DomainEvent]:
    if state.outcome is not None and state.outcome != Outcome.INCOMPLET:
        # INCOMPLET (forme progressive) is not a decision: the missing results may still come in.
        raise RuleViolation("R-31", "the jury has deliberated: first-group results can no longer change")
    if command.unit not in state.units and command.unit not in state.optional_units:
        sat = ", ".join((*state.units, *state.optional_units)) or "none"
        raise InvalidInput("unit", f"{command.unit} is not a unit the candidate sits this session (sat: {sat})")
    previous = state.marks.get(command.unit)
    if previous is not None:
        if isinstance(command, RecordGrade):
            unchanged = previous.grade == command.grade
        else:
            unchanged = previous.grade is None and previous.justified_absence == command.justified
        if unchanged:
            return []  # the same result again (a redelivery): nothing to correct
        if not command.reason:
            raise InvalidInput(
                "reason", f"{command.unit} has {previous.describe()} already: a correction needs its reason"
            )
    described = previous.describe() if previous else None
    if isinstance(command, RecordGrade):
        return [GradesRecorded(unit=command.unit, grade=command.grade, previous=described, reason=command.reason)]
    return [AbsenceRecorded(unit=command.unit, justified=command.justified, previous=described, reason=command.reason)]


def first_group(state: ResultsState) -> dict[str, UnitResult]:
    """The deliberation's input, from what was recorded and what the registration said."""
    results: dict[str, UnitResult] = {}
    for code in state.exempted_units:
        results[code] = UnitResult(dispensed=True)
    for benefit in state.benefits:
        results[benefit.unit] = UnitResult(benefit=CarriedGrade(grade=benefit.grade, session=benefit.session_obtained))
    for code, mark in state.marks.items():
        if mark.grade is not None:
            results[code] = UnitResult(grade=mark.grade)
        else:
            results[code] = UnitResult(absent=Absence.JUSTIFIED if mark.justified_absence else Absence.UNJUSTIFIED)
    return results


def _run(state: ResultsState, regulation: Regulation, controle: dict[str, Decimal] | None) -> Deliberation:
    try:
        return deliberate(regulation, ExamForm(state.form), state.session, first_group(state), controle)
    except InvalidInput as error:
        raise RuleViolation("R-28", f"cannot deliberate yet: {error.message}") from None


def _deliberate(state: ResultsState, regulation: Regulation) -> list[DomainEvent]:
    if state.outcome is not None and state.outcome != Outcome.INCOMPLET:
        raise RuleViolation("R-28", f"the jury has deliberated already: {state.outcome}")
    result = _run(state, regulation, None)
    assert state.candidate_id is not None
    events: list[DomainEvent] = [
        DeliberationCompleted(
            candidate_id=state.candidate_id,
            session=state.session,
            specialty=state.specialty,
            outcome=result.outcome.value,
            average=_rounded(result.average),
            professional_average=_rounded(result.professional_average),
            units=_unit_outcomes(result),
            regulation_session=regulation.first_session or state.session,
        )
    ]
    if result.outcome in FINAL:
        events += _final(state, result)
    elif result.outcome is Outcome.INCOMPLET and all(code in state.marks for code in state.units):
        events += _progression(state)
    return events


def _progression(state: ResultsState) -> list[DomainEvent]:
    """Forme progressive, R-15: the units sat this session are all graded but others remain for
    later sessions; every grade obtained here is kept (below 10 too) for the five following
    sessions, so that the next registration carries it."""
    assert state.candidate_id is not None
    return [
        BenefitGranted(
            candidate_id=state.candidate_id,
            specialty=state.specialty,
            unit=code,
            grade=mark.grade,
            session=state.session,
            valid_through_session=state.session + BENEFIT_SESSIONS,
        )
        for code, mark in sorted(state.marks.items())
        if mark.grade is not None
    ]


def _controle(state: ResultsState, command: RecordControle, regulation: Regulation) -> list[DomainEvent]:
    if state.outcome != Outcome.CONTROLE:
        raise RuleViolation("R-29", "only a candidate allowed to sit the épreuves de contrôle has contrôle grades")
    if state.final:
        raise RuleViolation("R-31", "the final result is published already")
    result = _run(state, regulation, dict(command.grades))
    return [
        ControleResultRecorded(
            grades=tuple(
                Carried(unit=u, grade=g, session_obtained=state.session) for u, g in sorted(command.grades.items())
            )
        ),
        *_final(state, result),
    ]


def _final(state: ResultsState, result: Deliberation) -> list[DomainEvent]:
    assert state.candidate_id is not None
    events: list[DomainEvent] = [
        FinalResultPublished(
            candidate_id=state.candidate_id,
            academy=state.academy,
            session=state.session,
            specialty=state.specialty,
            outcome=result.outcome.value,
            average=_rounded(result.average),
            final_average=_rounded(result.final_average),
            units=_unit_outcomes(result),
        )
    ]
    events += [
        BenefitGranted(
            candidate_id=state.candidate_id,
            specialty=state.specialty,
            unit=b.unit,
            grade=b.grade,
            session=state.session,
            valid_through_session=b.valid_through_session,
        )
        for b in result.benefits
    ]
    return events


def _unit_outcomes(result: Deliberation) -> tuple[UnitOutcome, ...]:
    return tuple(UnitOutcome(unit=code, retained=u.retained, source=u.source.value) for code, u in result.units.items())


def _rounded(value: Fraction | None) -> Decimal | None:
    return None if value is None else Decimal(two_decimals(value))


RESULTS = Aggregate("results", INITIAL, evolve, decide)
