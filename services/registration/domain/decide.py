"""decide(state, command, facts) -> events: every registration rule of the guide (pure).

`Facts` carries what the handler looked up for the command: the clock's `now`, the calendar (with its
window in French for the R-07/R-08 refusals: rendering is not the domain's job), the regulation of the
registration's académie and session, the rare languages, the candidate's first exam form for this
specialty (R-11) and whether a staff member acts.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

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
    StartRegistration,
    WithdrawExemption,
)
from services.registration.domain.documents import required_documents
from services.registration.domain.state import Exemption, RegistrationState, replay
from services.registration.events import (
    BenefitDeclared,
    BenefitOrigin,
    BenefitRenounced,
    CarriedGrade,
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
    RegistrationStarted,
    SituationDeclared,
    SummaryIssued,
)
from shared.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import DomainEvent
from shared.reference.calendars import Calendar
from shared.reference.forms import ExamForm
from shared.reference.regulations import Domain, Regulation
from shared.reference.rules import BENEFIT_SESSIONS, MAX_OPTIONAL_UNITS, PASS_GRADE


class FirstForm(BaseModel):
    """The form of the candidate's first confirmed registration for the specialty (R-11)."""

    model_config = ConfigDict(frozen=True)

    form: ExamForm
    session: int


class GrantedBenefit(BaseModel):
    """A carried grade granted by an earlier deliberation (results service's BenefitGranted)."""

    model_config = ConfigDict(frozen=True)

    unit: str
    grade: Decimal
    session_obtained: int
    valid_through_session: int


class Facts(BaseModel):
    model_config = ConfigDict(frozen=True)

    now: datetime
    calendar: Calendar | None
    window: str = ""  # the calendar's window in French, for the refusals (rendered by the caller)
    regulation: Regulation
    rare_languages: frozenset[str] = frozenset()
    first_form: FirstForm | None = None
    staff: bool = False
    granted: tuple[GrantedBenefit, ...] = ()


def registration_id(candidate_id: object, session: int, specialty: str) -> str:
    return f"registration-{candidate_id}-{session}-{specialty}"


def decide(state: RegistrationState, command: Command, facts: Facts) -> list[DomainEvent]:
    if isinstance(command, SetNotRegistered):
        return _set_not_registered(state, command, facts)
    _check_window(facts)
    if isinstance(command, StartRegistration):
        return _start(state, command, facts)
    _check_active(state)
    if isinstance(command, ConfirmRegistration):
        return [] if state.confirmed else _confirmation(state, facts, first=True)
    changes = _change(state, command, facts)
    if state.confirmed and changes:
        changes += _confirmation(replay(changes, state), facts, first=False, previous=state)
    return changes


def _check_window(facts: Facts) -> None:
    """R-07, R-08: nothing is created or changed outside the window (Europe/Paris times)."""
    calendar = facts.calendar
    if calendar is None:
        raise RuleViolation("R-07", "no registration calendar is set for this académie and session")
    if facts.now < calendar.registration_opens:
        raise RuleViolation("R-07", f"registration is not open yet: it runs {facts.window}")
    if not calendar.registration_open(facts.now):
        raise RuleViolation(
            "R-08",
            f"registration is closed, no late registration or change is accepted: it ran {facts.window}",
        )


def _check_active(state: RegistrationState) -> None:
    if not state.exists:
        raise NotFound("no registration for this candidate, session and specialty: start one first")
    if state.not_registered:
        raise RuleViolation("R-33", "this registration was set 'non inscrit' by the rectorate; contact it")


def _start(state: RegistrationState, command: StartRegistration, facts: Facts) -> list[DomainEvent]:
    if state.exists:
        raise AlreadyExists("a registration exists already for this candidate, session and specialty: modify it")
    events: list[DomainEvent] = [
        RegistrationStarted(
            registration_id=registration_id(command.candidate_id, command.session, command.specialty),
            candidate_id=command.candidate_id,
            academy=command.academy,
            session=command.session,
            specialty=command.specialty,
            category=command.category,
        )
    ]
    # the bénéfices granted at earlier sessions and still valid are listed.
    for granted in facts.granted:
        age = command.session - granted.session_obtained
        if 1 <= age <= BENEFIT_SESSIONS and command.session <= granted.valid_through_session:
            events.append(
                BenefitDeclared(
                    unit=granted.unit,
                    grade=granted.grade,
                    session_obtained=granted.session_obtained,
                    origin=BenefitOrigin.GRANTED,
                )
            )
    return events


