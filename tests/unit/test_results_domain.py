"""Results domain, pure decide/evolve: "given events, when command, then events (or this error)".

Rules: R-13 (optional units), R-14 and R-15 (bénéfices granted, carried grades), R-17 (exemptions), R-27 and
D643-24 (absences), R-28 (admission), R-29 to R-31 (épreuves de contrôle), R-32 (the regulation of the session,
five-session validity). The deliberation itself (services.results.deliberation) has its own table in
test_deliberation.py; here the aggregate around it: what it records, refuses and publishes.

The worked cases use the real SIO-SISR regulation of session 2026 (applicable from 2025): U1 2, U2 2, U3 3, U4 3
(general), U5 4, U6 4, U7 4 (professional); the coefficients sum to 22, the professional ones to 12."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from services.results import commands as sent
from services.results.commands import Command, NoteRegistration
from services.results.deliberation import Absence, CarriedGrade, UnitResult
from services.results.domain import NO_FACTS, RESULTS, ResultsFacts, decide, first_group
from services.results.state import INITIAL, Mark, ResultsState, evolve
from shared import decider
from shared.contracts.results import (
    REGISTRY,
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
from shared.errors import InvalidInput, NotFound, RuleViolation
from shared.events import DomainEvent
from shared.reference import regulation_for

CANDIDATE = UUID("0b5e7c1a-0000-4000-8000-0000000000f1")
SESSION = 2026
SPECIALTY = "SIO-SISR"
ACADEMY = "aix-marseille"
REGULATION = regulation_for(SPECIALTY, SESSION)
FACTS = ResultsFacts(regulation=REGULATION)  # what the pipeline gathers for a deliberation
COMPULSORY = ("U1", "U2", "U3", "U4", "U5", "U6", "U7")
FIRST_SOURCE = UUID("00000000-0000-4000-8000-000000000001")
SECOND_SOURCE = UUID("00000000-0000-4000-8000-000000000002")

# Case A, forme globale, ADMIS: 2x12 + 2x11 + 3x10 + 3x9 + 4x13 + 4x14 + 4x12 = 24+22+30+27+52+56+48 = 259;
# 259 / 22 = 11.7727... -> "11.77"; professional (52+56+48) / 12 = 156 / 12 = 13 -> "13.00".
ADMIS_GRADES = {"U1": "12", "U2": "11", "U3": "10", "U4": "9", "U5": "13", "U6": "14", "U7": "12"}
# Case B, AJOURNE: 2x8 + 2x6 + 3x7 + 3x5 + 4x9 + 4x11 + 4x7.5 = 16+12+21+15+36+44+30 = 174;
# 174 / 22 = 7.9090... -> "7.91" (below 8: no contrôle); professional (36+44+30) / 12 = 110 / 12 = 9.1666... -> "9.17".
AJOURNE_GRADES = {"U1": "8", "U2": "6", "U3": "7", "U4": "5", "U5": "9", "U6": "11", "U7": "7.5"}
# Case C, CONTROLE: 2x6 + 2x7 + 3x6 + 3x5 + 4x11 + 4x10 + 4x12 = 12+14+18+15+44+40+48 = 191;
# 191 / 22 = 8.6818... -> "8.68" (8 <= average < 10); professional (44+40+48) / 12 = 132 / 12 = 11 -> "11.00".
CONTROLE_GRADES = {"U1": "6", "U2": "7", "U3": "6", "U4": "5", "U5": "11", "U6": "10", "U7": "12"}


# --- helpers --------------------------------------------------------------------------------------


class _ThisStream(BaseModel):
    """The commands of these tests address the one candidate's results stream."""

    candidate_id: UUID = CANDIDATE
    session: int = SESSION
    specialty: str = SPECIALTY


class RecordGrade(_ThisStream, sent.RecordGrade):
    pass


class RecordAbsence(_ThisStream, sent.RecordAbsence):
    pass


class Deliberate(_ThisStream, sent.Deliberate):
    pass


class RecordControle(_ThisStream, sent.RecordControle):
    pass


def noted(
    *,
    form: str = "globale",
    units: tuple[str, ...] = COMPULSORY,
    optional: tuple[str, ...] = (),
    exempted: tuple[str, ...] = (),
    benefits: tuple[Carried, ...] = (),
    source: UUID = FIRST_SOURCE,
) -> RegistrationNoted:
    return RegistrationNoted.model_validate(
        {
            "candidate_id": CANDIDATE,
            "academy": ACADEMY,
            "session": SESSION,
            "specialty": SPECIALTY,
            "form": form,
            "units": units,
            "optional_units": optional,
            "exempted_units": exempted,
            "benefits": benefits,
            "source_event_id": source,
        }
    )


def note(event: RegistrationNoted) -> NoteRegistration:
    return NoteRegistration(**event.model_dump())


def grade(unit: str, value: str, reason: str = "") -> RecordGrade:
    return RecordGrade(unit=unit, grade=Decimal(value), reason=reason)


