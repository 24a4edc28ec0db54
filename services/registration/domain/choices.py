"""The registration's choices (pure): exam form (R-10, R-11), language (R-12), optional tests (R-13),
bénéfices (R-14 to R-16), exemptions (R-17), handicap (R-25)."""

from __future__ import annotations

from services.registration.commands import (
    ChooseExamForm,
    ChooseLanguage,
    ChooseOptionalUnits,
    DeclareBenefit,
    DeclareExemption,
    DeclareHandicap,
    RenounceBenefit,
)
from services.registration.domain.facts import Facts
from services.registration.domain.state import Exemption, RegistrationState
from shared.contracts.registration import (
    BenefitDeclared,
    BenefitOrigin,
    BenefitRenounced,
    ExamFormChosen,
    ExemptionDeclared,
    ExemptionGround,
    HandicapDeclared,
    LanguageChosen,
    OptionalUnitsChosen,
)
from shared.errors import InvalidInput, RuleViolation
from shared.events import DomainEvent
from shared.reference.forms import ExamForm
from shared.reference.regulations import Domain, Regulation
from shared.reference.rules import BENEFIT_SESSIONS, MAX_OPTIONAL_UNITS, PASS_GRADE


def definitive_form(form: ExamForm, facts: Facts) -> None:
    """R-11, decided here only: once a registration of the candidate for the specialty was confirmed
    (the `first_form` fact, kept by the private `form_choices` row), no other form is chosen or
    confirmed, in this session or a later one."""
    first = facts.first_form
    if first is not None and first.form is not form:
        raise RuleViolation(
            "R-11",
            f"the choice of exam form is definitive since the first registration for {facts.regulation.specialty}: "
            f"forme {first.form.value} in session {first.session}",
        )


def form_of(state: RegistrationState, facts: Facts) -> ExamForm | None:
    return state.form or (facts.first_form.form if facts.first_form else None)


def choose_form(state: RegistrationState, command: ChooseExamForm, facts: Facts) -> list[DomainEvent]:
    definitive_form(command.form, facts)
    units = command.units
    if command.form is ExamForm.GLOBALE and units:
        raise InvalidInput("units", "forme globale sits every unit in one session: list no units")
    if command.form is ExamForm.PROGRESSIVE:
        if not units:
            raise InvalidInput("units", "forme progressive: choose the units sat this session")
        if len(set(units)) != len(units):
            raise InvalidInput("units", "a unit is listed twice")
        unknown = sorted(set(units) - facts.regulation.unit_codes())
        if unknown:
            raise InvalidInput("units", f"not units of {facts.regulation.specialty}: {', '.join(unknown)}")
        exempted = sorted(set(units) & set(state.exemptions))
        if exempted:
            raise RuleViolation("R-17", f"exempted units are not taken: {', '.join(exempted)}")
    if command.form is state.form and units == state.chosen_units:
        return []
    if command.form is ExamForm.GLOBALE:
        below = sorted(code for code, b in state.kept_benefits().items() if b.grade < PASS_GRADE)
        if below:
            raise RuleViolation(
                "R-14",
                f"in forme globale only grades of 10/20 or more are kept as bénéfices: {', '.join(below)} "
                "carry a lower one; renounce it or keep forme progressive",
            )
    events: list[DomainEvent] = []
    for code in units:
        benefit = state.kept_benefits().get(code)
        if benefit is None:
            continue
        if not command.confirm_renounce:
            raise RuleViolation(
                "R-16",
                f"{code} carries a bénéfice ({benefit.grade}/20, session {benefit.session_obtained}): registering "
                "for it renounces the bénéfice definitively and the new grade counts even if lower; confirm to proceed",
            )
        events.append(BenefitRenounced(unit=code, session_obtained=benefit.session_obtained, by_registering=True))
    events.append(ExamFormChosen(form=command.form, units=units))
    return events


def choose_language(state: RegistrationState, command: ChooseLanguage, facts: Facts) -> list[DomainEvent]:
    offered = facts.regulation.languages
    if command.language not in offered:
        raise InvalidInput(
            "language", f"not offered for {facts.regulation.specialty}: choose among {', '.join(offered)}"
        )
    if not command.teaching_followed:
        raise RuleViolation("R-12", "a compulsory language test requires having followed its teaching")
    if command.language == state.language:
        return []
    return [
        LanguageChosen(language=command.language, teaching_followed=True, rare=command.language in facts.rare_languages)
    ]


def choose_options(state: RegistrationState, command: ChooseOptionalUnits, regulation: Regulation) -> list[DomainEvent]:
    if len(command.units) > MAX_OPTIONAL_UNITS:
        raise RuleViolation("R-13", f"at most {MAX_OPTIONAL_UNITS} optional tests")
    if len(set(command.units)) != len(command.units):
        raise InvalidInput("units", "an optional test is listed twice")
    unknown = [code for code in command.units if regulation.optional_unit(code) is None]
    if unknown:
        allowed = ", ".join(u.code for u in regulation.optional_units) or "none"
        raise InvalidInput(
            "units",
            f"not optional tests of {regulation.specialty}: {', '.join(unknown)} (allowed: {allowed})",
        )
    return [] if command.units == state.optional_units else [OptionalUnitsChosen(units=command.units)]