def _change(state: RegistrationState, command: Command, facts: Facts) -> list[DomainEvent]:
    regulation = facts.regulation
    match command:
        case ChangeCategory():
            return [] if command.category is state.category else [CategoryChanged(category=command.category)]
        case ChooseExamForm():
            return _choose_form(state, command, facts)
        case ChooseLanguage():
            return _choose_language(state, command, facts)
        case ChooseOptionalUnits():
            return _choose_options(state, command, regulation)
        case DeclareBenefit():
            return _declare_benefit(state, command, facts)
        case RenounceBenefit():
            return _renounce(state, command)
        case DeclareExemption():
            return _declare_exemption(state, command, regulation)
        case WithdrawExemption():
            if command.unit not in state.exemptions:
                raise InvalidInput("unit", f"{command.unit} has no exemption to withdraw")
            return [ExemptionWithdrawn(unit=command.unit)]
        case DeclareSituation():
            unchanged = (command.training_shortened, command.r408_exemption) == (
                state.training_shortened,
                state.r408_exemption,
            )
            if command.r408_exemption and not regulation.requires_r408:
                raise InvalidInput("r408_exemption", f"{regulation.specialty} does not require the R408 attestation")
            return (
                []
                if unchanged
                else [
                    SituationDeclared(
                        training_shortened=command.training_shortened, r408_exemption=command.r408_exemption
                    )
                ]
            )
        case DeclareHandicap():
            return _declare_handicap(state, command, facts)
    raise TypeError(f"unknown command {type(command).__name__}")


def _form_of(state: RegistrationState, facts: Facts) -> ExamForm | None:
    return state.form or (facts.first_form.form if facts.first_form else None)


def _choose_form(state: RegistrationState, command: ChooseExamForm, facts: Facts) -> list[DomainEvent]:
    first = facts.first_form
    if first is not None and first.form is not command.form:
        raise RuleViolation(
            "R-11",
            f"the choice of exam form is definitive since the first registration for {facts.regulation.specialty}: "
            f"forme {first.form.value} in session {first.session}",
        )
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


def _choose_language(state: RegistrationState, command: ChooseLanguage, facts: Facts) -> list[DomainEvent]:
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


def _choose_options(
    state: RegistrationState, command: ChooseOptionalUnits, regulation: Regulation
) -> list[DomainEvent]:
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


def _declare_benefit(state: RegistrationState, command: DeclareBenefit, facts: Facts) -> list[DomainEvent]:
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
    form = _form_of(state, facts)
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


def _renounce(state: RegistrationState, command: RenounceBenefit) -> list[DomainEvent]:
    benefit = state.benefits.get(command.unit)
    if benefit is None:
        raise InvalidInput("unit", f"{command.unit} carries no bénéfice")
    if benefit.renounced:
        raise RuleViolation("R-16", f"the bénéfice of {command.unit} is already renounced (definitively)")
    if not command.confirm:
        raise RuleViolation("R-16", "renouncing a bénéfice is definitive: confirm to proceed")
    return [BenefitRenounced(unit=command.unit, session_obtained=benefit.session_obtained, by_registering=False)]


def _declare_exemption(
    state: RegistrationState, command: DeclareExemption, regulation: Regulation
) -> list[DomainEvent]:
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


def _declare_handicap(state: RegistrationState, command: DeclareHandicap, facts: Facts) -> list[DomainEvent]:
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


def _confirmation(
    state: RegistrationState, facts: Facts, *, first: bool, previous: RegistrationState | None = None
) -> list[DomainEvent]:
    """Confirming (R-09): RegistrationConfirmed, a new summary version, and the documents the
    dossier needs when they changed. A change after confirmation re-issues all of it."""
    regulation = facts.regulation
    if state.form is None:
        raise RuleViolation("R-10", "choose the exam form (globale or progressive) before confirming")
    if regulation.languages and state.language is None:
        raise RuleViolation("R-12", "choose the compulsory language before confirming")
    if state.category is None or state.candidate_id is None or state.registration_id is None:
        raise RuleViolation("R-01", "the registration has no category")
    first_form = facts.first_form
    if first and first_form is not None and first_form.form is not state.form:
        raise RuleViolation(
            "R-11",
            f"the exam form is definitive since session {first_form.session}: forme {first_form.form.value}",
        )
    events: list[DomainEvent] = [
        RegistrationConfirmed(
            registration_id=state.registration_id,
            candidate_id=state.candidate_id,
            academy=state.academy,
            session=state.session,
            specialty=state.specialty,
            category=state.category,
            form=state.form,
            units=sat_units(state, regulation),
            optional_units=state.optional_units,
            language=state.language,
            exempted_units=tuple(sorted(state.exemptions)),
            benefit_units=tuple(sorted(state.kept_benefits())),
            handicap=bool(state.handicap),
            benefits=tuple(
                CarriedGrade(unit=b.unit, grade=b.grade, session_obtained=b.session_obtained)
                for _, b in sorted(state.kept_benefits().items())
            ),
        ),
        SummaryIssued(version=state.summary_version + 1, issued_at=facts.now),
    ]
    documents = required_documents(state, regulation.requires_r408)
    if previous is None or documents != previous.required_documents:
        events.append(
            DocumentsRequired(
                registration_id=state.registration_id,
                candidate_id=state.candidate_id,
                academy=state.academy,
                session=state.session,
                specialty=state.specialty,
                documents=documents,
                deadline=facts.calendar.documents_deadline if facts.calendar else None,
            )
        )
    return events


def _set_not_registered(state: RegistrationState, command: SetNotRegistered, facts: Facts) -> list[DomainEvent]:
    if not facts.staff:
        raise PermissionDenied("only rectorate staff set a registration 'non inscrit' (R-33)")
    if not state.exists:
        raise NotFound("no such registration")
    return [] if state.not_registered else [RegistrationSetNotRegistered(reason=command.reason)]