def recorded(unit: str, value: str, previous: str | None = None, reason: str = "") -> GradesRecorded:
    return GradesRecorded(unit=unit, grade=Decimal(value), previous=previous, reason=reason)


def graded(grades: dict[str, str]) -> list[DomainEvent]:
    return [recorded(unit, value) for unit, value in grades.items()]


def when(state: ResultsState, command: Command) -> list[DomainEvent]:
    return decide(command, state, FACTS)


def replay(events: Sequence[DomainEvent], state: ResultsState = INITIAL) -> ResultsState:
    return decider.replay(RESULTS, events, state)


def run(state: ResultsState, *commands: Command) -> tuple[ResultsState, list[DomainEvent]]:
    """Decide then evolve each command in turn; the state reached and every event produced."""
    log: list[DomainEvent] = []
    for command in commands:
        events = when(state, command)
        state = replay(events, state)
        log += events
    return state, log


def registered(
    grades: dict[str, str] | None = None,
    *,
    form: str = "globale",
    units: tuple[str, ...] = COMPULSORY,
    optional: tuple[str, ...] = (),
    exempted: tuple[str, ...] = (),
    benefits: tuple[Carried, ...] = (),
) -> ResultsState:
    """Given the registration, then a first grade for each unit of `grades`."""
    registration = noted(form=form, units=units, optional=optional, exempted=exempted, benefits=benefits)
    return replay([registration, *graded(grades or {})])


def outcomes(pairs: list[tuple[str, str | None, str]]) -> tuple[UnitOutcome, ...]:
    return tuple(
        UnitOutcome(unit=unit, retained=None if value is None else Decimal(value), source=source)
        for unit, value, source in pairs
    )


def from_grades(grades: dict[str, str], source: str = "grade") -> list[tuple[str, str | None, str]]:
    return [(unit, value, source) for unit, value in grades.items()]


def completed(
    outcome: str, average: str | None, professional: str | None, units: tuple[UnitOutcome, ...]
) -> DomainEvent:
    return DeliberationCompleted(
        candidate_id=CANDIDATE,
        session=SESSION,
        specialty=SPECIALTY,
        outcome=outcome,
        average=None if average is None else Decimal(average),
        professional_average=None if professional is None else Decimal(professional),
        units=units,
        regulation_session=2025,
    )


def published(
    outcome: str, average: str | None, final_average: str | None, units: tuple[UnitOutcome, ...]
) -> DomainEvent:
    return FinalResultPublished(
        candidate_id=CANDIDATE,
        academy=ACADEMY,
        session=SESSION,
        specialty=SPECIALTY,
        outcome=outcome,
        average=None if average is None else Decimal(average),
        final_average=None if final_average is None else Decimal(final_average),
        units=units,
    )


def granted(unit: str, value: str) -> DomainEvent:
    return BenefitGranted(
        candidate_id=CANDIDATE,
        specialty=SPECIALTY,
        unit=unit,
        grade=Decimal(value),
        session=SESSION,
        valid_through_session=SESSION + 5,
    )


def only(events: list[DomainEvent], kind: type[DomainEvent]) -> list[DomainEvent]:
    return [e for e in events if isinstance(e, kind)]


def two_decimal_strings(events: list[DomainEvent]) -> list[str]:
    """Every average in `events`, as written: each must be a two-decimal string."""
    values: list[Decimal | None] = []
    for event in events:
        if isinstance(event, DeliberationCompleted):
            values += [event.average, event.professional_average]
        if isinstance(event, FinalResultPublished):
            values += [event.average, event.final_average]
    return [str(v) for v in values if v is not None]


def test_the_worked_cases_use_the_real_sio_sisr_coefficients() -> None:
    """R-32: session 2026 deliberates on the regulation applicable from 2025."""
    assert REGULATION.first_session == 2025
    assert {u.code: u.coefficient for u in REGULATION.units} == {
        "U1": 2,
        "U2": 2,
        "U3": 3,
        "U4": 3,
        "U5": 4,
        "U6": 4,
        "U7": 4,
    }
    assert [u.code for u in REGULATION.units if u.domain == "professional"] == ["U5", "U6", "U7"]


# --- the registration ------------------------------------------------------------------------------


def test_a_confirmed_registration_is_noted() -> None:
    event = noted(optional=("UF1",))
    assert decide(note(event), INITIAL, NO_FACTS) == [event]
    state = replay([event])
    assert state.registered
    assert (state.form, state.units, state.optional_units) == ("globale", COMPULSORY, ("UF1",))
    assert state.sources == {FIRST_SOURCE}


def test_a_redelivered_registration_changes_nothing() -> None:
    state = replay([noted()])
    assert when(state, note(noted())) == []


