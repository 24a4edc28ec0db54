"""decide(command, state, facts) -> events: every registration rule of the guide (pure). The facts
(services.registration.domain.facts) carry what the service looked up for the command."""

from __future__ import annotations

from functools import reduce
from typing import assert_never
from uuid import UUID

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
    OnRegistration,
    RenounceBenefit,
    SetNotRegistered,
    StartRegistration,
    WithdrawExemption,
)
from services.registration.domain import choices
from services.registration.domain.choices import definitive_form, sat_units
from services.registration.domain.documents import required_documents
from services.registration.domain.facts import Facts
from services.registration.domain.state import INITIAL, RegistrationState, evolve
from services.registration.streams import registration_stream
from shared.auth import Role
from shared.contracts.registration import (
    BenefitDeclared,
    BenefitOrigin,
    CarriedGrade,
    CategoryChanged,
    DocumentsRequired,
    ExemptionWithdrawn,
    RegistrationConfirmed,
    RegistrationSetNotRegistered,
    RegistrationStarted,
    SituationDeclared,
    SummaryIssued,
)
from shared.decider import Aggregate
from shared.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import DomainEvent
from shared.reference.rules import BENEFIT_SESSIONS


def registration_id(candidate_id: UUID, session: int, specialty: str) -> str:
    return registration_stream(candidate_id, session, specialty)


def decide(command: Command, state: RegistrationState, facts: Facts) -> list[DomainEvent]:
    if not isinstance(command, StartRegistration) and not state.exists and facts.candidate is None:
        raise NotFound("no registration for this candidate, session and specialty: start one first")
    if isinstance(command, SetNotRegistered):
        return _set_not_registered(state, command, facts)
    if isinstance(command, StartRegistration):
        _check_candidate(command, facts)
        _check_window(facts)
        return _start(state, command, facts)
    _check_window(facts)
    _check_active(state)
    if isinstance(command, ConfirmRegistration):
        return [] if state.confirmed else _confirmation(state, facts, first=True)
    changes = _change(command, state, facts)
    if state.confirmed and changes:
        changes += _confirmation(reduce(evolve, changes, state), facts, first=False, previous=state)
    return changes


def decide_on_registration(command: OnRegistration, state: RegistrationState, facts: Facts) -> list[DomainEvent]:
    """The pipeline's entry: the addressed command (its key chose the stream) decided."""
    return decide(command.command, state, facts)


def _check_candidate(command: StartRegistration, facts: Facts) -> None:
    """R-04: only an activated candidate account registers, in its own académie."""
    candidate = facts.candidate
    if candidate is None or not candidate.activated:
        raise RuleViolation(
            "R-04",
            "the account is not activated (or its activation is still being processed: retry in a moment); "
            "activate it through the emailed link before registering",
        )
    if candidate.role and candidate.role != Role.CANDIDATE.value:
        raise InvalidInput("candidate_id", "this account is not a candidate account")
    if command.academy != candidate.academy:
        raise InvalidInput("academy", f"the candidate's account belongs to the académie {candidate.academy}")


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
            registration_id=registration_stream(command.candidate_id, command.session, command.specialty),
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


def _change(command: Command, state: RegistrationState, facts: Facts) -> list[DomainEvent]:
    regulation = facts.regulation
    match command:
        case ChangeCategory():
            return [] if command.category is state.category else [CategoryChanged(category=command.category)]
        case ChooseExamForm():
            return choices.choose_form(state, command, facts)
        case ChooseLanguage():
            return choices.choose_language(state, command, facts)
        case ChooseOptionalUnits():
            return choices.choose_options(state, command, regulation)
        case DeclareBenefit():
            return choices.declare_benefit(state, command, facts)
        case RenounceBenefit():
            return choices.renounce(state, command)
        case DeclareExemption():
            return choices.declare_exemption(state, command, regulation)
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
            return choices.declare_handicap(state, command, facts)
        case StartRegistration() | ConfirmRegistration() | SetNotRegistered():
            raise AssertionError(f"{type(command).__name__} is decided before the changes")
        case _:
            assert_never(command)


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
    if first:
        definitive_form(state.form, facts)
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


REGISTRATION = Aggregate("registration", INITIAL, evolve, decide_on_registration)
