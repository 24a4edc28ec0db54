"""Registration domain, pure decide/evolve: "given events, when command, then events (or this error)".

Rules: R-01 (category), R-09 (confirmation and summary versions), R-10 (exam form), R-11 (form definitive),
R-12 (language), R-13 (optional tests), R-17 (exemptions), R-25 (handicap, AMEX), R-33 ("non inscrit"),
plus the lifecycle (start once, nothing before the start). The window (R-07, R-08), the bénéfices (R-14 to
R-16) and the documents (R-19 to R-25) have their own files."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st

from services.registration.commands import (
    ChangeCategory,
    ChooseExamForm,
    ChooseLanguage,
    ChooseOptionalUnits,
    Command,
    ConfirmRegistration,
    DeclareBenefit,
    DeclareExemption,
    DeclareHandicap,
    DeclareSituation,
    RenounceBenefit,
    SetNotRegistered,
    WithdrawExemption,
)
from services.registration.domain import INITIAL, REGISTRATION, FirstForm, RegistrationState, decide, evolve
from shared.contracts.registration import (
    Category,
    CategoryChanged,
    DocumentsRequired,
    ExamFormChosen,
    ExemptionDeclared,
    ExemptionGround,
    ExemptionWithdrawn,
    HandicapDeclared,
    LanguageChosen,
    OptionalUnitsChosen,
    RegistrationConfirmed,
    RegistrationSetNotRegistered,
    SummaryIssued,
)
from shared.decider import replay
from shared.errors import AlreadyExists, ArchipelError, InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import DomainEvent
from shared.reference import ExamForm, calendar_from_local
from tests.unit.registration_fixtures import (
    CANDIDATE,
    INSIDE,
    LATER,
    confirmed,
    facts,
    given,
    ready,
    run,
    start,
    started,
    types,
)

GLOBALE = ChooseExamForm(form=ExamForm.GLOBALE)
PROGRESSIVE = ChooseExamForm(form=ExamForm.PROGRESSIVE, units=("U1", "U5"))
ENGLISH = ChooseLanguage(language="anglais", teaching_followed=True)


# --- lifecycle -------------------------------------------------------------------------------------


def test_r01_start_registration() -> None:
    events = decide(start(Category.PROFESSIONAL_EXPERIENCE), INITIAL, facts())
    assert events == [started(Category.PROFESSIONAL_EXPERIENCE)]
    state = given(*events)
    assert (state.candidate_id, state.session, state.specialty, state.academy) == (
        CANDIDATE,
        2026,
        "SIO-SISR",
        "aix-marseille",
    )
    assert state.registration_id == f"registration-{CANDIDATE}-2026-SIO-SISR"


def test_r02_starting_twice_is_refused() -> None:
    with pytest.raises(AlreadyExists, match="modify it"):
        decide(start(), given(started()), facts())


@pytest.mark.parametrize(
    "command",
    [
        ChangeCategory(category=Category.DISTANCE),
        GLOBALE,
        ENGLISH,
        DeclareHandicap(handicap=False),
        ConfirmRegistration(),
    ],
    ids=lambda command: type(command).__name__,
)
def test_commands_before_the_start_are_not_found(command: Command) -> None:
    with pytest.raises(NotFound, match="start one first"):
        decide(command, INITIAL, facts())


def test_r01_change_category_and_the_same_category_changes_nothing() -> None:
    state = given(started(Category.INDIVIDUAL))
    assert decide(ChangeCategory(category=Category.DISTANCE), state, facts()) == [
        CategoryChanged(category=Category.DISTANCE)
    ]
    assert decide(ChangeCategory(category=Category.INDIVIDUAL), state, facts()) == []


# --- confirmation and summary versions (R-09, R-10, R-12) ------------------------------------------


def test_r10_confirming_without_a_form_is_refused() -> None:
    history = run([started()], ENGLISH)
    with pytest.raises(RuleViolation, match="exam form") as refused:
        decide(ConfirmRegistration(), given(*history), facts())
    assert refused.value.rule == "R-10"


def test_r12_confirming_without_the_compulsory_language_is_refused() -> None:
    history = run([started()], GLOBALE)
    with pytest.raises(RuleViolation, match="language") as refused:
        decide(ConfirmRegistration(), given(*history), facts())
    assert refused.value.rule == "R-12"


def test_r09_confirming_issues_confirmation_summary_1_and_documents() -> None:
    events = decide(ConfirmRegistration(), given(*ready()), facts())
    assert types(events) == ["RegistrationConfirmed", "SummaryIssued", "DocumentsRequired"]
    confirmation, summary, _ = events
    assert isinstance(confirmation, RegistrationConfirmed)
    assert (confirmation.form, confirmation.language, confirmation.category) == (
        ExamForm.GLOBALE,
        "anglais",
        Category.INDIVIDUAL,
    )
    assert confirmation.units == ("U1", "U2", "U3", "U4", "U5", "U6", "U7")
    assert confirmation.handicap is False
    assert summary == SummaryIssued(version=1, issued_at=INSIDE)
    state = given(*ready(), *events)
    assert (state.confirmed, state.summary_version) == (True, 1)


def test_r09_confirming_twice_produces_nothing() -> None:
    assert decide(ConfirmRegistration(), given(*confirmed()), facts()) == []


def test_r09_a_change_after_confirmation_reissues_the_summary_without_documents_when_unchanged() -> None:
    events = decide(ChooseOptionalUnits(units=("UF1",)), given(*confirmed()), facts(now=LATER))
    assert types(events) == ["OptionalUnitsChosen", "RegistrationConfirmed", "SummaryIssued"]
    assert events[2] == SummaryIssued(version=2, issued_at=LATER)
    confirmation = events[1]
    assert isinstance(confirmation, RegistrationConfirmed)
    assert confirmation.optional_units == ("UF1",)


def test_r09_a_change_after_confirmation_that_changes_the_documents_lists_them_again() -> None:
    change = DeclareHandicap(handicap=True, amex_reference="AMEX-1", existing_decision=True)
    events = decide(change, given(*confirmed()), facts(now=LATER))
    assert types(events) == ["HandicapDeclared", "RegistrationConfirmed", "SummaryIssued", "DocumentsRequired"]
    assert events[2] == SummaryIssued(version=2, issued_at=LATER)
    documents = events[3]
    assert isinstance(documents, DocumentsRequired)
    assert documents.documents[-1].kind == "amex_decision"


def test_r09_summary_versions_keep_counting() -> None:
    history = run(confirmed(), ChooseOptionalUnits(units=("UF1",)), ChooseOptionalUnits(units=()))
    assert [e.version for e in history if isinstance(e, SummaryIssued)] == [1, 2, 3]
    assert given(*history).summary_version == 3


@pytest.mark.parametrize(
    "command",
    [
        ENGLISH,
        GLOBALE,
        ChangeCategory(category=Category.INDIVIDUAL),
        ChooseOptionalUnits(units=()),
        DeclareSituation(),
        DeclareHandicap(handicap=False),
        DeclareExemption(unit="U1", ground=ExemptionGround.DIPLOMA, detail="DUT GEA 2019"),
    ],
    ids=lambda command: type(command).__name__,
)
def test_r09_repeating_a_choice_after_confirmation_issues_no_new_summary(command: Command) -> None:
    history = run(confirmed(), DeclareHandicap(handicap=False), DeclareSituation(training_shortened=True))
    history = run(history, DeclareSituation(), command)  # the first time may change something
    assert decide(command, given(*history), facts(first_form=FirstForm(form=ExamForm.GLOBALE, session=2026))) == []


# --- exam form (R-10, R-11) -------------------------------------------------------------------------


def test_r10_choose_globale_and_progressive() -> None:
    assert decide(GLOBALE, given(started()), facts()) == [ExamFormChosen(form=ExamForm.GLOBALE, units=())]
    assert decide(PROGRESSIVE, given(started()), facts()) == [
        ExamFormChosen(form=ExamForm.PROGRESSIVE, units=("U1", "U5"))
    ]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (ChooseExamForm(form=ExamForm.GLOBALE, units=("U1",)), "list no units"),
        (ChooseExamForm(form=ExamForm.PROGRESSIVE), "choose the units"),
        (ChooseExamForm(form=ExamForm.PROGRESSIVE, units=("U1", "U1")), "twice"),
        (ChooseExamForm(form=ExamForm.PROGRESSIVE, units=("U1", "U9", "UF1")), "U9, UF1"),
    ],
)
def test_r10_invalid_units_name_the_units_field(command: ChooseExamForm, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as refused:
        decide(command, given(started()), facts())
    assert refused.value.field == "units"


def test_r11_the_other_form_in_a_later_session_is_refused() -> None:
    first = FirstForm(form=ExamForm.GLOBALE, session=2025)
    with pytest.raises(RuleViolation) as refused:
        decide(PROGRESSIVE, given(started()), facts(first_form=first))
    assert refused.value.rule == "R-11"
    assert "globale" in refused.value.message
    assert "2025" in refused.value.message


def test_r11_the_same_form_in_a_later_session_is_accepted() -> None:
    first = FirstForm(form=ExamForm.GLOBALE, session=2025)
    assert decide(GLOBALE, given(started()), facts(first_form=first)) == [
        ExamFormChosen(form=ExamForm.GLOBALE, units=())
    ]


def test_r11_changing_form_in_the_first_registration_before_confirmation_is_accepted() -> None:
    history = run([started()], GLOBALE)
    events = decide(PROGRESSIVE, given(*history), facts())
    assert events == [ExamFormChosen(form=ExamForm.PROGRESSIVE, units=("U1", "U5"))]


def test_r11_changing_form_after_the_first_confirmation_is_refused() -> None:
    """Once confirmed, the handler finds this registration's form as the candidate's first one."""
    first = FirstForm(form=ExamForm.GLOBALE, session=2026)
    with pytest.raises(RuleViolation, match="definitive") as refused:
        decide(PROGRESSIVE, given(*confirmed()), facts(first_form=first))
    assert refused.value.rule == "R-11"


def test_r11_confirming_a_form_other_than_the_first_one_is_refused() -> None:
    """A form chosen before another registration of the specialty was confirmed cannot be confirmed."""
    first = FirstForm(form=ExamForm.PROGRESSIVE, session=2026)
    with pytest.raises(RuleViolation, match="progressive") as refused:
        decide(ConfirmRegistration(), given(*ready()), facts(first_form=first))
    assert refused.value.rule == "R-11"


# --- language and optional tests (R-12, R-13) -------------------------------------------------------


def test_r12_language_not_offered_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="anglais") as refused:
        decide(ChooseLanguage(language="espagnol", teaching_followed=True), given(started()), facts())
    assert refused.value.field == "language"


def test_r12_language_teaching_not_followed_is_refused() -> None:
    with pytest.raises(RuleViolation, match="teaching") as refused:
        decide(ChooseLanguage(language="anglais", teaching_followed=False), given(started()), facts())
    assert refused.value.rule == "R-12"


def test_r12_language_is_normalised_and_a_common_one_is_not_rare() -> None:
    events = decide(ChooseLanguage(language="  Anglais ", teaching_followed=True), given(started()), facts())
    assert events == [LanguageChosen(language="anglais", teaching_followed=True, rare=False)]


def test_r12_a_rare_language_is_marked_rare() -> None:
    events = decide(
        ChooseLanguage(language="japonais", teaching_followed=True),
        given(started(specialty="MCO")),
        facts(specialty="MCO"),
    )
    assert events == [LanguageChosen(language="japonais", teaching_followed=True, rare=True)]


def test_r13_at_most_two_optional_tests() -> None:
    with pytest.raises(RuleViolation) as refused:
        decide(ChooseOptionalUnits(units=("UF1", "UF2", "UF3")), given(started()), facts())
    assert refused.value.rule == "R-13"


@pytest.mark.parametrize("units", [("UF9",), ("U1",), ("UF1", "UF1")])
def test_r13_unknown_or_repeated_optional_tests_name_the_units_field(units: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(ChooseOptionalUnits(units=units), given(started()), facts())
    assert refused.value.field == "units"


def test_r13_two_valid_optional_tests_are_chosen() -> None:
    events = decide(ChooseOptionalUnits(units=("UF1", "UF2")), given(started()), facts())
    assert events == [OptionalUnitsChosen(units=("UF1", "UF2"))]


# --- exemptions (R-17) ------------------------------------------------------------------------------


def test_r17_a_professional_domain_unit_is_not_exempted_by_a_diploma() -> None:
    with pytest.raises(RuleViolation, match="VAE") as refused:
        decide(DeclareExemption(unit="U5", ground=ExemptionGround.DIPLOMA, detail="BTS"), given(started()), facts())
    assert refused.value.rule == "R-17"


def test_r17_a_professional_domain_unit_is_exempted_by_vae() -> None:
    command = DeclareExemption(unit="U5", ground=ExemptionGround.VAE, detail="décision VAE")
    assert decide(command, given(started()), facts()) == [
        ExemptionDeclared(unit="U5", ground=ExemptionGround.VAE, detail="décision VAE")
    ]


def test_r17_a_general_unit_is_exempted_by_a_diploma() -> None:
    command = DeclareExemption(unit="U1", ground=ExemptionGround.DIPLOMA, detail="DUT GEA 2019")
    assert decide(command, given(started()), facts()) == [
        ExemptionDeclared(unit="U1", ground=ExemptionGround.DIPLOMA, detail="DUT GEA 2019")
    ]


def test_r17_an_exempted_unit_is_not_sat_and_a_sat_unit_is_not_exempted() -> None:
    exempted = run([started()], DeclareExemption(unit="U1", ground=ExemptionGround.DIPLOMA, detail="DUT"))
    with pytest.raises(RuleViolation, match="U1") as refused:
        decide(PROGRESSIVE, given(*exempted), facts())
    assert refused.value.rule == "R-17"
    with pytest.raises(RuleViolation, match="registered") as refused:
        decide(
            DeclareExemption(unit="U1", ground=ExemptionGround.DIPLOMA, detail="DUT"),
            given(*run([started()], PROGRESSIVE)),
            facts(),
        )
    assert refused.value.rule == "R-17"


def test_r17_withdrawing_an_exemption() -> None:
    exempted = run([started()], DeclareExemption(unit="U1", ground=ExemptionGround.DIPLOMA, detail="DUT"))
    assert decide(WithdrawExemption(unit="U1"), given(*exempted), facts()) == [ExemptionWithdrawn(unit="U1")]
    with pytest.raises(InvalidInput) as refused:
        decide(WithdrawExemption(unit="U2"), given(*exempted), facts())
    assert refused.value.field == "unit"


def test_r17_exempting_an_unknown_unit_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(DeclareExemption(unit="U9", ground=ExemptionGround.VAE, detail="VAE"), given(started()), facts())
    assert refused.value.field == "unit"


# --- handicap (R-25) --------------------------------------------------------------------------------


def test_r25_handicap_oui_without_amex_reference_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(DeclareHandicap(handicap=True, amex_reference="  "), given(started()), facts())
    assert refused.value.field == "amex_reference"


def test_r25_handicap_oui_with_amex_reference_and_non_drops_it() -> None:
    oui = DeclareHandicap(handicap=True, amex_reference="AMEX-1", existing_decision=True)
    assert decide(oui, given(started()), facts()) == [
        HandicapDeclared(handicap=True, amex_reference="AMEX-1", existing_decision=True)
    ]
    non = DeclareHandicap(handicap=False, amex_reference="AMEX-1", existing_decision=True)
    assert decide(non, given(started()), facts()) == [
        HandicapDeclared(handicap=False, amex_reference=None, existing_decision=False)
    ]


def test_r25_handicap_oui_after_the_amex_deadline_is_refused() -> None:
    early_amex = calendar_from_local(
        "aix-marseille", 2026, "2025-10-10T08:00", "2025-11-12T17:00", amex_deadline="2025-10-15T17:00"
    )
    late = facts(in_calendar=early_amex)
    with pytest.raises(RuleViolation, match="AMEX") as refused:
        decide(DeclareHandicap(handicap=True, amex_reference="AMEX-1"), given(started()), late)
    assert refused.value.rule == "R-25"
    assert types(decide(DeclareHandicap(handicap=False), given(started()), late)) == ["HandicapDeclared"]


# --- "non inscrit" (R-33) ---------------------------------------------------------------------------


def test_r33_only_staff_set_not_registered() -> None:
    with pytest.raises(PermissionDenied):
        decide(SetNotRegistered(reason="left"), given(started()), facts())
    assert decide(SetNotRegistered(reason="left"), given(started()), facts(staff=True)) == [
        RegistrationSetNotRegistered(reason="left")
    ]


def test_r33_set_not_registered_needs_a_registration_and_happens_once() -> None:
    with pytest.raises(NotFound):
        decide(SetNotRegistered(reason="left"), INITIAL, facts(staff=True))
    history = [started(), RegistrationSetNotRegistered(reason="left")]
    assert decide(SetNotRegistered(reason="again"), given(*history), facts(staff=True)) == []


@pytest.mark.parametrize(
    "command",
    [GLOBALE, ENGLISH, ChangeCategory(category=Category.DISTANCE), ConfirmRegistration()],
    ids=lambda command: type(command).__name__,
)
def test_r33_candidate_commands_after_non_inscrit_are_refused(command: Command) -> None:
    history = [*ready(), RegistrationSetNotRegistered(reason="left its establishment")]
    with pytest.raises(RuleViolation, match="non inscrit") as refused:
        decide(command, given(*history), facts())
    assert refused.value.rule == "R-33"


# --- properties -------------------------------------------------------------------------------------

_COMMANDS: list[Command] = [
    GLOBALE,
    PROGRESSIVE,
    ChooseExamForm(form=ExamForm.PROGRESSIVE, units=("U3", "U4"), confirm_renounce=True),
    ENGLISH,
    ChooseOptionalUnits(units=("UF1",)),
    ChooseOptionalUnits(units=()),
    ChangeCategory(category=Category.REPEATER),
    ChangeCategory(category=Category.DISTANCE),
    DeclareBenefit(unit="U3", grade=Decimal(12), session_obtained=2024),
    DeclareBenefit(unit="U4", grade=Decimal(7), session_obtained=2023),
    RenounceBenefit(unit="U3", confirm=True),
    DeclareExemption(unit="U2", ground=ExemptionGround.DIPLOMA, detail="DUT"),
    DeclareExemption(unit="U6", ground=ExemptionGround.VAE, detail="VAE"),
    WithdrawExemption(unit="U2"),
    DeclareSituation(training_shortened=True),
    DeclareHandicap(handicap=True, amex_reference="AMEX-1", existing_decision=True),
    DeclareHandicap(handicap=False),
    ConfirmRegistration(),
]


@settings(max_examples=200, deadline=None)
@hypothesis_given(st.lists(st.sampled_from(_COMMANDS), max_size=15))
def test_r09_property_replay_equals_incremental_fold_and_repeats_change_nothing(commands: list[Command]) -> None:
    """For any sequence of commands: folding each accepted command's events as they come equals replaying
    the whole history; summary versions count 1, 2, 3...; every change after the confirmation re-confirms;
    repeating an accepted command produces nothing or a refusal (never a new summary, R-09); the
    confirmed units never include an exempted or kept-bénéfice unit (R-14, R-17)."""
    history: list[DomainEvent] = [started()]
    state: RegistrationState = given(*history)
    first_form: FirstForm | None = None
    for command in commands:
        at = facts(first_form=first_form)
        try:
            events = decide(command, state, at)
        except ArchipelError:
            continue
        for event in events:
            state = evolve(state, event)
        history += events
        if state.confirmed and events:
            assert isinstance(events[-1], SummaryIssued | DocumentsRequired)
            assert any(isinstance(e, RegistrationConfirmed) for e in events)
        if first_form is None and state.confirmed and state.form is not None:
            first_form = FirstForm(form=state.form, session=2026)  # as the handler records it
        with contextlib.suppress(ArchipelError):
            assert decide(command, state, facts(first_form=first_form)) == []
    assert replay(REGISTRATION, history) == state
    versions = [e.version for e in history if isinstance(e, SummaryIssued)]
    assert versions == list(range(1, len(versions) + 1))
    for confirmation in (e for e in history if isinstance(e, RegistrationConfirmed)):
        assert not set(confirmation.units) & set(confirmation.exempted_units)
        assert not set(confirmation.units) & set(confirmation.benefit_units)