def test_a_new_registration_version_before_deliberation_replaces_the_units() -> None:
    """R-09: the latest confirmed version counts (R-13 optional units, R-14 bénéfices, R-17 exemptions)."""
    state = replay([noted()])
    benefit = Carried(unit="U5", grade=Decimal("15.00"), session_obtained=2024)
    second = noted(units=("U2", "U3", "U4", "U6", "U7"), optional=("UF1",), exempted=("U1",), benefits=(benefit,))
    second = second.model_copy(update={"source_event_id": SECOND_SOURCE})
    assert when(state, note(second)) == [second]
    state = replay([second], state)
    assert state.units == ("U2", "U3", "U4", "U6", "U7")
    assert (state.optional_units, state.exempted_units, state.benefits) == (("UF1",), ("U1",), (benefit,))
    assert state.sources == {FIRST_SOURCE, SECOND_SOURCE}


def test_a_new_registration_version_after_deliberation_changes_nothing() -> None:
    state, _ = run(registered(ADMIS_GRADES), Deliberate())
    late = noted(optional=("UF1",)).model_copy(update={"source_event_id": SECOND_SOURCE})
    assert when(state, note(late)) == []


@pytest.mark.parametrize(
    "command",
    [
        grade("U1", "12"),
        RecordAbsence(unit="U1"),
        Deliberate(),
        RecordControle(grades={"U1": Decimal("12")}),
    ],
    ids=["grade", "absence", "deliberate", "controle"],
)
def test_nothing_is_recorded_before_the_registration_is_known(command: Command) -> None:
    with pytest.raises(NotFound):
        when(INITIAL, command)


# --- grades and absences ---------------------------------------------------------------------------


def test_a_first_grade_is_recorded() -> None:
    assert when(registered(), grade("U1", "12")) == [recorded("U1", "12")]


@pytest.mark.parametrize("reason", ["", "typed twice"])
def test_the_same_grade_again_changes_nothing(reason: str) -> None:
    """A redelivered grade is not a correction: no event, and no reason asked for."""
    state = registered({"U1": "12"})
    assert when(state, grade("U1", "12.00", reason)) == []


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_different_grade_without_a_reason_is_refused(reason: str) -> None:
    state = registered({"U1": "12"})
    with pytest.raises(InvalidInput) as error:
        when(state, grade("U1", "14", reason))
    assert error.value.field == "reason"
    assert "12.00" in error.value.reason


def test_a_correction_is_a_new_event_and_nothing_is_overwritten() -> None:
    first = recorded("U1", "12")
    state = replay([noted(), first])
    correction = when(state, grade("U1", "14.50", "transcription error on the copy"))
    assert correction == [recorded("U1", "14.50", previous="12.00", reason="transcription error on the copy")]
    log: list[DomainEvent] = [noted(), first, *correction]
    state = replay(log)
    assert state.marks["U1"] == Mark(grade=Decimal("14.50"))
    assert only(log, GradesRecorded) == [first, *correction]  # both remain, the first unchanged
    assert first_group(state)["U1"] == UnitResult(grade=Decimal("14.50"))


@pytest.mark.parametrize(("justified", "described"), [(True, "absent (justified)"), (False, "absent")])
def test_an_absence_is_recorded_justified_or_not(justified: bool, described: str) -> None:
    """R-27 and D643-24: the absence and whether it is justified by force majeure."""
    state = registered()
    events = when(state, RecordAbsence(unit="U3", justified=justified))
    assert events == [AbsenceRecorded(unit="U3", justified=justified, previous=None, reason="")]
    state = replay(events, state)
    assert state.marks["U3"] == Mark(justified_absence=justified)
    assert state.marks["U3"].describe() == described
    assert when(state, RecordAbsence(unit="U3", justified=justified)) == []  # the same absence again
    assert when(state, grade("U3", "9", "late copy found")) == [
        recorded("U3", "9", previous=described, reason="late copy found")
    ]


def test_an_absence_replacing_a_grade_is_a_correction() -> None:
    state = registered({"U3": "9"})
    with pytest.raises(InvalidInput) as error:
        when(state, RecordAbsence(unit="U3"))
    assert error.value.field == "reason"
    assert when(state, RecordAbsence(unit="U3", justified=True, reason="the candidate was absent")) == [
        AbsenceRecorded(unit="U3", justified=True, previous="9.00", reason="the candidate was absent")
    ]


def test_justifying_an_absence_afterwards_is_a_correction() -> None:
    """D643-24: a certificate of force majeure arrives after the unjustified absence was recorded."""
    state = replay([noted(), AbsenceRecorded(unit="U2", justified=False, previous=None, reason="")])
    events = when(state, RecordAbsence(unit="U2", justified=True, reason="medical certificate"))
    assert events == [AbsenceRecorded(unit="U2", justified=True, previous="absent", reason="medical certificate")]


