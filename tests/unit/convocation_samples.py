"""Candidates of a session as the producers publish them, for the convocation feed: each stream's
events in order, serialised as the relay does and read back through the dossier's inbound registry.
Shared by tests/unit/test_convocation_feed.py and tests/integration/test_convocations.py."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from services.dossier.inbound import INBOUND
from shared.auth import Role
from shared.contracts import accounts, documents, registration
from shared.events import DomainEvent, Envelope
from shared.reference import ExamForm

SESSION = 2026
SPECIALTY = "SIO-SISR"
ACADEMY = "aix-marseille"
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
ALL = ("U1", "U2", "U3", "U4", "U5", "U6", "U7")


def paris(day: str, hour: int) -> datetime:
    """A Paris wall-clock time of spring 2026 (UTC+1 before 29 March, UTC+2 after) in UTC."""
    moment = datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=UTC)
    return moment - timedelta(hours=1 if moment < datetime(2026, 3, 29, tzinfo=UTC) else 2)


def sitting(
    unit: str, when: datetime, place: str = "Lycée Thiers, Marseille", language: str | None = None
) -> registration.ScheduledTest:
    return registration.ScheduledTest(
        unit=unit, title=f"Épreuve {unit}", starts_at=when, duration_minutes=240, place=place, language=language
    )


SCHEDULE = (
    sitting("U2", paris("2026-03-20", 10), place="Lycée Périer, Marseille"),  # earlier: oral de langue
    sitting("U2", paris("2026-02-10", 14), place="Rectorat, Aix-en-Provence", language="arabe"),  # rare language
    *(sitting(u, paris(f"2026-05-{11 + i:02d}", 9)) for i, u in enumerate(("U1", "U3", "U4", "U5", "U6"))),
)  # U7 is not scheduled yet


@dataclass
class Publisher:
    """Numbers each stream's events and keeps what the relay published (event id -> JSON)."""

    versions: dict[str, int] = field(default_factory=dict)
    raw: dict[UUID, bytes] = field(default_factory=dict)
    streams: dict[str, list[Envelope]] = field(default_factory=dict)
    clock: datetime = T0

    def publish(self, stream: str, event: DomainEvent, academy: str = ACADEMY, candidate: UUID | None = None) -> None:
        self.versions[stream] = version = self.versions.get(stream, 0) + 1
        self.clock += timedelta(minutes=3)
        produced = Envelope(
            event_id=uuid.uuid4(),
            stream_id=stream,
            stream_version=version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=self.clock,
            recorded_at=self.clock,
            academy=academy,
            actor="test",
            candidate_id=str(candidate) if candidate else None,
            correlation_id=uuid.uuid4(),
            causation_id=None,
            payload=event,
        )
        self.raw[produced.event_id] = produced.to_json()
        self.streams.setdefault(stream, []).append(INBOUND.decode_envelope(self.raw[produced.event_id]))

    def schedule(self, entries: tuple[registration.ScheduledTest, ...] = SCHEDULE, academy: str = ACADEMY) -> None:
        event = registration.SchedulePublished(
            academy=academy,
            session=SESSION,
            specialty=SPECIALTY,
            specialty_title="Services informatiques aux organisations, option SISR",
            entries=entries,
            reason="calendrier national",
        )
        self.publish(f"schedule-{academy}-{SESSION}-{SPECIALTY}", event, academy)

    def calendar(self, convocations_from: date | None) -> None:
        event = registration.CalendarSet(
            academy=ACADEMY,
            session=SESSION,
            registration_opens=T0 - timedelta(days=100),
            registration_closes=T0 - timedelta(days=50),
            documents_deadline=None,
            amex_deadline=None,
            convocations_from=convocations_from,
            reason="test",
        )
        self.publish(f"calendar-{ACADEMY}-{SESSION}", event)

    def candidate(
        self,
        *,
        units: tuple[str, ...] = ALL,
        exempted: tuple[str, ...] = (),
        benefits: tuple[str, ...] = (),
        form: ExamForm = ExamForm.GLOBALE,
        language: str = "anglais",
        handicap: bool = False,
        confirmed: bool = True,
        dossier: str = "complete",  # complete | incomplete | rejected | none
        not_registered: bool = False,
        academy: str = ACADEMY,
    ) -> UUID:
        c = uuid.uuid4()
        self.publish(
            f"account-{c}",
            accounts.AccountCreated(
                account_id=c,
                role=Role.CANDIDATE,
                last_name="Martin",
                first_names="Léa",
                birth_date=date(2004, 5, 14),
                email=f"{c.hex[:8]}@example.fr",
                academy=academy,
            ),
            academy,
            c,
        )
        key = {"candidate_id": c, "academy": academy, "session": SESSION, "specialty": SPECIALTY}
        rid = f"registration-{c}-{SESSION}-{SPECIALTY}"
        category = registration.Category.INDIVIDUAL
        self.publish(rid, registration.RegistrationStarted(registration_id=rid, category=category, **key), academy, c)
        if confirmed:
            confirmation = registration.RegistrationConfirmed(
                registration_id=rid,
                category=category,
                form=form,
                units=tuple(u for u in units if u not in exempted and u not in benefits),
                optional_units=(),
                language=language,
                exempted_units=exempted,
                benefit_units=benefits,
                handicap=handicap,
                **key,
            )
            self.publish(rid, confirmation, academy, c)
        if not_registered:
            self.publish(rid, registration.RegistrationSetNotRegistered(reason="pièces falsifiées"), academy, c)
        stream = f"dossier-{c}-{SESSION}-{SPECIALTY}"
        by_kind: dict[str, DomainEvent] = {
            "complete": documents.DossierComplete(candidate_id=c, session=SESSION, specialty=SPECIALTY),
            "incomplete": documents.DossierIncomplete(candidate_id=c, missing=("identity",), wrong=(), note=""),
        }
        if dossier in by_kind:
            self.publish(stream, by_kind[dossier], academy, c)
        if dossier == "rejected":
            self.publish(stream, by_kind["complete"], academy, c)
            self.publish(
                stream,
                documents.DossierRejected(candidate_id=c, reason="fraude"),
                academy,
                c,
            )
        return c

    def interleaved(self, seed: int, duplicates: bool = True) -> list[Envelope]:
        """Every stream in its own order, the streams interleaved at random (some events redelivered)."""
        rng = random.Random(seed)
        queues = {name: list(events) for name, events in self.streams.items()}
        out: list[Envelope] = []
        while queues:
            name = rng.choice(sorted(queues))
            envelope = queues[name].pop(0)
            out.append(envelope)
            if duplicates and rng.random() < 0.2:
                out.append(envelope)
            if not queues[name]:
                del queues[name]
        return out
