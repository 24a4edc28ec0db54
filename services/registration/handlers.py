"""Registration command handlers: authorise, load -> decide -> append (with the summary PDF and the
first form choice written in the same transaction)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from asyncpg import Record

from services.registration.commands import Command, StartRegistration
from services.registration.domain import Facts, FirstForm, RegistrationState, decide, registration_id, replay
from services.registration.domain.decide import GrantedBenefit
from services.registration.events import CalendarSet, RegistrationConfirmed, SummaryIssued
from services.registration.summary import render_summary
from services.registration.summary_view import summary_view
from shared.auth import Principal, Role
from shared.clock import Clock
from shared.db import Connection
from shared.errors import ConcurrencyError, InvalidInput, NotFound, PermissionDenied, RuleViolation
from shared.events import CommandContext, DomainEvent
from shared.eventstore import EventStore
from shared.reference import Calendar, ExamForm, ReferenceData, Regulation, calendar_from_local
from shared.reference.labels import window_label
from shared.telemetry import current_context_carrier


@dataclass(frozen=True)
class Key:
    candidate_id: UUID
    session: int
    specialty: str

    @property
    def stream(self) -> str:
        return registration_id(self.candidate_id, self.session, self.specialty)


@dataclass(frozen=True)
class Summary:
    version: int
    issued_at: datetime
    sha256: str
    pdf: bytes


class RegistrationHandlers:
    def __init__(self, store: EventStore, clock: Clock, reference: ReferenceData) -> None:
        self.store = store
        self.clock = clock
        self.reference = reference

    # -- reading -----------------------------------------------------------------------------

    async def load(self, key: Key) -> tuple[RegistrationState, int]:
        envelopes = await self.store.read_stream(key.stream)
        return replay([e.payload for e in envelopes]), len(envelopes)

    async def calendar(self, academy: str, session: int) -> Calendar | None:
        row = await self.store.pool.fetchrow(
            "SELECT * FROM calendars WHERE academy = $1 AND session = $2", academy, session
        )
        if row is None:
            return self.reference.calendar(academy, session)
        return Calendar.model_validate({**dict(row), "source": row["source"]})

    def regulation(self, specialty: str, session: int) -> Regulation:
        if specialty not in self.reference.specialties():
            known = ", ".join(self.reference.specialties())
            raise InvalidInput("specialty", f"unknown specialty {specialty!r} (known: {known})")
        try:
            return self.reference.regulation(specialty, session)
        except LookupError as error:
            raise InvalidInput("session", str(error)) from None

    async def get(self, principal: Principal, key: Key) -> tuple[RegistrationState, int]:
        state, version = await self.load(key)
        if not state.exists or not principal.may_read(str(key.candidate_id), state.academy):
            raise NotFound("no such registration (or not yours to see)")
        return state, version

    async def summary(self, principal: Principal, key: Key, version: int) -> Summary:
        state, _ = await self.get(principal, key)
        wanted = version or state.summary_version
        row = await self.store.pool.fetchrow(
            "SELECT version, issued_at, sha256, pdf FROM summaries WHERE registration_id = $1 AND version = $2",
            key.stream,
            wanted,
        )
        if row is None:
            raise NotFound(f"no summary version {wanted} (versions 1 to {state.summary_version} exist)")
        return Summary(row["version"], row["issued_at"], row["sha256"], row["pdf"])

    async def list_registrations(
        self, principal: Principal, session: int | None, specialty: str | None
    ) -> list[Record]:
        """A candidate's own registrations; staff and auditors, their académie's."""
        column, value = (
            ("candidate_id", UUID(principal.subject))
            if principal.role is Role.CANDIDATE
            else (
                "academy",
                principal.academy,
            )
        )
        rows: list[Record] = await self.store.pool.fetch(
            f"SELECT * FROM registration_list WHERE {column} = $1"
            " AND ($2::int IS NULL OR session = $2) AND ($3::text IS NULL OR specialty = $3)"
            " ORDER BY session, specialty, registration_id",
            value,
            session,
            specialty,
        )
        return rows

    # -- commands ----------------------------------------------------------------------------

    async def execute(self, principal: Principal, key: Key, command: Command) -> tuple[RegistrationState, int]:
        principal.require_writer()
        state, version = await self.load(key)
        academy = state.academy if state.exists else await self._academy_of_candidate(key.candidate_id, command)
        self._authorise(principal, key, academy)
        regulation = self.regulation(key.specialty, key.session)
        calendar = await self.calendar(academy, key.session)
        facts = Facts(
            now=self.clock(),
            calendar=calendar,
            window=window_label(calendar) if calendar else "",
            regulation=regulation,
            rare_languages=self.reference.rare_languages,
            first_form=await self._first_form(key),
            staff=principal.role is Role.STAFF,
            granted=await self._granted(key) if isinstance(command, StartRegistration) else (),
        )
        events = decide(state, command, facts)
        if not events:
            return state, version
        new_state = replay(events, state)
        # The summary PDF is rendered before the transaction (in a thread: it is CPU work), so the
        # append transaction stays short and does not hold back the relays' log horizon.
        summaries = await self._render_summaries(key, new_state, events, regulation, facts)

        async def private_rows(connection: Connection) -> None:
            await self._record_private(connection, key, events, summaries)

        context = CommandContext(
            academy=academy,
            actor=f"{principal.role.value}:{principal.subject}",
            occurred_at=facts.now,
            candidate_id=str(key.candidate_id),
            trace_context=current_context_carrier(),
        )
        await self.store.append(key.stream, version, events, context, extra=private_rows)
        return new_state, version + len(events)

    def _authorise(self, principal: Principal, key: Key, academy: str) -> None:
        if principal.role is Role.CANDIDATE and principal.subject != str(key.candidate_id):
            raise PermissionDenied("a candidate acts only on their own registrations")
        if principal.role is Role.STAFF and principal.academy != academy:
            raise PermissionDenied("staff act only within their académie")

    async def _academy_of_candidate(self, candidate_id: UUID, command: Command) -> str:
        row = await self.store.pool.fetchrow(
            "SELECT academy, activated_at, role FROM candidates WHERE account_id = $1", candidate_id
        )
        if not isinstance(command, StartRegistration):
            if row is None:
                raise NotFound("no registration for this candidate, session and specialty: start one first")
            return str(row["academy"])
        if row is None or row["activated_at"] is None:
            raise RuleViolation(
                "R-04",
                "the account is not activated (or its activation is still being processed: retry in a moment); "
                "activate it through the emailed link before registering",
            )
        if row["role"] and row["role"] != Role.CANDIDATE.value:
            raise InvalidInput("candidate_id", "this account is not a candidate account")
        if command.academy != row["academy"]:
            raise InvalidInput("academy", f"the candidate's account belongs to the académie {row['academy']}")
        return str(row["academy"])

    async def _first_form(self, key: Key) -> FirstForm | None:
        row = await self.store.pool.fetchrow(
            "SELECT form, session FROM form_choices WHERE candidate_id = $1 AND specialty = $2",
            key.candidate_id,
            key.specialty,
        )
        return FirstForm(form=ExamForm(row["form"]), session=row["session"]) if row else None

    async def _granted(self, key: Key) -> tuple[GrantedBenefit, ...]:
        rows = await self.store.pool.fetch(
            "SELECT unit, grade, session, valid_through_session FROM granted_benefits"
            " WHERE candidate_id = $1 AND specialty = $2 ORDER BY unit, session",
            key.candidate_id,
            key.specialty,
        )
        return tuple(
            GrantedBenefit(
                unit=r["unit"],
                grade=r["grade"],
                session_obtained=r["session"],
                valid_through_session=r["valid_through_session"],
            )
            for r in rows
        )

    async def _render_summaries(
        self, key: Key, state: RegistrationState, events: list[DomainEvent], regulation: Regulation, facts: Facts
    ) -> dict[int, bytes]:
        issued = [event for event in events if isinstance(event, SummaryIssued)]
        if not issued:
            return {}
        identity = await self.store.pool.fetchrow("SELECT * FROM candidates WHERE account_id = $1", key.candidate_id)
        views = [summary_view(state, regulation, dict(identity) if identity else {}, e, facts.calendar) for e in issued]
        pdfs = await asyncio.to_thread(lambda: [render_summary(view) for view in views])
        return {event.version: pdf for event, pdf in zip(issued, pdfs, strict=True)}

    async def _record_private(
        self, connection: Connection, key: Key, events: list[DomainEvent], summaries: dict[int, bytes]
    ) -> None:
        for event in events:
            if isinstance(event, RegistrationConfirmed):
                await self._fix_form(connection, key, event.form)
            if isinstance(event, SummaryIssued):
                pdf = summaries[event.version]
                await connection.execute(
                    "INSERT INTO summaries (registration_id, version, issued_at, sha256, pdf)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    key.stream,
                    event.version,
                    event.issued_at,
                    hashlib.sha256(pdf).hexdigest(),
                    pdf,
                )

    async def _fix_form(self, connection: Connection, key: Key, form: ExamForm) -> None:
        """R-11: the first confirmed registration fixes the form for the specialty, for good."""
        await connection.execute(
            "INSERT INTO form_choices (candidate_id, specialty, form, session) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (candidate_id, specialty) DO NOTHING",
            key.candidate_id,
            key.specialty,
            form.value,
            key.session,
        )
        fixed = await connection.fetchrow(
            "SELECT form, session FROM form_choices WHERE candidate_id = $1 AND specialty = $2",
            key.candidate_id,
            key.specialty,
        )
        if fixed is None or fixed["form"] != form.value:
            first = f"session {fixed['session']}: forme {fixed['form']}" if fixed else "an earlier session"
            raise RuleViolation("R-11", f"the exam form is definitive since {first}")

    async def set_calendar(
        self,
        principal: Principal,
        academy: str,
        session: int,
        local_times: dict[str, str | None],
        reason: str,
    ) -> Calendar:
        principal.require_writer()
        if principal.role is not Role.STAFF or principal.academy != academy:
            raise PermissionDenied("only staff of this académie set its calendar")
        if not reason.strip():
            raise InvalidInput("reason", "say why the calendar changes (it stays in the history)")
        try:
            calendar = calendar_from_local(
                academy,
                session,
                opens=local_times.get("opens") or "",
                closes=local_times.get("closes") or "",
                documents_deadline=local_times.get("documents_deadline"),
                amex_deadline=local_times.get("amex_deadline"),
                convocations_from=local_times.get("convocations_from"),
                source=f"staff:{principal.subject}",
            )
        except ValueError as error:
            raise InvalidInput("calendar", str(error).splitlines()[0]) from None
        stream = f"calendar-{academy}-{session}"
        version = len(await self.store.read_stream(stream))
        await self._record_calendar(calendar, reason.strip(), f"staff:{principal.subject}", version)
        return calendar

    async def publish_seeded_calendars(self) -> int:
        """The calendars of the data files become CalendarSet events once, so that every service
        (documents deadlines...) learns them from the registration topic. Returns how many."""
        published = 0
        for calendar in self.reference.calendars:
            stream = f"calendar-{calendar.academy}-{calendar.session}"
            if await self.store.read_stream(stream):
                continue
            try:
                await self._record_calendar(calendar, f"seeded from the data file ({calendar.source})", "system", 0)
            except ConcurrencyError:
                continue  # another replica seeded it first
            published += 1
        return published

    async def _record_calendar(self, calendar: Calendar, reason: str, actor: str, expected_version: int) -> None:
        event = CalendarSet(
            academy=calendar.academy,
            session=calendar.session,
            registration_opens=calendar.registration_opens,
            registration_closes=calendar.registration_closes,
            documents_deadline=calendar.documents_deadline,
            amex_deadline=calendar.amex_deadline,
            convocations_from=calendar.convocations_from,
            reason=reason,
        )

        async def upsert(connection: Connection) -> None:
            await connection.execute(
                "INSERT INTO calendars VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (academy, session) DO UPDATE"
                " SET registration_opens = $3, registration_closes = $4, documents_deadline = $5,"
                " amex_deadline = $6, convocations_from = $7, source = $8",
                calendar.academy,
                calendar.session,
                calendar.registration_opens,
                calendar.registration_closes,
                calendar.documents_deadline,
                calendar.amex_deadline,
                calendar.convocations_from,
                calendar.source,
            )

        context = CommandContext(
            academy=calendar.academy, actor=actor, occurred_at=self.clock(), trace_context=current_context_carrier()
        )
        await self.store.append(
            f"calendar-{calendar.academy}-{calendar.session}", expected_version, [event], context, extra=upsert
        )