@pytest.mark.parametrize(
    ("command", "units", "exempted"),
    [
        (grade("U9", "12"), COMPULSORY, ()),  # not a unit of the specialty
        (grade("UF1", "12"), COMPULSORY, ()),  # an optional unit the candidate did not choose
        (grade("U1", "12"), COMPULSORY[1:], ("U1",)),  # exempted
        (RecordAbsence(unit="U5"), ("U1", "U2", "U3", "U4", "U6", "U7"), ()),  # not sat this session
    ],
    ids=["unknown", "optional-not-chosen", "exempted", "not-sat"],
)
def test_a_unit_the_candidate_does_not_sit_is_refused(
    command: Command, units: tuple[str, ...], exempted: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInput) as error:
        when(registered(units=units, exempted=exempted), command)
    assert error.value.field == "unit"


def test_a_chosen_optional_unit_takes_a_grade() -> None:
    """R-13."""
    assert when(registered(optional=("UF1",)), grade("UF1", "15")) == [recorded("UF1", "15")]


@pytest.mark.parametrize("value", ["20.01", "-1", "12.345", "21", "NaN"])
def test_the_command_refuses_a_grade_outside_0_to_20_with_two_decimals(value: str) -> None:
    with pytest.raises(ValidationError) as error:
        RecordGrade.model_validate({"unit": "U1", "grade": value})
    assert error.value.errors()[0]["loc"] == ("grade",)
    with pytest.raises(ValidationError) as error:
        RecordControle.model_validate({"grades": {"U1": value}})
    assert error.value.errors()[0]["loc"] == ("grades", "U1")


@pytest.mark.parametrize("value", ["0", "20", "20.00", "12.5", "12.25"])
def test_the_command_accepts_grades_from_0_to_20(value: str) -> None:
    assert RecordGrade.model_validate({"unit": "U1", "grade": value}).grade == Decimal(value)


# --- deliberation ----------------------------------------------------------------------------------


def test_deliberating_with_a_missing_unit_in_forme_globale_is_refused() -> None:
    """R-10: forme globale deliberates on every unit at once; the message names what is missing."""
    state = registered({unit: value for unit, value in ADMIS_GRADES.items() if unit != "U7"})
    with pytest.raises(RuleViolation) as error:
        when(state, Deliberate())
    assert "U7" in error.value.message
    assert "missing" in error.value.message


def test_admis_publishes_the_final_result_and_grants_nothing() -> None:
    """R-28: 259 / 22 = 11.7727... -> 11.77 >= 10 (case A)."""
    events = when(registered(ADMIS_GRADES), Deliberate())
    units = outcomes(from_grades(ADMIS_GRADES))
    assert events == [
        completed("ADMIS", "11.77", "13.00", units),
        published("ADMIS", "11.77", None, units),
    ]
    assert only(events, BenefitGranted) == []
    assert two_decimal_strings(events) == ["11.77", "13.00", "11.77"]


def test_ajourne_in_forme_globale_grants_the_grades_of_10_or_more() -> None:
    """R-14: case B, 174 / 22 = 7.9090... -> 7.91 < 8; only U6 (11) is kept, through 2026 + 5 = 2031."""
    events = when(registered(AJOURNE_GRADES), Deliberate())
    units = outcomes(from_grades(AJOURNE_GRADES))
    assert events == [
        completed("AJOURNE", "7.91", "9.17", units),
        published("AJOURNE", "7.91", None, units),
        granted("U6", "11"),
    ]
    benefit = only(events, BenefitGranted)[0]
    assert isinstance(benefit, BenefitGranted)
    assert benefit.valid_through_session == 2031


def test_ajourne_in_forme_progressive_grants_every_grade() -> None:
    """R-15: the same grades in forme progressive; all seven are kept, those below 10 too."""
    events = when(registered(AJOURNE_GRADES, form="progressive"), Deliberate())
    assert [e.outcome for e in events if isinstance(e, DeliberationCompleted | FinalResultPublished)] == [
        "AJOURNE",
        "AJOURNE",
    ]
    assert only(events, BenefitGranted) == [granted(unit, value) for unit, value in AJOURNE_GRADES.items()]


def test_an_unjustified_absence_eliminates() -> None:
    """R-27: U2 absent without justification. The averages are still shown with the absence at 0:
    259 - 2x11 = 237; 237 / 22 = 10.7727... -> 10.77, yet ELIMINE. The genuine grades >= 10 are kept (R-14)."""
    state = replay([noted(), *graded({u: v for u, v in ADMIS_GRADES.items() if u != "U2"})])
    state = replay([AbsenceRecorded(unit="U2", justified=False, previous=None, reason="")], state)
    events = when(state, Deliberate())
    completion = events[0]
    assert isinstance(completion, DeliberationCompleted)
    assert (completion.outcome, str(completion.average)) == ("ELIMINE", "10.77")
    assert completion.units[1] == UnitOutcome(unit="U2", retained=Decimal(0), source="absent")
    final = events[1]
    assert isinstance(final, FinalResultPublished)
    assert final.outcome == "ELIMINE"
    assert [b.unit for b in only(events, BenefitGranted) if isinstance(b, BenefitGranted)] == [
        "U1",
        "U3",
        "U5",
        "U6",
        "U7",
    ]


