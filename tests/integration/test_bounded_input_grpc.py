"""Bounded input at the gRPC edge (issue 13), registration service on the real PostgreSQL and Kafka:
a 2 MB string or 5,000 items in an RPC that carries free text or lists gets INVALID_ARGUMENT naming
the field (never the value), nothing is appended, and the next valid command's event reaches the
topic as usual (a 2 MB calendar reason used to be appended and halt the relay for good)."""

from __future__ import annotations

import asyncio
import json

import grpc
from google.protobuf.message import Message
from kafka import KafkaProducer

from archipel.registration.v1 import registration_pb2 as pb
from shared.kafka import ADMIN, kafka_access, producer_config
from shared.relay import Relay
from tests.integration.registration_fixtures import (  # noqa: F401 (registration_server is the `registration` fixture)
    ACADEMY,
    SPECIALTY,
    RegistrationServer,
    key,
    refused,
    registration_server,
)
from tests.integration.sample_events import read_topic

HUGE = "a" * (2 * 1024 * 1024)
MANY = 5_000


def calendar(reason: str) -> pb.SetCalendarRequest:
    return pb.SetCalendarRequest(
        academy=ACADEMY,
        session=2027,
        registration_opens="2026-10-01T08:00",
        registration_closes="2026-12-01T17:00",
        reason=reason,
    )


def entry(place: str = "Lycée Thiers") -> pb.ScheduleEntry:
    return pb.ScheduleEntry(unit="U1", starts_at="2027-05-12T09:00", duration_minutes=240, place=place)


def schedule(entries: list[pb.ScheduleEntry], reason: str = "calendrier national") -> pb.PublishScheduleRequest:
    return pb.PublishScheduleRequest(academy=ACADEMY, session=2027, specialty=SPECIALTY, entries=entries, reason=reason)


async def test_oversized_strings_and_lists_are_refused_naming_the_field_and_nothing_is_appended(
    registration: RegistrationServer,
) -> None:
    candidate_id, me = await registration.candidate()
    staff = registration.staff()
    k = key()
    cases: list[tuple[str, Message, str, bool]] = [
        ("SetCalendar", calendar(HUGE), "reason", True),
        ("SetCalendar", pb.SetCalendarRequest(academy=HUGE, session=2027, reason="r"), "academy", True),
        ("PublishSchedule", schedule([entry()] * MANY), "entries", True),
        ("PublishSchedule", schedule([entry(HUGE)]), "entries.0.place", True),
        ("PublishSchedule", schedule([entry()], reason=HUGE), "reason", True),
        (
            "StartRegistration",
            pb.StartRegistrationRequest(key=key(specialty=HUGE), category="individual"),
            "specialty",
            False,
        ),
        ("ChooseLanguage", pb.ChooseLanguageRequest(key=k, language=HUGE), "language", False),
        ("ChooseOptionalUnits", pb.ChooseOptionalUnitsRequest(key=k, units=["UF1"] * MANY), "units", False),
        ("ChooseExamForm", pb.ChooseExamFormRequest(key=k, form="progressive", units=["U1"] * MANY), "units", False),
        (
            "DeclareExemption",
            pb.DeclareExemptionRequest(key=k, unit="U1", ground="diploma", detail=HUGE),
            "detail",
            False,
        ),
        (
            "DeclareHandicap",
            pb.DeclareHandicapRequest(key=k, handicap=True, amex_reference=HUGE),
            "amex_reference",
            False,
        ),
        ("SetNotRegistered", pb.SetNotRegisteredRequest(key=key(candidate_id), reason=HUGE), "reason", True),
    ]
    before = await registration.event_count()
    for method, request, field, by_staff in cases:
        call = getattr(registration.stub, method)(request, metadata=staff if by_staff else me)
        details = await refused(call, grpc.StatusCode.INVALID_ARGUMENT)
        assert details.startswith(f"{field}:"), (method, field, details[:200])
        assert len(details) < 500, (method, len(details))
    assert await registration.event_count() == before

    await registration.stub.SetCalendar(calendar("ouverture de la session 2027"), metadata=staff)
    topic = registration.settings.topic("registration")
    producer = KafkaProducer(**producer_config(kafka_access(registration.settings, ADMIN)))
    try:
        relay = Relay(registration.store, producer, topic, name="bounded-input-test")
        while await relay.publish_batch():
            pass
    finally:
        await asyncio.to_thread(producer.close, 10)
    records = await asyncio.to_thread(read_topic, kafka_access(registration.settings, ADMIN), topic)
    sets = [json.loads(r.value)["payload"] for r in records if r.headers["event_type"] == "CalendarSet"]
    assert [s["reason"] for s in sets if s["session"] == 2027] == ["ouverture de la session 2027"]
