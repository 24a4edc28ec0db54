"""The convocation feed as pure functions (R-26, R-17, R-14, R-25).

Each source stream is folded into a part of its own (the account's identity, the registration, the
documents dossier's completeness, the specialty's test schedule, the session calendar); a
candidate's convocations are derived from the parts, never from the order in which the topics
delivered. A candidate is convocable for a specialty when registered, confirmed, not set "non
inscrit", with a complete dossier (DossierComplete) that was not rejected. The units sat are those
of the last RegistrationConfirmed (exempted units and units carried by a kept bénéfice are not sat)
plus the optional units. Tests held before `convocations_from` (CalendarSet, else 15 April of the
session year) make a partial convocation, published at once; the full one is published from
`convocations_from` (at once when every test is earlier)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.dossier.keys import Source, StreamKey, key_of
from shared.contracts import accounts, documents, registration
from shared.events import Envelope
from shared.french import paris
from shared.reference.rules import DEFAULT_CONVOCATIONS_FROM


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Part(Frozen):
    version: int = 0


class Identity(Part):
    last_name: str = ""
    first_names: str = ""
    birth_date: date | None = None


class Candidacy(Part):
    academy: str = ""
    started: bool = False
    confirmed: bool = False
    not_registered: bool = False
    units: tuple[str, ...] = ()
    optional_units: tuple[str, ...] = ()
    language: str | None = None
    excluded: tuple[str, ...] = ()  # exempted and carried by a kept bénéfice
    handicap: bool = False


class Completeness(Part):
    complete: bool = False
    rejected: bool = False


class Schedule(Part):
    specialty_title: str = ""
    tests: tuple[registration.ScheduledTest, ...] = ()


class SessionCalendar(Part):
    convocations_from: date | None = None


AnyPart = Identity | Candidacy | Completeness | Schedule | SessionCalendar


class Test(Frozen):
    unit: str
    title: str
    starts_at: datetime
    duration_minutes: int
    place: str


class Convocation(Frozen):
    candidate_id: UUID
    session: int
    specialty: str
    specialty_title: str
    academy: str
    last_name: str
    first_names: str
    birth_date: date | None
    partial: bool
    tests: tuple[Test, ...]
    unscheduled: tuple[str, ...]
    handicap: bool
    publish_from: date | None  # None: as soon as convocable
    version: str = ""

    def versioned(self) -> Convocation:
        digest = hashlib.sha256(self.model_dump_json(exclude={"version"}).encode()).hexdigest()
        return self.model_copy(update={"version": digest[:16]})


class CandidateKey(NamedTuple):
    candidate_id: UUID
    session: int
    specialty: str


def evolve(part: AnyPart, envelope: Envelope) -> AnyPart:
    """The part after `envelope`; unchanged when already applied or of no interest to it."""
    if envelope.stream_version <= part.version:
        return part
    event = envelope.payload
    changes: dict[str, object] = {}
    match event:
        case accounts.AccountCreated():
            changes = {"last_name": event.last_name, "first_names": event.first_names, "birth_date": event.birth_date}
        case registration.RegistrationStarted():
            changes = {"started": True, "academy": event.academy}
        case registration.RegistrationConfirmed():
            changes = {
                "started": True,
                "academy": event.academy,
                "confirmed": True,
                "not_registered": False,
                "units": event.units,
                "optional_units": event.optional_units,
                "language": event.language,
                "excluded": tuple(sorted({*event.exempted_units, *event.benefit_units})),
                "handicap": event.handicap,
            }
        case registration.RegistrationSetNotRegistered():
            changes = {"not_registered": True, "confirmed": False}
        case documents.DossierComplete():
            changes = {"complete": True}
        case documents.DossierIncomplete() | documents.DocumentRejected():
            changes = {"complete": False}
        case documents.DossierRejected():
            changes = {"rejected": True}
        case registration.SchedulePublished():
            changes = {"specialty_title": event.specialty_title, "tests": event.entries}
        case registration.CalendarSet():
            changes = {"convocations_from": event.convocations_from}
    return part.model_copy(update={"version": envelope.stream_version, **changes})


def convocable(candidacy: Candidacy | None, completeness: Completeness | None) -> bool:
    return (
        candidacy is not None
        and candidacy.started
        and candidacy.confirmed
        and not candidacy.not_registered
        and completeness is not None
        and completeness.complete
        and not completeness.rejected
    )


def units_sat(candidacy: Candidacy) -> tuple[str, ...]:
    sat = (*candidacy.units, *candidacy.optional_units)
    return tuple(dict.fromkeys(u for u in sat if u not in candidacy.excluded))


def _tests_of(unit: str, language: str | None, schedule: Schedule) -> list[Test]:
    """The unit's sittings for the candidate's language, else those for every candidate."""
    own = [t for t in schedule.tests if t.unit == unit and language is not None and t.language == language]
    chosen = own or [t for t in schedule.tests if t.unit == unit and t.language is None]
    return [Test(**t.model_dump(exclude={"language"})) for t in chosen]


def convocations(
    key: CandidateKey,
    *,
    identity: Identity | None,
    candidacy: Candidacy | None,
    completeness: Completeness | None,
    schedule: Schedule | None,
    calendar: SessionCalendar | None,
) -> tuple[Convocation, ...]:
    """The candidate's convocations for the specialty: none, the full one, or a partial one and the full one."""
    if identity is None or candidacy is None or schedule is None or not convocable(candidacy, completeness):
        return ()
    sat = units_sat(candidacy)
    tests = sorted(
        (t for unit in sat for t in _tests_of(unit, candidacy.language, schedule)), key=lambda t: (t.starts_at, t.unit)
    )
    if not tests:
        return ()
    threshold = (calendar.convocations_from if calendar else None) or date(key.session, *DEFAULT_CONVOCATIONS_FROM)
    earlier = tuple(t for t in tests if paris(t.starts_at).date() < threshold)
    base = {
        "candidate_id": key.candidate_id,
        "session": key.session,
        "specialty": key.specialty,
        "specialty_title": schedule.specialty_title,
        "academy": candidacy.academy,
        "last_name": identity.last_name,
        "first_names": identity.first_names,
        "birth_date": identity.birth_date,
        "handicap": candidacy.handicap,
    }
    scheduled = {t.unit for t in tests}
    unscheduled = tuple(u for u in sat if u not in scheduled)
    every = len(earlier) == len(tests)
    full = Convocation(
        **base, partial=False, tests=tuple(tests), unscheduled=unscheduled, publish_from=None if every else threshold
    )
    if not earlier or every:
        return (full.versioned(),)
    partial = Convocation(**base, partial=True, tests=earlier, unscheduled=(), publish_from=None)
    return (partial.versioned(), full.versioned())