def test_a_justified_absence_counts_zero() -> None:
    """D643-24: U4 absent for force majeure counts 0: 259 - 3x9 = 232; 232 / 22 = 10.5454... -> 10.55, ADMIS."""
    state = replay([noted(), *graded({u: v for u, v in ADMIS_GRADES.items() if u != "U4"})])
    state = replay(when(state, RecordAbsence(unit="U4", justified=True)), state)
    events = when(state, Deliberate())
    completion = events[0]
    assert isinstance(completion, DeliberationCompleted)
    assert (completion.outcome, str(completion.average), str(completion.professional_average)) == (
        "ADMIS",
        "10.55",
        "13.00",
    )
    assert completion.units[3] == UnitOutcome(unit="U4", retained=Decimal(0), source="absent")


def test_controle_completes_the_deliberation_without_a_final_result() -> None:
    """R-29: case C, 191 / 22 = 8.6818... -> 8.68 in [8, 10) and professional 132 / 12 = 11.00 >= 10."""
    events = when(registered(CONTROLE_GRADES), Deliberate())
    assert events == [completed("CONTROLE", "8.68", "11.00", outcomes(from_grades(CONTROLE_GRADES)))]
    state = replay(events, registered(CONTROLE_GRADES))
    assert (state.outcome, state.final) == ("CONTROLE", False)


def test_the_controle_keeps_the_better_grade_and_refuses_the_candidate_below_10() -> None:
    """R-31: U3 retaken 14 (better than 6, kept), U4 retaken 4 (worse than 5, the 5 stays):
    191 - 3x6 + 3x14 = 215; 215 / 22 = 9.7727... -> 9.77 < 10: AJOURNE, average stays 8.68.
    R-14: granted the grades >= 10 obtained this session, the contrôle's 14 included."""
    state, _ = run(registered(CONTROLE_GRADES), Deliberate())
    events = when(state, RecordControle(grades={"U4": Decimal("4"), "U3": Decimal("14")}))
    retained = {**CONTROLE_GRADES}
    retained_units = outcomes([(u, "14", "controle") if u == "U3" else (u, v, "grade") for u, v in retained.items()])
    assert events == [
        ControleResultRecorded(
            grades=(
                Carried(unit="U3", grade=Decimal("14"), session_obtained=SESSION),
                Carried(unit="U4", grade=Decimal("4"), session_obtained=SESSION),
            )
        ),
        published("AJOURNE", "8.68", "9.77", retained_units),
        granted("U3", "14"),
        granted("U5", "11"),
        granted("U6", "10"),
        granted("U7", "12"),
    ]
    state = replay(events, state)
    assert (state.outcome, state.final, str(state.final_average), str(state.average)) == (
        "AJOURNE",
        True,
        "9.77",
        "8.68",
    )
    assert state.controle == {"U3": Decimal("14"), "U4": Decimal("4")}


def test_the_controle_admits_the_candidate_at_10_or_more() -> None:
    """R-31: U3 retaken 16 and U4 retaken 9: 191 - 3x6 - 3x5 + 3x16 + 3x9 = 233; 233 / 22 = 10.5909... -> 10.59."""
    state, _ = run(registered(CONTROLE_GRADES), Deliberate())
    events = when(state, RecordControle(grades={"U3": Decimal("16"), "U4": Decimal("9")}))
    assert [type(e) for e in events] == [ControleResultRecorded, FinalResultPublished]
    final = events[1]
    assert isinstance(final, FinalResultPublished)
    assert (final.outcome, str(final.average), str(final.final_average)) == ("ADMIS", "8.68", "10.59")


@pytest.mark.parametrize("grades", [ADMIS_GRADES, AJOURNE_GRADES, None], ids=["admis", "ajourne", "not-deliberated"])
def test_controle_grades_for_a_candidate_not_at_the_controle_are_refused(grades: dict[str, str] | None) -> None:
    """R-29."""
    state = registered(grades or CONTROLE_GRADES)
    if grades is not None:
        state, _ = run(state, Deliberate())
    with pytest.raises(RuleViolation) as error:
        when(state, RecordControle(grades={"U3": Decimal("14")}))
    assert error.value.rule == "R-29"


def test_the_controle_is_recorded_once() -> None:
    """R-31: the final result is published; a second set of contrôle grades is refused."""
    state, _ = run(registered(CONTROLE_GRADES), Deliberate(), RecordControle(grades={"U3": Decimal("14")}))
    with pytest.raises(RuleViolation):
        when(state, RecordControle(grades={"U3": Decimal("18")}))


