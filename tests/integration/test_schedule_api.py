"""PublishSchedule / GetSchedule of the registration service through gRPC on the real PostgreSQL:
staff of the académie publish (publishing again replaces: a new event), others are refused, bad
input names the field and writes nothing; the CLI `archipel schedule publish | show`."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest

from archipel.registration.v1 import registration_pb2 as pb
from archipel_cli.main import main
from shared.auth import Role
from tests.integration.registration_fixtures import (  # noqa: F401 (registration_server is the `registration` fixture)
    ACADEMY,
    SPECIALTY,
    RegistrationServer,
    refused,
    registration_server,
)

Code = grpc.StatusCode
SESSION = 2027
STREAM = f"schedule-{ACADEMY}-{SESSION}-{SPECIALTY}"


def _entry(
    unit: str = "U1", starts_at: str = "2027-05-12T09:00", place: str = "Lycée Thiers, Marseille"
) -> pb.ScheduleEntry:
    return pb.ScheduleEntry(unit=unit, starts_at=starts_at, duration_minutes=240, place=place)


def _request(
    *entries: pb.ScheduleEntry, academy: str = ACADEMY, reason: str = "calendrier national"
) -> pb.PublishScheduleRequest:
    return pb.PublishScheduleRequest(
        academy=academy, session=SESSION, specialty=SPECIALTY, entries=list(entries), reason=reason
    )


async def test_staff_publish_then_republish_replaces(registration: RegistrationServer) -> None:
    staff = registration.staff()
    earlier = _entry("U2", "2027-03-18T14:00", "Rectorat, Aix-en-Provence")
    view = await registration.stub.PublishSchedule(_request(_entry(), earlier), metadata=staff)
    assert view.version == 1 and [e.unit for e in view.entries] == ["U2", "U1"]  # by date
    assert view.entries[0].starts_at == "2027-03-18T14:00:00+01:00" and view.entries[1].starts_at.endswith("+02:00")
    assert view.entries[1].title and view.specialty_title
    again = await registration.stub.PublishSchedule(_request(_entry(place="Lycée Périer, Marseille")), metadata=staff)
    assert again.version == 2 and [e.place for e in again.entries] == ["Lycée Périer, Marseille"]
    key = pb.GetScheduleRequest(academy=ACADEMY, session=SESSION, specialty=SPECIALTY)
    assert await registration.stub.GetSchedule(key, metadata=registration.staff(role=Role.AUDITOR)) == again
    assert await registration.event_types(STREAM) == ["SchedulePublished", "SchedulePublished"]


async def test_only_staff_of_the_academie_publish(registration: RegistrationServer) -> None:
    _, candidate = await registration.candidate()
    for metadata in (registration.staff(role=Role.AUDITOR), candidate, registration.staff(academy="lyon")):
        await refused(registration.stub.PublishSchedule(_request(_entry()), metadata=metadata), Code.PERMISSION_DENIED)
    await refused(
        registration.stub.PublishSchedule(_request(_entry(), academy="lyon"), metadata=registration.staff()),
        Code.PERMISSION_DENIED,
    )
    assert await registration.event_count("SchedulePublished") == 0


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ((_entry(unit="U9"),), "entries.0.unit"),
        ((_entry(), _entry(unit="bad unit")), "entries.1.unit"),
        ((_entry(starts_at="2027-05-12"),), "entries.0.starts_at"),
        ((_entry(starts_at="2027-13-12T09:00"),), "entries.0.starts_at"),
        ((_entry(starts_at="2027-03-28T02:30"),), "entries.0.starts_at"),  # the spring gap
        ((_entry(starts_at="2026-05-12T09:00"),), "entries.0.starts_at"),  # not the session's year
        ((_entry(place="  "),), "entries.0.place"),
        ((), "entries"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    registration: RegistrationServer, entries: tuple[pb.ScheduleEntry, ...], field: str
) -> None:
    details = await refused(
        registration.stub.PublishSchedule(_request(*entries), metadata=registration.staff()), Code.INVALID_ARGUMENT
    )
    assert details.startswith(field), details
    assert await registration.event_count("SchedulePublished") == 0


async def test_bad_duration_reason_and_specialty(registration: RegistrationServer) -> None:
    staff = registration.staff()
    zero = pb.ScheduleEntry(unit="U1", starts_at="2027-05-12T09:00", duration_minutes=0, place="Marseille")
    assert (
        await refused(registration.stub.PublishSchedule(_request(zero), metadata=staff), Code.INVALID_ARGUMENT)
    ).startswith("entries.0.duration_minutes")
    assert (
        await refused(
            registration.stub.PublishSchedule(_request(_entry(), reason=""), metadata=staff), Code.INVALID_ARGUMENT
        )
    ).startswith("reason")
    unknown = pb.PublishScheduleRequest(
        academy=ACADEMY, session=SESSION, specialty="XYZ", entries=[_entry()], reason="r"
    )
    assert (
        await refused(registration.stub.PublishSchedule(unknown, metadata=staff), Code.INVALID_ARGUMENT)
    ).startswith("specialty")
    missing = pb.GetScheduleRequest(academy=ACADEMY, session=SESSION, specialty=SPECIALTY)
    await refused(registration.stub.GetSchedule(missing, metadata=staff), Code.NOT_FOUND)


async def test_the_cli(registration: RegistrationServer, capsys: pytest.CaptureFixture[str]) -> None:
    token = registration.staff()[0][1].removeprefix("Bearer ")
    where = ["--academy", ACADEMY, "--session", str(SESSION), "--specialty", SPECIALTY]
    connection = ["--target", registration.target, "--token", token]
    argv = [
        "schedule", "publish", *where,
        "--entry", "U1;2027-05-12T09:00;240;Lycée Thiers, Marseille",
        "--entry", "U2;2027-02-10T14:00;120;Rectorat, Aix-en-Provence;arabe",
        "--reason", "calendrier national", *connection,
    ]  # fmt: skip
    assert await asyncio.to_thread(main, argv) == 0
    published = json.loads(capsys.readouterr().out)
    assert [(e["unit"], e.get("language", "")) for e in published["entries"]] == [("U2", "arabe"), ("U1", "")]
    assert await asyncio.to_thread(main, ["schedule", "show", *where, *connection]) == 0
    assert json.loads(capsys.readouterr().out) == published
    bad = ["schedule", "publish", *where, "--entry", "U1;2027-05-12T09:00;240;", "--reason", "r", *connection]
    assert await asyncio.to_thread(main, bad) == 2
    assert "entries.0.place" in capsys.readouterr().err