def candidate_key(key: StreamKey) -> CandidateKey | None:
    """The candidate, session and specialty of a stream, once its events have said them."""
    if key.candidate_id is None or key.session is None or key.specialty is None:
        return None
    return CandidateKey(key.candidate_id, key.session, key.specialty)


def current(published: Iterable[Convocation], today: date) -> Convocation | None:
    """The convocation to show on `today` (Paris): the full one once published, else the partial one."""
    shown = [c for c in published if c.publish_from is None or c.publish_from <= today]
    return next((c for c in shown if not c.partial), next(iter(shown), None))


class FeedParts:
    """Every part after a sequence of envelopes (the pure counterpart of the read model's tables);
    a candidate stream's part counts once its events have said whose it is (services.dossier.keys)."""

    def __init__(self) -> None:
        self.identities: dict[UUID, Identity] = {}
        self.candidacies: dict[CandidateKey, Candidacy] = {}
        self.completeness: dict[CandidateKey, Completeness] = {}
        self.schedules: dict[tuple[str, int, str], Schedule] = {}
        self.calendars: dict[tuple[str, int], SessionCalendar] = {}
        self.keys: dict[str, StreamKey] = {}  # by stream id, an opaque key
        self.streams: dict[str, AnyPart] = {}  # registration and documents parts, by stream id

    def apply(self, envelope: Envelope) -> None:
        event = envelope.payload
        if isinstance(event, registration.SchedulePublished):
            where = (event.academy, event.session, event.specialty)
            self.schedules[where] = _evolved(self.schedules.get(where) or Schedule(), envelope, Schedule)
            return
        if isinstance(event, registration.CalendarSet):
            at = (event.academy, event.session)
            self.calendars[at] = _evolved(self.calendars.get(at) or SessionCalendar(), envelope, SessionCalendar)
            return
        said = key_of(envelope)
        if said is None:
            return
        key = self.keys[envelope.stream_id] = said.learned(self.keys.get(envelope.stream_id))
        if key.source is Source.ACCOUNT:
            if key.candidate_id is not None:
                identity = self.identities.get(key.candidate_id) or Identity()
                self.identities[key.candidate_id] = _evolved(identity, envelope, Identity)
            return
        kind = {Source.REGISTRATION: Candidacy, Source.DOCUMENTS: Completeness}.get(key.source)
        if kind is None:
            return
        part = self.streams[envelope.stream_id] = evolve(self.streams.get(envelope.stream_id) or kind(), envelope)
        mine = candidate_key(key)
        if isinstance(part, Candidacy) and mine is not None:
            self.candidacies[mine] = part
        elif isinstance(part, Completeness) and mine is not None:
            self.completeness[mine] = part

    def convocations(self, key: CandidateKey) -> tuple[Convocation, ...]:
        candidacy = self.candidacies.get(key)
        academy = candidacy.academy if candidacy else ""
        return convocations(
            key,
            identity=self.identities.get(key.candidate_id),
            candidacy=candidacy,
            completeness=self.completeness.get(key),
            schedule=self.schedules.get((academy, key.session, key.specialty)),
            calendar=self.calendars.get((academy, key.session)),
        )


P = TypeVar("P", Identity, Candidacy, Completeness, Schedule, SessionCalendar)


def _evolved(part: P, envelope: Envelope, kind: type[P]) -> P:
    result = evolve(part, envelope)
    assert isinstance(result, kind)
    return result


def fold(envelopes: Iterable[Envelope]) -> dict[CandidateKey, tuple[Convocation, ...]]:
    """The feed after `envelopes`, in any interleaving of the streams: convocable candidates only."""
    parts = FeedParts()
    for envelope in envelopes:
        parts.apply(envelope)
    keys = sorted({*parts.candidacies, *parts.completeness})
    return {key: found for key in keys if (found := parts.convocations(key))}