def test_a_controle_on_a_professional_unit_is_refused() -> None:
    """R-30: only general-domain units are retaken; nothing is recorded."""
    state, _ = run(registered(CONTROLE_GRADES), Deliberate())
    with pytest.raises(RuleViolation) as error:
        when(state, RecordControle(grades={"U5": Decimal("14")}))
    assert "U5" in error.value.message


@pytest.mark.parametrize("grades", [ADMIS_GRADES, CONTROLE_GRADES], ids=["admis", "controle"])
@pytest.mark.parametrize("command", [grade("U1", "15", "late correction"), RecordAbsence(unit="U1", reason="x")])
def test_first_group_results_are_frozen_once_deliberated(grades: dict[str, str], command: Command) -> None:
    """R-31: the jury has deliberated on these results."""
    state, _ = run(registered(grades), Deliberate())
    with pytest.raises(RuleViolation) as error:
        when(state, command)
    assert error.value.rule == "R-31"


@pytest.mark.parametrize("grades", [ADMIS_GRADES, AJOURNE_GRADES, CONTROLE_GRADES])
def test_deliberating_twice_is_refused(grades: dict[str, str]) -> None:
    """R-28: the jury deliberates once."""
    state, _ = run(registered(grades), Deliberate())
    with pytest.raises(RuleViolation) as error:
        when(state, Deliberate())
    assert error.value.rule == "R-28"


def test_forme_progressive_with_missing_units_is_incomplete_then_deliberated_once_complete() -> None:
    """R-10, R-15: U7 has no result yet: INCOMPLET, no average, no final result, nothing granted. Once U7 is
    graded the deliberation runs again: case A, 259 / 22 -> 11.77, ADMIS."""
    partial = {u: v for u, v in ADMIS_GRADES.items() if u != "U7"}
    state = registered(partial, form="progressive")
    events = when(state, Deliberate())
    assert events == [completed("INCOMPLET", None, None, outcomes(from_grades(partial)))]
    state = replay(events, state)
    assert (state.outcome, state.final) == ("INCOMPLET", False)
    state, log = run(state, grade("U7", "12"), Deliberate())
    assert log[0] == recorded("U7", "12")
    assert [(type(e).__name__, getattr(e, "outcome", None)) for e in log[1:]] == [
        ("DeliberationCompleted", "ADMIS"),
        ("FinalResultPublished", "ADMIS"),
    ]
    assert (state.outcome, str(state.average), state.final) == ("ADMIS", "11.77", True)


def test_carried_grades_and_exemptions_flow_into_the_first_group() -> None:
    """R-14 (carried), R-17 (exempted), R-27 and D643-24 (absences): the deliberation's input."""
    benefit = Carried(unit="U5", grade=Decimal("15.00"), session_obtained=2024)
    state = replay(
        [
            noted(units=("U2", "U3", "U4", "U6", "U7"), exempted=("U1",), benefits=(benefit,)),
            recorded("U2", "10.05"),
            AbsenceRecorded(unit="U3", justified=True, previous=None, reason=""),
            AbsenceRecorded(unit="U4", justified=False, previous=None, reason=""),
        ]
    )
    assert first_group(state) == {
        "U1": UnitResult(dispensed=True),
        "U5": UnitResult(benefit=CarriedGrade(grade=Decimal("15.00"), session=2024)),
        "U2": UnitResult(grade=Decimal("10.05")),
        "U3": UnitResult(absent=Absence.JUSTIFIED),
        "U4": UnitResult(absent=Absence.UNJUSTIFIED),
    }


def test_a_carried_grade_counts_in_both_averages() -> None:
    """R-14, R-29 ("both averages include bénéfices"): case B with U5 carried at 15 from 2024 instead of sat:
    2x8 + 2x6 + 3x7 + 3x5 + 4x15 + 4x11 + 4x7.5 = 16+12+21+15+60+44+30 = 198; 198 / 22 = 9 -> "9.00";
    professional (60+44+30) / 12 = 134 / 12 = 11.1666... -> "11.17": CONTROLE."""
    benefit = Carried(unit="U5", grade=Decimal("15.00"), session_obtained=2024)
    sat = {u: v for u, v in AJOURNE_GRADES.items() if u != "U5"}
    state = registered(sat, units=tuple(sat), benefits=(benefit,))
    events = when(state, Deliberate())
    units = outcomes([(u, "15.00", "benefit") if u == "U5" else (u, AJOURNE_GRADES[u], "grade") for u in COMPULSORY])
    assert events == [completed("CONTROLE", "9.00", "11.17", units)]


