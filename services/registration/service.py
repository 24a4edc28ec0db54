"""The registration service, declared once: the registration, calendar and schedule commands
(decider, facts, scope, private rows with the summary PDFs rendered before the transaction), the
calendars of the data files published at start, its read models, its API.
`python -m services registration serve|relay|projections`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from services.registration.commands import OnRegistration, PublishSchedule, SeedCalendar, SetCalendar
from services.registration.domain import REGISTRATION, Facts, RegistrationState
from services.registration.domain.calendar import CALENDAR, CalendarState, calendar_of
from services.registration.domain.schedule import SCHEDULE, ScheduleFacts, ScheduleState
from services.registration.facts import PgRegistrationFacts, RegistrationFacts, regulation_of
from services.registration.forgotten import ForgottenSummaries
from services.registration.private import TABLES, ConfirmedForm, RenderedSummary, calendar_row, registration_rows
from services.registration.projections import GrantedBenefits, RegistrationsView
from services.registration.queries import RegistrationQueries
from services.registration.streams import calendar_stream, registration_stream, schedule_stream
from shared import known_accounts
from shared.auth import Role
from shared.contracts.registration import REGISTRY, RegistrationConfirmed, SummaryIssued
from shared.contracts.results import BenefitGranted
from shared.errors import ConcurrencyError
from shared.events import EventRegistry
from shared.eventstore import ExtraWrite
from shared.pipeline import Call, CommandSpec, Decision, Pipeline, Scope, no_facts
from shared.reference import Calendar, ReferenceData, load_reference
from shared.reference.labels import window_label
from shared.service import Api, Runtime, Service

log = logging.getLogger(__name__)
STAFF = frozenset({Role.STAFF})


@dataclass(frozen=True)
class RegistrationPorts:
    facts: RegistrationFacts
    queries: RegistrationQueries
    reference: ReferenceData


def ports(runtime: Runtime) -> RegistrationPorts:
    reference = load_reference()
    pool = runtime.store.pool
    return RegistrationPorts(PgRegistrationFacts(pool, reference), RegistrationQueries(pool, reference), reference)


# -- registrations ----------------------------------------------------------------------------------


def stream_of(command: OnRegistration) -> str:
    key = command.key
    return registration_stream(key.candidate_id, key.session, key.specialty)


async def registration_facts(ports: RegistrationPorts, call: Call[OnRegistration, RegistrationState]) -> Facts:
    key, state = call.command.key, call.state
    regulation = regulation_of(ports.reference, key.specialty, key.session)
    candidate = None if state.exists else await ports.facts.candidate(key.candidate_id)
    academy = state.academy if state.exists else (candidate.academy if candidate else None)
    calendar = await ports.facts.calendar(academy, key.session) if academy else None
    start = not state.exists
    return Facts(
        now=call.now,
        calendar=calendar,
        window=window_label(calendar) if calendar else "",
        regulation=regulation,
        rare_languages=ports.reference.rare_languages,
        candidate=candidate,
        first_form=await ports.facts.first_form(key.candidate_id, key.specialty),
        staff=call.principal is not None and call.principal.role is Role.STAFF,
        granted=await ports.facts.granted(key.candidate_id, key.specialty) if start else (),
    )


def registration_scope(command: OnRegistration, state: RegistrationState, facts: Facts) -> Scope:
    """The registration's académie (the candidate's, before it exists) and its candidate."""
    academy = state.academy if state.exists else (facts.candidate.academy if facts.candidate else None)
    return Scope(academy, command.key.candidate_id)


async def registration_writes(
    ports: RegistrationPorts, decision: Decision[OnRegistration, RegistrationState, Facts]
) -> ExtraWrite | None:
    """The first confirmed form (R-11) and the summary PDFs (R-09). The PDFs are rendered here,
    before the transaction (in a thread: it is CPU work), so the append transaction stays short
    and does not hold back the relays' log horizon."""
    from services.registration.summary import render_summary  # noqa: PLC0415 (reportlab, when a summary is issued)
    from services.registration.summary_view import summary_view  # noqa: PLC0415

    confirmed = next((e for e in decision.events if isinstance(e, RegistrationConfirmed)), None)
    issued = [e for e in decision.events if isinstance(e, SummaryIssued)]
    if confirmed is None and not issued:
        return None
    summaries: list[RenderedSummary] = []
    if issued:
        facts, state = decision.facts, decision.state
        identity = await ports.facts.identity(decision.call.command.key.candidate_id) or {}
        views = [summary_view(state, facts.regulation, identity, event, facts.calendar) for event in issued]
        pdfs = await asyncio.to_thread(lambda: [render_summary(view) for view in views])
        summaries = [RenderedSummary(e.version, e.issued_at, pdf) for e, pdf in zip(issued, pdfs, strict=True)]
    form = (
        ConfirmedForm(confirmed.candidate_id, confirmed.specialty, confirmed.session, confirmed.form)
        if confirmed
        else None
    )
    return registration_rows(decision.call.stream, form, summaries)


