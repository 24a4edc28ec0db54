"""The registration gRPC API on the real PostgreSQL (and Kafka for the relay), with a FixedClock inside
the registration window: a full registration and its summary versions, R-11 across sessions, the window
(R-07, R-08), optimistic concurrency, authorisation (R-04, R-33), bad input, and the published events."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from kafka import KafkaProducer

from archipel.registration.v1 import registration_pb2 as pb
from shared.auth import Principal, Role
from shared.contracts.registration import OptionalUnitsChosen
from shared.kafka import ADMIN, kafka_access, producer_config
from shared.relay import Relay
from tests.integration.registration_fixtures import (  # noqa: F401 (registration_server is the `registration` fixture)
    ACADEMY,
    Metadata,
    RegistrationServer,
    confirmed,
    every_command,
    key,
    pdf_text,
    refused,
    registration_server,
    stream_of,
)
from tests.integration.sample_events import read_topic

Code = grpc.StatusCode
ALL_UNITS = ["U1", "U2", "U3", "U4", "U5", "U6", "U7"]


async def test_full_registration_then_a_change_issues_a_second_summary(registration: RegistrationServer) -> None:
    candidate_id, me = await registration.candidate(last_name="Delacroix")
    view = await confirmed(registration, me, key())  # an empty candidate_id: the caller
    assert (view.candidate_id, view.academy, view.form, view.category) == (candidate_id, ACADEMY, "globale", "distance")
    assert view.confirmed and view.summary_version == 1 and list(view.units_sat) == ALL_UNITS
    kinds = {d.kind for d in view.required_documents}
    assert {"signed_summary", "identity", "school_certificate_year1", "school_certificate_year2"} <= kinds
    assert view.documents_deadline == "2025-11-28T17:00:00+01:00"
    assert await registration.stub.GetRegistration(pb.GetRegistrationRequest(key=key()), metadata=me) == view

    first = await registration.stub.GetSummary(pb.GetSummaryRequest(key=key()), metadata=me)
    assert first.version == 1 and first.sha256 == hashlib.sha256(first.pdf).hexdigest()
    text = pdf_text(first.pdf)
    for expected in ("Delacroix", "Léa Anne", "SIO-SISR", "Version 1", "vendredi 28 novembre 2025 à 17:00"):
        assert expected.lower() in text.lower(), expected

    registration.clock.advance(datetime(2025, 10, 21, tzinfo=UTC) - registration.clock())
    changed = await registration.stub.ChooseOptionalUnits(
        pb.ChooseOptionalUnitsRequest(key=key(candidate_id), units=["UF2"]), metadata=me
    )
    assert changed.confirmed and changed.summary_version == 2 and list(changed.optional_units) == ["UF2"]
    latest = await registration.stub.GetSummary(pb.GetSummaryRequest(key=key()), metadata=me)
    second = await registration.stub.GetSummary(pb.GetSummaryRequest(key=key(), version=2), metadata=me)
    again = await registration.stub.GetSummary(pb.GetSummaryRequest(key=key(), version=1), metadata=me)
    assert latest == second and again == first and second.sha256 != first.sha256
    assert "Version 2" in pdf_text(second.pdf) and "Version 2" not in pdf_text(first.pdf)
    assert await refused(
        registration.stub.GetSummary(pb.GetSummaryRequest(key=key(), version=3), metadata=me), Code.NOT_FOUND
    )


async def test_r11_the_first_confirmed_form_binds_the_next_sessions(registration: RegistrationServer) -> None:
    await registration.set_window(2027)
    await registration.set_window(2028)
    calendar = await registration.stub.GetCalendar(
        pb.GetCalendarRequest(academy=ACADEMY, session=2028), metadata=registration.staff()
    )
    assert calendar.registration_opens == "2025-10-01T08:00:00+02:00" and calendar.source.startswith("staff:")
    candidate_id, me = await registration.candidate()
    assert (await confirmed(registration, me, key(session=2027))).form == "globale"

    later = key(session=2028)
    await registration.stub.StartRegistration(pb.StartRegistrationRequest(key=later, category="repeater"), metadata=me)
    before = await registration.event_count()
    details = await refused(
        registration.stub.ChooseExamForm(
            pb.ChooseExamFormRequest(key=later, form="progressive", units=["U1"]), metadata=me
        ),
        Code.FAILED_PRECONDITION,
    )
    assert "R-11" in details and "2027" in details and "globale" in details
    assert await registration.event_count() == before
    view = await registration.stub.ChooseExamForm(pb.ChooseExamFormRequest(key=later, form="globale"), metadata=me)
    assert view.form == "globale" and view.candidate_id == candidate_id


async def test_outside_the_window_every_command_is_refused_and_writes_nothing(registration: RegistrationServer) -> None:
    _, me = await registration.candidate()
    await confirmed(registration, me, key())
    before = await registration.event_count()
    dates = ("vendredi 10 octobre 2025 à 08:00", "mercredi 12 novembre 2025 à 17:00")
    for moment, rule in (
        (datetime(2025, 11, 12, 16, 0, tzinfo=UTC), "R-08"),
        (datetime(2025, 10, 10, 5, 59, tzinfo=UTC), "R-07"),
    ):
        registration.clock.now = moment  # the close (17:00 Paris) is excluded; the opening (08:00) not reached
        for method, request in every_command(key(), key(specialty="SIO-SLAM")):
            details = await refused(getattr(registration.stub, method)(request, metadata=me), Code.FAILED_PRECONDITION)
            assert rule in details and all(d in details for d in dates), (method, details)
    assert await registration.event_count() == before
    registration.clock.now = datetime(2025, 10, 10, 6, 0, tzinfo=UTC)  # the opening is included
    await registration.stub.ChangeCategory(pb.ChangeCategoryRequest(key=key(), category="repeater"), metadata=me)
    assert await registration.event_count() > before


async def test_concurrent_changes_one_wins_the_other_is_aborted_whole(
    registration: RegistrationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate_id, me = await registration.candidate()
    await confirmed(registration, me, key())
    stream = stream_of(candidate_id)
    version = len(await registration.event_types(stream))
    read_stream = registration.store.read_stream
    both_read = asyncio.Barrier(2)

    async def racing_read(stream_id: str, after_version: int = 0) -> Any:
        envelopes = await read_stream(stream_id, after_version)
        await asyncio.wait_for(both_read.wait(), 10)  # both commands decide on the same version
        return envelopes

    monkeypatch.setattr(registration.store, "read_stream", racing_read)
    choices = (["UF2"], ["UF1", "UF2"])
    results = await asyncio.gather(
        *(
            registration.stub.ChooseOptionalUnits(pb.ChooseOptionalUnitsRequest(key=key(), units=u), metadata=me)
            for u in choices
        ),
        return_exceptions=True,
    )
    monkeypatch.undo()
    won = [i for i, r in enumerate(results) if isinstance(r, pb.RegistrationView)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 1 and lost[0].code() is Code.ABORTED, results
    winner = choices[won[0]]

    envelopes = await registration.store.read_stream(stream)
    assert [e.stream_version for e in envelopes] == list(range(1, len(envelopes) + 1))
    after = [e.payload for e in envelopes[version:]]
    assert [type(p).__name__ for p in after] == ["OptionalUnitsChosen", "RegistrationConfirmed", "SummaryIssued"]
    assert isinstance(after[0], OptionalUnitsChosen) and list(after[0].units) == winner
    summaries = await registration.store.pool.fetch("SELECT version FROM summaries ORDER BY version")
    assert [row["version"] for row in summaries] == [1, 2]
    view = await registration.stub.GetRegistration(pb.GetRegistrationRequest(key=key()), metadata=me)
    assert list(view.optional_units) == winner and view.summary_version == 2
    loser = choices[1 - won[0]]  # nothing was lost either: the refused change, retried, goes through
    retried = await registration.stub.ChooseOptionalUnits(
        pb.ChooseOptionalUnitsRequest(key=key(), units=loser), metadata=me
    )
    assert list(retried.optional_units) == loser and retried.summary_version == 3


async def test_authorisation(registration: RegistrationServer) -> None:
    _, a = await registration.candidate()
    b_id, b = await registration.candidate()
    await registration.stub.StartRegistration(pb.StartRegistrationRequest(key=key(), category="distance"), metadata=b)
    theirs = key(b_id)
    before = await registration.event_count()
    change = pb.ChangeCategoryRequest(key=theirs, category="repeater")
    lille, auditor = registration.staff("lille"), registration.staff(role=Role.AUDITOR)
    for who in (a, lille, auditor):
        await refused(registration.stub.ChangeCategory(change, metadata=who), Code.PERMISSION_DENIED)
    await refused(
        registration.stub.StartRegistration(pb.StartRegistrationRequest(key=theirs, category="distance"), metadata=a),
        Code.PERMISSION_DENIED,
    )
    not_registered = pb.SetNotRegisteredRequest(key=theirs, reason="dossier incomplet")
    for who in (a, b, lille, auditor):
        await refused(registration.stub.SetNotRegistered(not_registered, metadata=who), Code.PERMISSION_DENIED)
    await refused(registration.stub.GetRegistration(pb.GetRegistrationRequest(key=theirs), metadata=a), Code.NOT_FOUND)
    await refused(registration.stub.GetRegistration(pb.GetRegistrationRequest(key=theirs)), Code.UNAUTHENTICATED)
    calendar = pb.SetCalendarRequest(
        academy=ACADEMY, session=2027, registration_opens="2025-10-01T08:00", registration_closes="2025-12-01T17:00"
    )
    calendar.reason = "test"
    for who in (b, lille, auditor):
        await refused(registration.stub.SetCalendar(calendar, metadata=who), Code.PERMISSION_DENIED)
    assert await registration.event_count() == before

    seen = await registration.stub.GetRegistration(pb.GetRegistrationRequest(key=theirs), metadata=auditor)
    assert seen.candidate_id == b_id and seen.category == "distance"
    staff = registration.staff()
    assert (await registration.stub.ChangeCategory(change, metadata=staff)).category == "repeater"
    assert (await registration.stub.SetNotRegistered(not_registered, metadata=staff)).not_registered
    details = await refused(
        registration.stub.ChooseExamForm(pb.ChooseExamFormRequest(key=key(), form="globale"), metadata=b),
        Code.FAILED_PRECONDITION,
    )
    assert "R-33" in details


async def test_an_unactivated_or_unknown_candidate_cannot_register(registration: RegistrationServer) -> None:
    _, pending = await registration.candidate(activated=False)
    stranger = registration.auth(Principal(subject=str(uuid.uuid4()), role=Role.CANDIDATE, academy=ACADEMY))
    for who in (pending, stranger):
        request = pb.StartRegistrationRequest(key=key(), category="distance")
        assert "R-04" in await refused(
            registration.stub.StartRegistration(request, metadata=who), Code.FAILED_PRECONDITION
        )
    assert await registration.event_count() == 0


async def test_bad_input_is_invalid_argument_naming_the_field(registration: RegistrationServer) -> None:
    _, me = await registration.candidate()
    start = pb.StartRegistrationRequest
    k = key()
    cases: list[tuple[str, Message, str]] = [
        ("StartRegistration", start(key=key(specialty="BTS-INCONNU"), category="distance"), "specialty"),
        ("StartRegistration", start(key=k, category="astronaut"), "category"),
        ("StartRegistration", start(key=k, category="dist\x00ance"), "category"),
        ("StartRegistration", start(key=key(session=1999), category="distance"), "key.session"),
        ("StartRegistration", start(key=key(candidate_id="not-a-uuid"), category="distance"), "key.candidate_id"),
    ]
    for method, request, field in cases:
        details = await refused(getattr(registration.stub, method)(request, metadata=me), Code.INVALID_ARGUMENT)
        assert details.startswith(field), (method, details)
    await registration.stub.StartRegistration(start(key=k, category="distance"), metadata=me)
    before = await registration.event_count()
    cases = [
        ("ChangeCategory", pb.ChangeCategoryRequest(key=k, category=""), "category"),
        ("ChooseExamForm", pb.ChooseExamFormRequest(key=k, form="both"), "form"),
        ("ChooseExamForm", pb.ChooseExamFormRequest(key=k, form="progressive", units=["u1"]), "units"),
        ("ChooseExamForm", pb.ChooseExamFormRequest(key=k, form="progressive", units=["U9"]), "units"),
        ("ChooseOptionalUnits", pb.ChooseOptionalUnitsRequest(key=k, units=["UF1'; DROP TABLE events"]), "units"),
        ("ChooseLanguage", pb.ChooseLanguageRequest(key=k, language="klingon", teaching_followed=True), "language"),
        *(
            ("DeclareBenefit", pb.DeclareBenefitRequest(key=k, unit="U3", grade=g, session_obtained=2024), "grade")
            for g in ("abc", "", "25", "-1", "NaN", "Infinity", "12.345")
        ),
        ("DeclareBenefit", pb.DeclareBenefitRequest(key=k, unit="U3", grade="12", session_obtained=3000), "session"),
        ("DeclareExemption", pb.DeclareExemptionRequest(key=k, unit="U1", ground="bribe", detail="x"), "ground"),
        ("DeclareExemption", pb.DeclareExemptionRequest(key=k, unit="U1", ground="diploma", detail=" "), "detail"),
        ("DeclareHandicap", pb.DeclareHandicapRequest(key=k, handicap=True), "amex_reference"),
        ("GetSummary", pb.GetSummaryRequest(key=k, version=-1), "version"),
        ("SetCalendar", pb.SetCalendarRequest(academy=ACADEMY, session=2027, reason="r"), "calendar"),
    ]
    staff = registration.staff()
    for method, request, field in cases:
        who = staff if method == "SetCalendar" else me
        details = await refused(getattr(registration.stub, method)(request, metadata=who), Code.INVALID_ARGUMENT)
        assert details.startswith(field), (method, details)
    assert await registration.event_count() == before


async def test_confirmation_and_documents_reach_the_registration_topic(registration: RegistrationServer) -> None:
    candidate_id, me = await registration.candidate()
    view = await confirmed(registration, me, key())
    settings = registration.settings
    topic = settings.topic("registration")
    producer = KafkaProducer(**producer_config(kafka_access(settings, ADMIN)))
    try:
        relay = Relay(registration.store, producer, topic)
        published, deadline = 0, time.monotonic() + 30
        while published < await registration.event_count():
            assert time.monotonic() < deadline, f"only {published} events published"
            published += await relay.publish_batch()
    finally:
        await asyncio.to_thread(producer.close, 10)
    records = await asyncio.to_thread(read_topic, kafka_access(settings, ADMIN), topic)
    mine = [r for r in records if r.key == candidate_id.encode()]
    bodies = {r.headers["event_type"]: json.loads(r.value) for r in mine}
    assert {"RegistrationStarted", "RegistrationConfirmed", "SummaryIssued", "DocumentsRequired"} <= set(bodies)
    confirmation = bodies["RegistrationConfirmed"]["payload"]
    assert (confirmation["form"], confirmation["units"], confirmation["optional_units"]) == (
        "globale",
        ALL_UNITS,
        ["UF1"],
    )
    documents = bodies["DocumentsRequired"]
    assert [d["kind"] for d in documents["payload"]["documents"]] == [d.kind for d in view.required_documents]
    assert documents["academy"] == ACADEMY and documents["stream_id"] == stream_of(candidate_id)


async def test_get_calendar_of_an_unknown_calendar_is_not_found(registration: RegistrationServer) -> None:
    details = await refused(
        registration.stub.GetCalendar(
            pb.GetCalendarRequest(academy="atlantide", session=2026), metadata=registration.staff()
        ),
        Code.NOT_FOUND,
    )
    assert "atlantide" in details and "2026" in details