def test_an_exemption_leaves_the_average_and_rounding_is_half_up() -> None:
    """R-17: U1 exempted, the coefficients sum to 20: 2x10.05 + 3x10 + 3x10 + 4x10 + 4x10 + 4x10 = 200.10;
    200.10 / 20 = 10.005 exactly -> "10.01" (half-up, not half-even); professional 120 / 12 -> "10.00"."""
    grades = {"U2": "10.05", "U3": "10", "U4": "10", "U5": "10", "U6": "10", "U7": "10"}
    state = registered(grades, units=tuple(grades), exempted=("U1",))
    events = when(state, Deliberate())
    assert events == [
        completed("ADMIS", "10.01", "10.00", outcomes([("U1", None, "dispensed"), *from_grades(grades)])),
        published("ADMIS", "10.01", None, outcomes([("U1", None, "dispensed"), *from_grades(grades)])),
    ]


def test_a_low_carried_grade_counts_in_forme_progressive() -> None:
    """R-15: U1 carried at 6 from 2023 in forme progressive, the rest of case A sat now:
    2x6 + 2x11 + 3x10 + 3x9 + 4x13 + 4x14 + 4x12 = 12+22+30+27+52+56+48 = 247; 247 / 22 = 11.2272... -> "11.23"."""
    benefit = Carried(unit="U1", grade=Decimal("6.00"), session_obtained=2023)
    sat = {u: v for u, v in ADMIS_GRADES.items() if u != "U1"}
    state = registered(sat, form="progressive", units=tuple(sat), benefits=(benefit,))
    completion = when(state, Deliberate())[0]
    assert isinstance(completion, DeliberationCompleted)
    assert (completion.outcome, str(completion.average)) == ("ADMIS", "11.23")
    assert completion.units[0] == UnitOutcome(unit="U1", retained=Decimal("6.00"), source="benefit")


def test_a_carried_grade_older_than_five_sessions_cannot_be_deliberated() -> None:
    """R-32: obtained in 2020, valid through 2025, not 2026."""
    benefit = Carried(unit="U5", grade=Decimal("15.00"), session_obtained=2020)
    sat = {u: v for u, v in ADMIS_GRADES.items() if u != "U5"}
    with pytest.raises(RuleViolation) as error:
        when(registered(sat, units=tuple(sat), benefits=(benefit,)), Deliberate())
    assert "2020" in error.value.message


def test_an_optional_unit_adds_only_its_part_above_10() -> None:
    """R-13: case B plus UF1 (coefficient 1) at 16: 174 + 1x(16 - 10) = 180; 180 / 22 = 8.1818... -> "8.18"."""
    state = registered({**AJOURNE_GRADES, "UF1": "16"}, optional=("UF1",))
    completion = when(state, Deliberate())[0]
    assert isinstance(completion, DeliberationCompleted)
    assert (str(completion.average), str(completion.professional_average)) == ("8.18", "9.17")


# --- properties ------------------------------------------------------------------------------------

GRADE = st.integers(min_value=0, max_value=2000).map(lambda hundredths: Decimal(hundredths).scaleb(-2))
GRADES = st.fixed_dictionaries({unit: GRADE for unit in COMPULSORY})
FORM = st.sampled_from(["globale", "progressive"])
RANK = {"AJOURNE": 0, "CONTROLE": 1, "ADMIS": 2}


def deliberated(form: str, commands: Sequence[Command], optional: tuple[str, ...] = ()) -> list[DomainEvent]:
    state, _ = run(replay([noted(form=form, optional=optional)]), *commands)
    return when(state, Deliberate())


def completion_of(events: list[DomainEvent]) -> DeliberationCompleted:
    first = events[0]
    assert isinstance(first, DeliberationCompleted)
    return first


@settings(max_examples=150, deadline=None)
@given(form=FORM, grades=GRADES, optional=st.none() | GRADE, order=st.permutations([*COMPULSORY, "UF1"]))
def test_the_order_the_grades_were_recorded_in_does_not_matter(
    form: str, grades: dict[str, Decimal], optional: Decimal | None, order: list[str]
) -> None:
    """R-28 and the decisions that follow depend on the grades, never on the order they were typed in."""
    values = {**grades, **({} if optional is None else {"UF1": optional})}
    chosen = ("UF1",) if optional is not None else ()
    canonical = [RecordGrade(unit=unit, grade=value) for unit, value in values.items()]
    permuted = [RecordGrade(unit=unit, grade=values[unit]) for unit in order if unit in values]
    expected = deliberated(form, canonical, chosen)
    assert deliberated(form, permuted, chosen) == expected
    assert all(len(text.split(".")[1]) == 2 for text in two_decimal_strings(expected))


@settings(max_examples=150, deadline=None)
@given(
    form=FORM,
    grades=GRADES,
    unit=st.sampled_from(COMPULSORY),
    raise_by=st.integers(min_value=1, max_value=2000).map(lambda hundredths: Decimal(hundredths).scaleb(-2)),
)
def test_raising_a_grade_never_lowers_the_average(
    form: str, grades: dict[str, Decimal], unit: str, raise_by: Decimal
) -> None:
    """R-28, R-29: a better grade never gives a lower average, professional average or outcome."""
    better = {**grades, unit: min(Decimal("20.00"), grades[unit] + raise_by)}
    before = completion_of(deliberated(form, [RecordGrade(unit=u, grade=g) for u, g in grades.items()]))
    after = completion_of(deliberated(form, [RecordGrade(unit=u, grade=g) for u, g in better.items()]))
    assert before.average is not None
    assert after.average is not None
    assert after.average >= before.average
    assert before.professional_average is not None
    assert after.professional_average is not None
    assert after.professional_average >= before.professional_average
    assert RANK[after.outcome] >= RANK[before.outcome]