# -- calendars and schedules ------------------------------------------------------------------------


def calendar_scope(command: SetCalendar | SeedCalendar, state: CalendarState, facts: None) -> Scope:
    return Scope(command.academy if isinstance(command, SetCalendar) else command.calendar.academy)


def calendar_stream_of(command: SetCalendar | SeedCalendar) -> str:
    calendar = command.calendar if isinstance(command, SeedCalendar) else command
    return calendar_stream(calendar.academy, calendar.session)


async def calendar_writes(
    ports: RegistrationPorts, decision: Decision[SetCalendar | SeedCalendar, CalendarState, None]
) -> ExtraWrite:
    """The calendar in force, read by the registration commands' facts and by GetCalendar."""
    command = decision.call.command
    calendar: Calendar = command.calendar if isinstance(command, SeedCalendar) else calendar_of(command)
    return calendar_row(calendar)


async def schedule_facts(ports: RegistrationPorts, call: Call[PublishSchedule, ScheduleState]) -> ScheduleFacts:
    regulation = regulation_of(ports.reference, call.command.specialty, call.command.session)
    return ScheduleFacts(regulation=regulation, rare_languages=ports.reference.rare_languages)


# The other services' events it reads (the published contract); the accounts' feed the shared known
# accounts read model.
INBOUND = EventRegistry([BenefitGranted]).merged(known_accounts.INBOUND)

COMMANDS: tuple[CommandSpec[Any, Any, Any, RegistrationPorts], ...] = (
    CommandSpec(
        OnRegistration,
        REGISTRATION,
        stream_of,
        registration_facts,
        registration_scope,
        writes=registration_writes,
    ),
    CommandSpec(
        SetCalendar, CALENDAR, calendar_stream_of, no_facts, calendar_scope, roles=STAFF, writes=calendar_writes
    ),
    CommandSpec(
        SeedCalendar, CALENDAR, calendar_stream_of, no_facts, calendar_scope, roles=frozenset(), writes=calendar_writes
    ),
    CommandSpec(
        PublishSchedule,
        SCHEDULE,
        lambda c: schedule_stream(c.academy, c.session, c.specialty),
        schedule_facts,
        lambda c, state, facts: Scope(c.academy),
        roles=STAFF,
    ),
)


async def publish_seeded_calendars(pipeline: Pipeline[RegistrationPorts]) -> int:
    """The calendars of the data files become CalendarSet events once, so that every service
    (documents deadlines...) learns them from the registration topic. Returns how many."""
    published = 0
    for calendar in pipeline.ports.reference.calendars:
        try:
            outcome = await pipeline.execute_as_service(SeedCalendar(calendar=calendar), actor="system")
        except ConcurrencyError:
            continue  # another replica seeded it first
        published += bool(outcome.events)
    log.info("registration: %d seeded calendars published", published)
    return published


def api(runtime: Runtime, pipeline: Pipeline[RegistrationPorts], ports: RegistrationPorts) -> Api:
    from archipel.registration.v1 import registration_pb2_grpc as pb_grpc  # noqa: PLC0415 (generated stubs)
    from services.registration.api import SERVICE_NAME, RegistrationServicer  # noqa: PLC0415

    servicer = RegistrationServicer(pipeline, ports, runtime.verifier("registration"), runtime.clock)
    return Api([SERVICE_NAME], lambda server: pb_grpc.add_RegistrationServicer_to_server(servicer, server))


async def on_start(pipeline: Pipeline[RegistrationPorts]) -> None:
    await publish_seeded_calendars(pipeline)


SERVICE = Service(
    name="registration",
    registry=REGISTRY,
    ports=ports,
    commands=COMMANDS,
    api=api,
    token_versions=known_accounts.versions,
    projections=lambda: [
        known_accounts.KnownAccounts("registration"),
        GrantedBenefits(),
        RegistrationsView(),
        ForgottenSummaries(),
    ],
    projection_topics=("accounts", "registration", "results"),
    inbound=INBOUND,
    tables=TABLES,
    on_start=on_start,
)
