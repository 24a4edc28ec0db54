"""The results service's declaration around its decider: stream ids built and parsed in one place,
the facts each command needs (the regulation of the session, R-32, only to deliberate), whose stream
it is (the registration's académie), the intake's command, and a jury file's result cells."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID, uuid4

import pytest

from services.results.commands import Deliberate, NoteRegistration, RecordAbsence, RecordControle, RecordGrade
from services.results.domain import NO_FACTS, RESULTS, ResultsFacts
from services.results.facts import ReferenceFacts
from services.results.jury import parse_result
from services.results.queries import ResultsQueries
from services.results.service import (
    COMMANDS,
    REGISTRATION_INTAKE,
    ResultsPorts,
    registration_command,
    results_facts,
    results_scope,
    stream_of,
)
from services.results.state import INITIAL, ResultsState
from services.results.streams import ResultsKey, results_key_of, results_stream
from shared.auth import Role
from shared.contracts.registration import CarriedGrade, Category, RegistrationConfirmed
from shared.contracts.results import RegistrationNoted
from shared.decider import replay
from shared.errors import InvalidInput
from shared.events import Envelope
from shared.pipeline import Call, Scope
from shared.reference import ExamForm, regulation_for

CANDIDATE = UUID("0b5e7c1a-0000-4000-8000-0000000000f1")
SESSION, SPECIALTY, ACADEMY = 2026, "SIO-SISR", "aix-marseille"
KEY = ResultsKey(CANDIDATE, SESSION, SPECIALTY)
REGULATION = regulation_for(SPECIALTY, SESSION)
NOW = datetime(2026, 6, 26, 8, 0, tzinfo=UTC)


def registered() -> ResultsState:
    noted = RegistrationNoted(
        candidate_id=CANDIDATE,
        academy=ACADEMY,
        session=SESSION,
        specialty=SPECIALTY,
        form="globale",
        units=("U1",),
        optional_units=(),
        exempted_units=(),
        benefits=(),
        source_event_id=uuid4(),
    )
    return replay(RESULTS, [noted])


def ports() -> ResultsPorts:
    return ResultsPorts(ReferenceFacts([REGULATION]), cast(ResultsQueries, None))  # the facts need no queries


async def facts_of(command: Any, state: ResultsState) -> ResultsFacts:
    call = Call(command, None, stream_of(command), state, 1, NOW)
    return await results_facts(ports(), call)


def test_the_stream_id_is_stored_as_before_and_parsed_back() -> None:
    stream = results_stream(CANDIDATE, SESSION, SPECIALTY)
    assert stream == f"results-{CANDIDATE}-2026-SIO-SISR"
    assert results_key_of(stream) == KEY
    assert stream_of(Deliberate(candidate_id=CANDIDATE, session=SESSION, specialty=SPECIALTY)) == stream
    with pytest.raises(ValueError, match="not a results stream"):
        results_key_of(f"registration-{CANDIDATE}-2026-SIO-SISR")


def test_the_reference_facts_give_the_regulation_of_the_session_or_name_the_field() -> None:
    facts = ReferenceFacts([REGULATION])
    assert facts.regulation(SPECIALTY, SESSION) == REGULATION
    with pytest.raises(InvalidInput) as unknown:
        facts.regulation("NOPE", SESSION)
    assert unknown.value.field == "specialty"
    with pytest.raises(InvalidInput) as early:
        facts.regulation(SPECIALTY, 1990)
    assert early.value.field == "session"
    assert ReferenceFacts().regulation(SPECIALTY, SESSION) == REGULATION  # the reference data's own


async def test_only_a_deliberation_on_a_known_registration_gathers_the_regulation() -> None:
    key = {"candidate_id": CANDIDATE, "session": SESSION, "specialty": SPECIALTY}
    deliberate = Deliberate(**key)
    controle = RecordControle(grades={"U1": Decimal(12)}, **key)
    grade = RecordGrade(unit="U1", grade=Decimal(12), **key)
    assert (await facts_of(deliberate, registered())).regulation == REGULATION
    assert (await facts_of(controle, registered())).regulation == REGULATION
    assert await facts_of(grade, registered()) is NO_FACTS
    assert await facts_of(deliberate, INITIAL) is NO_FACTS  # nothing to deliberate: decide says not found


def test_a_results_stream_belongs_to_the_academie_of_its_registration() -> None:
    absence = RecordAbsence(unit="U1", candidate_id=CANDIDATE, session=SESSION, specialty=SPECIALTY)
    assert results_scope(absence, registered(), NO_FACTS) == Scope(ACADEMY, CANDIDATE)
    assert results_scope(absence, INITIAL, NO_FACTS) == Scope(None, CANDIDATE)
    note = registration_command(envelope(confirmed("lyon")))
    assert results_scope(note, INITIAL, NO_FACTS) == Scope("lyon", CANDIDATE)


def test_staff_send_the_jury_commands_and_only_the_intake_notes_a_registration() -> None:
    roles = {spec.name: spec.roles for spec in COMMANDS}
    assert roles == {
        "NoteRegistration": frozenset(),
        "RecordGrade": {Role.STAFF},
        "RecordAbsence": {Role.STAFF},
        "Deliberate": {Role.STAFF},
        "RecordControle": {Role.STAFF},
    }
    assert REGISTRATION_INTAKE.event_type == "RegistrationConfirmed"


def confirmed(academy: str = ACADEMY) -> RegistrationConfirmed:
    return RegistrationConfirmed(
        registration_id=f"{CANDIDATE}-{SESSION}-{SPECIALTY}",
        candidate_id=CANDIDATE,
        academy=academy,
        session=SESSION,
        specialty=SPECIALTY,
        category=Category.INDIVIDUAL,
        form=ExamForm.PROGRESSIVE,
        units=("U3",),
        optional_units=("UF1",),
        language=None,
        exempted_units=("U1",),
        benefit_units=("U2",),
        handicap=False,
        benefits=(CarriedGrade(unit="U2", grade=Decimal("9.5"), session_obtained=2025),),
    )


def envelope(event: RegistrationConfirmed) -> Envelope:
    return Envelope(
        event_id=uuid4(),
        stream_id=f"registration-{CANDIDATE}-{SESSION}-{SPECIALTY}",
        stream_version=1,
        event_type=event.event_type,
        schema_version=event.schema_version,
        occurred_at=NOW,
        recorded_at=NOW,
        academy=event.academy,
        actor="test",
        candidate_id=str(CANDIDATE),
        correlation_id=uuid4(),
        causation_id=None,
        payload=event,
    )


def test_the_intake_turns_a_confirmed_registration_into_a_note_naming_its_source() -> None:
    consumed = envelope(confirmed())
    command = registration_command(consumed)
    assert isinstance(command, NoteRegistration)
    assert (command.source_event_id, command.form, command.units) == (consumed.event_id, "progressive", ("U3",))
    assert [(b.unit, b.grade, b.session_obtained) for b in command.benefits] == [("U2", Decimal("9.5"), 2025)]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12,5", RecordGrade(unit="U1", grade=Decimal("12.5"), **vars(KEY))),
        (" 14.25 ", RecordGrade(unit="U1", grade=Decimal("14.25"), **vars(KEY))),
        ("abs", RecordAbsence(unit="U1", justified=False, **vars(KEY))),
        ("ABJ", RecordAbsence(unit="U1", justified=True, **vars(KEY))),
    ],
)
def test_a_jury_file_cell_is_a_grade_or_an_absence(cell: str, expected: object) -> None:
    assert parse_result(KEY, "U1", cell) == expected


def test_a_jury_file_cell_that_is_neither_names_the_result_column() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_result(KEY, "U1", "onze")
    assert error.value.field == "result"
