"""The results service, declared once: its commands (the results decider, the regulation each
deliberation needs, staff of the registration's académie only), the registration intake, its read
models, its API. `python -m services results serve|relay|projections`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.results.commands import (
    Command,
    Deliberate,
    NoteRegistration,
    RecordAbsence,
    RecordControle,
    RecordGrade,
)
from services.results.domain import NO_FACTS, RESULTS, ResultsFacts
from services.results.facts import ReferenceFacts, ResultsFactsPort
from services.results.projections import OutcomesReadModel
from services.results.queries import ResultsQueries
from services.results.state import ResultsState
from services.results.streams import results_stream
from shared import known_accounts
from shared.auth import Role
from shared.contracts.registration import RegistrationConfirmed
from shared.contracts.results import REGISTRY, Carried
from shared.events import Envelope, EventRegistry
from shared.intake import Intake
from shared.pipeline import Call, CommandSpec, Pipeline, Scope
from shared.service import Api, Runtime, Service

STAFF = frozenset({Role.STAFF})


@dataclass(frozen=True)
class ResultsPorts:
    facts: ResultsFactsPort
    queries: ResultsQueries


def ports(runtime: Runtime) -> ResultsPorts:
    return ResultsPorts(ReferenceFacts(), ResultsQueries(runtime.store.pool))


async def results_facts(ports: ResultsPorts, call: Call[Command, ResultsState]) -> ResultsFacts:
    """The regulation of the registration's specialty and session (R-32), for a deliberation."""
    state = call.state
    if isinstance(call.command, Deliberate | RecordControle) and state.registered:
        return ResultsFacts(regulation=ports.facts.regulation(state.specialty, state.session))
    return NO_FACTS


def results_scope(command: Command, state: ResultsState, facts: ResultsFacts) -> Scope:
    """The académie of the registration noted on the stream: its staff record and deliberate (a
    stream with no registration yet has none, and decide finds nothing there)."""
    if state.registered:
        return Scope(state.academy, command.candidate_id)
    return Scope(command.academy if isinstance(command, NoteRegistration) else None, command.candidate_id)


def stream_of(command: Command) -> str:
    return results_stream(command.candidate_id, command.session, command.specialty)


def registration_command(envelope: Envelope) -> NoteRegistration:
    """RegistrationConfirmed (registration topic) -> NoteRegistration; redeliveries change nothing."""
    event = envelope.payload
    assert isinstance(event, RegistrationConfirmed)
    return NoteRegistration(
        candidate_id=event.candidate_id,
        academy=event.academy,
        session=event.session,
        specialty=event.specialty,
        form=event.form,
        units=event.units,
        optional_units=event.optional_units,
        exempted_units=event.exempted_units,
        benefits=tuple(
            Carried(unit=b.unit, grade=b.grade, session_obtained=b.session_obtained) for b in event.benefits
        ),
        source_event_id=envelope.event_id,
    )


# The other services' events it reads (the published contract); the accounts' feed the shared known
# accounts read model.
INBOUND = EventRegistry([RegistrationConfirmed]).merged(known_accounts.INBOUND)

REGISTRATION_INTAKE = Intake(
    "results_registration_intake", RegistrationConfirmed.event_type, registration_command, "system:results-intake"
)

COMMANDS: tuple[CommandSpec[Any, Any, Any, ResultsPorts], ...] = (
    CommandSpec(NoteRegistration, RESULTS, stream_of, results_facts, results_scope, roles=frozenset()),
    *(
        CommandSpec(command, RESULTS, stream_of, results_facts, results_scope, roles=STAFF)
        for command in (RecordGrade, RecordAbsence, Deliberate, RecordControle)
    ),
)


def api(runtime: Runtime, pipeline: Pipeline[ResultsPorts], ports: ResultsPorts) -> Api:
    from archipel.results.v1 import results_pb2_grpc as pb_grpc  # noqa: PLC0415 (generated stubs)
    from services.results.api import SERVICE_NAME, ResultsServicer  # noqa: PLC0415

    servicer = ResultsServicer(pipeline, ports, runtime.verifier("results"), runtime.clock)
    return Api([SERVICE_NAME], lambda server: pb_grpc.add_ResultsServicer_to_server(servicer, server))


SERVICE = Service(
    name="results",
    registry=REGISTRY,
    ports=ports,
    commands=COMMANDS,
    api=api,
    token_versions=known_accounts.versions,
    projections=lambda: [known_accounts.KnownAccounts("results"), OutcomesReadModel()],
    projection_topics=("accounts", "registration", "results"),
    inbound=INBOUND,
    intakes=(REGISTRATION_INTAKE,),
)
