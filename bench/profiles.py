"""Who the synthetic candidates are: a realistic mix of académies, categories, specialties, exam
forms, carried grades, exemptions and first-group results (the deliberation's input too)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from services.results.deliberation import Absence, CarriedGrade, UnitResult
from shared.contracts.accounts import REGISTRY as ACCOUNTS
from shared.contracts.documents import REGISTRY as DOCUMENTS
from shared.contracts.registration import REGISTRY as REGISTRATION
from shared.contracts.registration import Category
from shared.contracts.results import REGISTRY as RESULTS
from shared.events import CommandContext, DomainEvent, EventRegistry
from shared.reference import ExamForm, Regulation, regulation_for

SESSION = 2026
CAMPAIGN_START = datetime(2025, 10, 10, 6, 0, tzinfo=UTC)
ACADEMIES = (
    "aix-marseille",
    "amiens",
    "besancon",
    "bordeaux",
    "clermont-ferrand",
    "corse",
    "creteil",
    "dijon",
    "grenoble",
    "guadeloupe",
    "guyane",
    "la-reunion",
    "lille",
    "limoges",
    "lyon",
    "martinique",
    "mayotte",
    "montpellier",
    "nancy-metz",
    "nantes",
    "nice",
    "normandie",
    "orleans-tours",
    "paris",
    "poitiers",
    "reims",
    "rennes",
    "strasbourg",
    "toulouse",
    "versailles",
)
# Candidats ponctuels: the four categories of, in rough proportions.
CATEGORIES = (
    (Category.INDIVIDUAL, 0.40),
    (Category.DISTANCE, 0.25),
    (Category.PROFESSIONAL_EXPERIENCE, 0.20),
    (Category.REPEATER, 0.15),
)
SPECIALTIES = (("MCO", 0.35), ("NDRC", 0.30), ("SIO-SISR", 0.20), ("SIO-SLAM", 0.15))
REGISTRY: EventRegistry = ACCOUNTS.merged(REGISTRATION).merged(DOCUMENTS).merged(RESULTS)


@dataclass(frozen=True)
class Command:
    """One command's events on one stream, with the version the stream is at before it."""

    service: str
    stream_id: str
    expected_version: int
    events: tuple[DomainEvent, ...]
    context: CommandContext


@dataclass(frozen=True)
class Profile:
    """Who a candidate is and what they sit: the input of both the events and the deliberation."""

    candidate_id: UUID
    academy: str
    category: Category
    specialty: str
    form: ExamForm
    optional_units: tuple[str, ...]
    results: dict[str, UnitResult]
    handicap: bool
    start: datetime  # when the candidate's account is created

    @property
    def registration_id(self) -> str:
        return f"registration-{self.candidate_id}-{SESSION}-{self.specialty}"

    @property
    def carried(self) -> dict[str, CarriedGrade]:
        return {code: r.benefit for code, r in self.results.items() if r.benefit is not None}

    @property
    def dispensed(self) -> tuple[str, ...]:
        return tuple(code for code, r in self.results.items() if r.dispensed)


def _pick(rng: random.Random, weighted: Sequence[tuple[object, float]]) -> object:
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


def _grade(rng: random.Random) -> Decimal:
    """A grade out of 20 in quarter points, around 11."""
    raw = min(20.0, max(0.0, rng.gauss(11.0, 3.5)))
    return Decimal(round(raw * 4)) / 4


def regulations() -> dict[str, Regulation]:
    return {specialty: regulation_for(str(specialty), SESSION) for specialty, _ in SPECIALTIES}


def profile(rng: random.Random, academies: Sequence[str], regs: dict[str, Regulation]) -> Profile:
    category = Category(str(_pick(rng, CATEGORIES)))
    specialty = str(_pick(rng, SPECIALTIES))
    regulation = regs[specialty]
    form = ExamForm.PROGRESSIVE if rng.random() < 0.12 else ExamForm.GLOBALE
    results: dict[str, UnitResult] = {}
    for unit in regulation.units:
        roll = rng.random()
        if form is ExamForm.PROGRESSIVE and roll < 0.25:
            continue  # a unit not sat this session: the deliberation is INCOMPLET
        if category is Category.REPEATER and roll < 0.35:
            carried = CarriedGrade(grade=Decimal(10) + _grade(rng) / 2, session=SESSION - rng.choice((1, 2)))
            results[unit.code] = UnitResult(benefit=carried)
        elif category is Category.PROFESSIONAL_EXPERIENCE and unit.code == "U1" and roll < 0.3:
            results[unit.code] = UnitResult(dispensed=True)
        elif roll > 0.995:
            results[unit.code] = UnitResult(absent=Absence.UNJUSTIFIED)
        elif roll > 0.99:
            results[unit.code] = UnitResult(absent=Absence.JUSTIFIED)
        else:
            results[unit.code] = UnitResult(grade=_grade(rng))
    optional = tuple(u.code for u in regulation.optional_units[:1] if rng.random() < 0.4)
    for code in optional:
        results[code] = UnitResult(grade=_grade(rng))
    return Profile(
        candidate_id=UUID(int=rng.getrandbits(128), version=4),
        academy=rng.choice(list(academies)),
        category=category,
        specialty=specialty,
        form=form,
        optional_units=optional,
        results=results,
        handicap=rng.random() < 0.05,
        start=CAMPAIGN_START + timedelta(seconds=rng.randrange(30 * 24 * 3600)),
    )


class Writer:
    """Collects a candidate's commands, keeping each stream's version and a moving clock."""

    def __init__(self, rng: random.Random, who: Profile) -> None:
        self.rng = rng
        self.who = who
        self.now = who.start
        self.versions: dict[str, int] = {}
        self.commands: list[Command] = []

    def add(self, service: str, stream: str, actor: str, *events: DomainEvent) -> None:
        self.now += timedelta(minutes=self.rng.randrange(1, 600))
        context = CommandContext(
            academy=self.who.academy,
            actor=actor,
            occurred_at=self.now,
            candidate_id=str(self.who.candidate_id),
            trace_context={"traceparent": f"00-{self.rng.getrandbits(128):032x}-{self.rng.getrandbits(64):016x}-01"},
        )
        version = self.versions.get(stream, 0)
        self.commands.append(Command(service, stream, version, events, context))
        self.versions[stream] = version + len(events)


def new_uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)
