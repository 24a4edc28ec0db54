"""Bénéfices (carried grades): R-14 (globale keeps grades >= 10 for five sessions), R-15 (progressive keeps
all grades for five sessions), R-16 (renouncing is definitive; registering for the unit renounces), R-02
(granted bénéfices listed at the start). Given events, when command, then events or the refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.registration.commands import (
    ChooseExamForm,
    ConfirmRegistration,
    DeclareBenefit,
    DeclareExemption,
    RenounceBenefit,
)
from services.registration.domain import INITIAL, FirstForm, GrantedBenefit, decide, sat_units
from shared.contracts.registration import (
    BenefitDeclared,
    BenefitOrigin,
    BenefitRenounced,
    ExamFormChosen,
    ExemptionGround,
    RegistrationConfirmed,
)
from shared.errors import InvalidInput, RuleViolation
from shared.events import DomainEvent
from shared.reference import ExamForm
from tests.unit.registration_fixtures import facts, given, ready, regulation, run, start, started

GLOBALE = ChooseExamForm(form=ExamForm.GLOBALE)
PROGRESSIVE_U1 = ChooseExamForm(form=ExamForm.PROGRESSIVE, units=("U1",))


def declared(unit: str, grade: str, session: int) -> BenefitDeclared:
    return BenefitDeclared(unit=unit, grade=Decimal(grade), session_obtained=session, origin=BenefitOrigin.DECLARED)


def declare(unit: str, grade: str, session: int) -> DeclareBenefit:
    return DeclareBenefit(unit=unit, grade=Decimal(grade), session_obtained=session)


def with_form(form: ChooseExamForm, *more: DomainEvent) -> list[DomainEvent]:
    return run([started()], form) + list(more)


# --- declaring (R-14, R-15) ------------------------------------------------------------------------


def test_r14_declaring_before_choosing_a_form_is_refused() -> None:
    with pytest.raises(RuleViolation, match="choose the exam form first") as refused:
        decide(declare("U3", "12", 2024), given(started()), facts())
    assert refused.value.rule == "R-14"


def test_r14_declaring_before_choosing_uses_the_definitive_first_form() -> None:
    """R-11, R-15: a candidate whose first registration was progressive declares a grade below 10."""
    first = FirstForm(form=ExamForm.PROGRESSIVE, session=2024)
    events = decide(declare("U3", "7", 2024), given(started()), facts(first_form=first))
    assert events == [declared("U3", "7", 2024)]


def test_r14_a_benefice_from_six_sessions_ago_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(declare("U3", "14", 2020), given(*with_form(GLOBALE)), facts())
    assert refused.value.rule == "R-14"
    assert "2020" in refused.value.message
    assert "2025" in refused.value.message  # valid through


def test_r14_a_benefice_from_five_sessions_ago_is_accepted() -> None:
    events = decide(declare("U3", "14", 2021), given(*with_form(GLOBALE)), facts())
    assert events == [declared("U3", "14", 2021)]


@pytest.mark.parametrize("session_obtained", [2026, 2027])
def test_r14_a_benefice_must_come_from_an_earlier_session(session_obtained: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(declare("U3", "14", session_obtained), given(*with_form(GLOBALE)), facts())
    assert refused.value.field == "session_obtained"


def test_r14_globale_grade_below_10_is_refused() -> None:
    with pytest.raises(RuleViolation, match="10/20 or more") as refused:
        decide(declare("U3", "9.99", 2024), given(*with_form(GLOBALE)), facts())
    assert refused.value.rule == "R-14"


def test_r14_globale_grade_of_exactly_10_is_kept() -> None:
    assert decide(declare("U3", "10", 2024), given(*with_form(GLOBALE)), facts()) == [declared("U3", "10", 2024)]


def test_r15_progressive_grade_below_10_is_kept() -> None:
    events = decide(declare("U3", "4.5", 2024), given(*with_form(PROGRESSIVE_U1)), facts())
    assert events == [declared("U3", "4.5", 2024)]


def test_r14_a_benefice_of_an_unknown_unit_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(declare("U9", "14", 2024), given(*with_form(GLOBALE)), facts())
    assert refused.value.field == "unit"


def test_r14_declaring_the_same_benefice_again_changes_nothing() -> None:
    history = with_form(GLOBALE, declared("U3", "14", 2024))
    assert decide(declare("U3", "14", 2024), given(*history), facts()) == []
    assert decide(declare("U3", "15", 2024), given(*history), facts()) == [declared("U3", "15", 2024)]


def test_r14_switching_to_globale_with_a_kept_grade_below_10_is_refused() -> None:
    """R-14: forme globale keeps no grade below 10; the progressive one declared earlier cannot stay."""
    history = with_form(PROGRESSIVE_U1, declared("U3", "7", 2024))
    with pytest.raises(RuleViolation, match="U3") as refused:
        decide(GLOBALE, given(*history), facts())
    assert refused.value.rule == "R-14"
    renounced = run(history, RenounceBenefit(unit="U3", confirm=True))
    assert decide(GLOBALE, given(*renounced), facts()) == [ExamFormChosen(form=ExamForm.GLOBALE, units=())]


# --- renouncing (R-16) -----------------------------------------------------------------------------


def test_r16_renouncing_without_confirming_is_refused() -> None:
    history = with_form(GLOBALE, declared("U3", "14", 2024))
    with pytest.raises(RuleViolation, match="definitive") as refused:
        decide(RenounceBenefit(unit="U3"), given(*history), facts())
    assert refused.value.rule == "R-16"


def test_r16_renouncing_with_confirmation() -> None:
    history = with_form(GLOBALE, declared("U3", "14", 2024))
    events = decide(RenounceBenefit(unit="U3", confirm=True), given(*history), facts())
    assert events == [BenefitRenounced(unit="U3", session_obtained=2024, by_registering=False)]
    assert given(*history, *events).kept_benefits() == {}


def test_r16_renouncing_twice_is_refused() -> None:
    history = run(with_form(GLOBALE, declared("U3", "14", 2024)), RenounceBenefit(unit="U3", confirm=True))
    with pytest.raises(RuleViolation, match="already renounced") as refused:
        decide(RenounceBenefit(unit="U3", confirm=True), given(*history), facts())
    assert refused.value.rule == "R-16"


def test_r16_renouncing_a_unit_without_benefice_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(RenounceBenefit(unit="U3", confirm=True), given(*with_form(GLOBALE)), facts())
    assert refused.value.field == "unit"


def test_r16_a_renounced_benefice_cannot_be_declared_again() -> None:
    history = run(with_form(GLOBALE, declared("U3", "14", 2024)), RenounceBenefit(unit="U3", confirm=True))
    with pytest.raises(RuleViolation, match="definitive") as refused:
        decide(declare("U3", "16", 2024), given(*history), facts())
    assert refused.value.rule == "R-16"


def test_r16_registering_for_a_unit_with_a_benefice_needs_confirm_renounce() -> None:
    history = with_form(PROGRESSIVE_U1, declared("U3", "8", 2024))
    command = ChooseExamForm(form=ExamForm.PROGRESSIVE, units=("U1", "U3"))
    with pytest.raises(RuleViolation) as refused:
        decide(command, given(*history), facts())
    assert refused.value.rule == "R-16"
    assert "U3" in refused.value.message
    assert "8/20" in refused.value.message


def test_r16_registering_for_a_unit_with_a_benefice_renounces_it() -> None:
    history = with_form(PROGRESSIVE_U1, declared("U3", "8", 2024))
    command = ChooseExamForm(form=ExamForm.PROGRESSIVE, units=("U1", "U3"), confirm_renounce=True)
    events = decide(command, given(*history), facts())
    assert events == [
        BenefitRenounced(unit="U3", session_obtained=2024, by_registering=True),
        ExamFormChosen(form=ExamForm.PROGRESSIVE, units=("U1", "U3")),
    ]
    assert given(*history, *events).benefits["U3"].renounced


def test_r16_declaring_a_benefice_for_a_unit_registered_this_session_is_refused() -> None:
    with pytest.raises(RuleViolation, match="renounces") as refused:
        decide(declare("U1", "12", 2024), given(*with_form(PROGRESSIVE_U1)), facts())
    assert refused.value.rule == "R-16"


# --- granted bénéfices at the start (R-02, R-14, R-15) ---------------------------------------------


def _granted(unit: str, session: int, valid_through: int, grade: str = "12") -> GrantedBenefit:
    return GrantedBenefit(
        unit=unit, grade=Decimal(grade), session_obtained=session, valid_through_session=valid_through
    )


def test_r14_granted_benefices_are_listed_at_start_only_when_valid() -> None:
    granted = [
        _granted("U1", 2025, 2030),  # valid
        _granted("U3", 2021, 2026, grade="8"),  # five sessions ago, still valid (progressive)
        _granted("U4", 2020, 2026),  # six sessions ago
        _granted("U5", 2024, 2025),  # its validity ended before 2026
        _granted("U6", 2026, 2031),  # not an earlier session
    ]
    events = decide(start(), INITIAL, facts(granted=granted))
    assert events == [
        started(),
        BenefitDeclared(unit="U1", grade=Decimal(12), session_obtained=2025, origin=BenefitOrigin.GRANTED),
        BenefitDeclared(unit="U3", grade=Decimal(8), session_obtained=2021, origin=BenefitOrigin.GRANTED),
    ]


# --- what the candidate sits (R-14, R-17) ----------------------------------------------------------


def test_r14_r17_globale_sits_every_unit_but_exempted_and_kept_benefice_ones() -> None:
    history = run(
        [*ready(), declared("U3", "14", 2024), declared("U4", "11", 2023)],
        RenounceBenefit(unit="U4", confirm=True),
        DeclareExemption(unit="U1", ground=ExemptionGround.DIPLOMA, detail="DUT GEA 2019"),
    )
    state = given(*history)
    assert sat_units(state, regulation()) == ("U2", "U4", "U5", "U6", "U7")
    confirmation = decide(ConfirmRegistration(), state, facts())[0]
    assert isinstance(confirmation, RegistrationConfirmed)
    assert confirmation.units == ("U2", "U4", "U5", "U6", "U7")
    assert confirmation.exempted_units == ("U1",)
    assert confirmation.benefit_units == ("U3",)


def test_r10_progressive_sits_exactly_the_chosen_units() -> None:
    state = given(*ready(form=ExamForm.PROGRESSIVE, units=("U5", "U2")), declared("U3", "6", 2024))
    assert sat_units(state, regulation()) == ("U5", "U2")