def declare_benefit(state: RegistrationState, command: DeclareBenefit, facts: Facts) -> list[DomainEvent]:
    if facts.regulation.unit(command.unit) is None:
        raise InvalidInput("unit", f"not a unit of {facts.regulation.specialty}")
    previous = state.benefits.get(command.unit)
    if previous is not None and previous.renounced:
        raise RuleViolation("R-16", f"the bénéfice of {command.unit} was renounced, and renouncing is definitive")
    if command.unit in state.chosen_units:
        raise RuleViolation("R-16", f"{command.unit} is registered for this session, which renounces its bénéfice")
    age = state.session - command.session_obtained
    if age < 1:
        raise InvalidInput("session_obtained", f"must be a session before {state.session}")
    if age > BENEFIT_SESSIONS:
        raise RuleViolation(
            "R-14",
            f"a bénéfice is kept for the {BENEFIT_SESSIONS} following sessions: obtained in "
            f"{command.session_obtained}, it was valid through {command.session_obtained + BENEFIT_SESSIONS}",
        )
    form = form_of(state, facts)
    if form is None:
        raise RuleViolation("R-14", "choose the exam form first: which grades are kept depends on it (R-14, R-15)")
    if form is ExamForm.GLOBALE and command.grade < PASS_GRADE:
        raise RuleViolation("R-14", "in forme globale only grades of 10/20 or more are kept as bénéfices")
    if previous is not None and (previous.grade, previous.session_obtained) == (
        command.grade,
        command.session_obtained,
    ):
        return []  # nothing changes: no new summary version
    return [
        BenefitDeclared(
            unit=command.unit,
            grade=command.grade,
            session_obtained=command.session_obtained,
            origin=BenefitOrigin.DECLARED,
        )
    ]


def renounce(state: RegistrationState, command: RenounceBenefit) -> list[DomainEvent]:
    benefit = state.benefits.get(command.unit)
    if benefit is None:
        raise InvalidInput("unit", f"{command.unit} carries no bénéfice")
    if benefit.renounced:
        raise RuleViolation("R-16", f"the bénéfice of {command.unit} is already renounced (definitively)")
    if not command.confirm:
        raise RuleViolation("R-16", "renouncing a bénéfice is definitive: confirm to proceed")
    return [BenefitRenounced(unit=command.unit, session_obtained=benefit.session_obtained, by_registering=False)]


def declare_exemption(state: RegistrationState, command: DeclareExemption, regulation: Regulation) -> list[DomainEvent]:
    unit = regulation.unit(command.unit)
    if unit is None:
        raise InvalidInput("unit", f"not a unit of {regulation.specialty}")
    if unit.domain is Domain.PROFESSIONAL and command.ground is not ExemptionGround.VAE:
        raise RuleViolation("R-17", f"{unit.code} is a professional-domain test: only a VAE decision exempts from it")
    if command.unit in state.chosen_units:
        raise RuleViolation("R-17", f"{command.unit} is registered for this session: remove it from the units first")
    if state.exemptions.get(command.unit) == Exemption(unit=command.unit, ground=command.ground, detail=command.detail):
        return []  # nothing changes: no new summary version
    return [ExemptionDeclared(unit=command.unit, ground=command.ground, detail=command.detail)]


def declare_handicap(state: RegistrationState, command: DeclareHandicap, facts: Facts) -> list[DomainEvent]:
    if command.handicap and not command.amex_reference:
        raise InvalidInput("amex_reference", "required when the answer is OUI: the AMEX request's reference (R-25)")
    deadline = facts.calendar.amex_deadline if facts.calendar else None
    if command.handicap and deadline is not None and facts.now >= deadline:
        raise RuleViolation("R-25", "arrangement requests are accepted until the AMEX deadline, now passed")
    declared = HandicapDeclared(
        handicap=command.handicap,
        amex_reference=command.amex_reference if command.handicap else None,
        existing_decision=command.existing_decision and command.handicap,
    )
    if (state.handicap, state.amex_reference, state.existing_decision) == (
        declared.handicap,
        declared.amex_reference,
        declared.existing_decision,
    ):
        return []  # nothing changes: no new summary version
    return [declared]


def sat_units(state: RegistrationState, regulation: Regulation) -> tuple[str, ...]:
    """The units the candidate sits this session: progressive, the chosen ones; globale, every
    unit that is neither exempted (R-17) nor carried by a kept bénéfice (R-14)."""
    if state.form is ExamForm.PROGRESSIVE:
        return state.chosen_units
    carried = set(state.exemptions) | set(state.kept_benefits())
    return tuple(u.code for u in regulation.units if u.code not in carried)