MARK = st.one_of(
    GRADE.map(lambda value: ("grade", value)),
    st.booleans().map(lambda justified: ("absent", justified)),
)


def mark_command(unit: str, mark: tuple[str, object], reason: str = "") -> Command:
    kind, value = mark
    if kind == "grade":
        assert isinstance(value, Decimal)
        return RecordGrade(unit=unit, grade=value, reason=reason)
    assert isinstance(value, bool)
    return RecordAbsence(unit=unit, justified=value, reason=reason)


def decoded(events: list[DomainEvent]) -> list[DomainEvent]:
    """Through JSON as the event store keeps them: Decimals as strings, nothing as a float."""
    return [REGISTRY.decode(e.event_type, e.schema_version, e.model_dump(mode="json")) for e in events]


@settings(max_examples=150, deadline=None)
@given(
    form=FORM,
    marks=st.fixed_dictionaries({unit: st.one_of(GRADE.map(lambda v: ("grade", v)), MARK) for unit in COMPULSORY}),
    corrections=st.dictionaries(st.sampled_from(COMPULSORY), MARK, max_size=3),
    controle=st.dictionaries(st.sampled_from(("U1", "U2", "U3", "U4")), GRADE, min_size=1, max_size=2),
)
def test_replaying_the_events_gives_the_same_state_and_the_same_deliberation(
    form: str,
    marks: dict[str, tuple[str, object]],
    corrections: dict[str, tuple[str, object]],
    controle: dict[str, Decimal],
) -> None:
    """Event sourcing: the state is a function of the events (also read back from JSON), and deliberating
    a replayed state decides exactly what was decided the first time (R-32: the same regulation)."""
    commands = [mark_command(unit, mark) for unit, mark in marks.items()]
    commands += [mark_command(unit, mark, "correction") for unit, mark in corrections.items()]
    state, log = run(replay([noted(form=form)]), *commands)
    log = [noted(form=form), *log]
    assert replay(log) == state
    assert replay(decoded(log)) == state

    deliberation = when(state, Deliberate())
    assert when(replay(decoded(log)), Deliberate()) == deliberation
    assert decoded(deliberation) == deliberation
    state = replay(deliberation, state)
    log += deliberation
    if state.outcome == "CONTROLE":
        command = RecordControle(grades=controle)
        final = when(state, command)
        assert when(replay(decoded(log)), command) == final
        state = replay(final, state)
        log += final
    assert replay(log) == state
    assert replay(decoded(log)) == state
    assert state.outcome in {"ADMIS", "AJOURNE", "ELIMINE"}
    assert state.final


def test_evolve_ignores_events_of_other_kinds() -> None:
    state = replay([noted()])
    other = granted("U1", "12")  # published by this service but not part of its state
    assert evolve(state, other) == state


def test_forme_progressive_keeps_the_grades_of_a_session_whose_units_are_all_graded() -> None:
    """R-15: a progressive candidate sits U1, U2 and U5 this session (the others later). Once those three
    are graded the deliberation is INCOMPLET (units remain) and every grade obtained here, below 10 too,
    is granted through session + 5 so that the next registration carries it."""
    state = registered({"U1": "8", "U2": "12", "U5": "9.5"}, form="progressive", units=("U1", "U2", "U5"))
    events = when(state, Deliberate())
    assert [type(e).__name__ for e in events] == ["DeliberationCompleted"] + ["BenefitGranted"] * 3
    assert [(e.unit, str(e.grade), e.valid_through_session) for e in only(events, BenefitGranted)] == [  # type: ignore[attr-defined]
        ("U1", "8", SESSION + 5),
        ("U2", "12", SESSION + 5),
        ("U5", "9.5", SESSION + 5),
    ]


def test_forme_progressive_with_a_sat_unit_ungraded_grants_nothing_yet() -> None:
    """R-15: U5 was sat this session but has no result: nothing is granted until it has one."""
    state = registered({"U1": "8", "U2": "12"}, form="progressive", units=("U1", "U2", "U5"))
    assert only(when(state, Deliberate()), BenefitGranted) == []


def test_a_recorded_grade_is_written_with_two_decimals() -> None:
    """Grades are exact decimals written "12.50" whatever the jury typed (12.5, 12)."""
    assert [e.grade for e in when(registered(), grade("U1", "12.5"))] == [Decimal("12.50")]  # type: ignore[attr-defined]
    assert str(grade("U2", "12").grade) == "12.00"
