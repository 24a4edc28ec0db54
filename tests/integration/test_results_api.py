"""The results service through gRPC, on the real PostgreSQL (and Kafka for the published events): a
session's grades, the jury's deliberation and the contrôle (R-13 to R-17, R-27 to R-32), corrections
that overwrite nothing, the jury's CSV file (every line or none), authorization, and the events on
the results topic."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import TypeAlias

import grpc
import pytest
from kafka import KafkaProducer

from archipel.results.v1 import results_pb2 as pb
from shared.auth import Role
from shared.contracts.results import BenefitGranted
from shared.kafka import KafkaAccess, producer_config
from shared.relay import Relay
from tests.integration.results_fixtures import (  # noqa: F401 (results_server is the `results` fixture)
    SESSION,
    SPECIALTY,
    ResultsServer,
    cli,
    lines_of,
    pdf_text,
    refused,
    results_server,
)
from tests.integration.sample_events import read_topic

Code: TypeAlias = grpc.StatusCode
TWELVE = {u: "12" for u in ("U1", "U2", "U3", "U4", "U5", "U6", "U7")}


async def test_a_session_from_grades_to_final_results(results: ResultsServer) -> None:
    staff = results.staff()
    admitted = await results.candidate(optional=["UF1"])
    await results.grades(admitted, {**TWELVE, "UF1": "14"})  # (12 x 22 + (14 - 10)) / 22
    controle = await results.candidate()  # general 6, professional 12: 204 / 22 = 9.27 -> contrôle
    await results.grades(controle, {"U1": "6", "U2": "6", "U3": "6", "U4": "6", "U5": "12", "U6": "12", "U7": "12"})
    eliminated = await results.candidate()
    await results.grades(eliminated, {**{u: "15" for u in TWELVE}, "U7": "ABS"})
    carried = await results.candidate(  # U1 dispensed, U4 carried from 2024
        units=["U2", "U3", "U5", "U6", "U7"], exempted=["U1"], benefits={"U4": ("13", 2024)}
    )
    await results.grades(carried, {"U2": "8", "U3": "7", "U5": "9", "U6": "10", "U7": "8"})  # 184 / 20 = 9.2
    progressive = await results.candidate(
        form="progressive", units=["U3", "U4", "U5", "U6", "U7"], benefits={"U1": ("11", 2024), "U2": ("9", 2025)}
    )
    await results.grades(progressive, {"U3": "12", "U4": "10", "U5": "13", "U6": "14"})  # U7 still to come
    late = await results.candidate()
    await results.grades(late, {"U1": "10"})  # forme globale, six units missing: not ready

    first = await results.stub.DeliberateSession(
        pb.DeliberateSessionRequest(session=SESSION, specialty=SPECIALTY), metadata=staff
    )
    assert first.deliberated == 5 and [n.split()[0] for n in first.not_ready] == [late.id]
    assert dict(first.outcomes) == {"ADMIS": 1, "CONTROLE": 1, "ELIMINE": 1, "AJOURNE": 1, "INCOMPLET": 1}

    await results.grades(progressive, {"U7": "11"})  # forme progressive: the missing unit, then re-deliberate
    view = await results.stub.RecordControle(
        pb.RecordControleRequest(key=controle.key(), grades={"U1": "14", "U3": "4"}), metadata=staff
    )
    assert (view.outcome, view.average, view.final_average, view.final) == ("ADMIS", "9.27", "10.00", True)
    assert lines_of(view)["U1"][1:] == ("14.00", "controle") and lines_of(view)["U3"][1:] == ("6.00", "grade")
    await results.project()  # DeliberateSession picks the candidates from the outcomes read model
    second = await results.stub.DeliberateSession(pb.DeliberateSessionRequest(session=SESSION), metadata=staff)
    assert second.deliberated == 1 and dict(second.outcomes) == {"ADMIS": 1} and len(second.not_ready) == 1

    listed = await results.outcomes(staff=results.auditor())
    assert dict(listed.counts) == {"ADMIS": 3, "ELIMINE": 1, "AJOURNE": 1, "": 1}
    rows = {row.candidate_id: row for row in listed.outcomes}
    assert (rows[admitted.id].outcome, rows[admitted.id].average, rows[admitted.id].final) == ("ADMIS", "12.18", True)
    assert (rows[controle.id].outcome, rows[controle.id].final_average) == ("ADMIS", "10.00")
    assert (rows[progressive.id].form, rows[progressive.id].average) == ("progressive", "11.73")
    assert (rows[late.id].outcome, rows[late.id].final) == ("", False)

    shown = await results.stub.GetResults(eliminated.key(), metadata=eliminated.me)
    assert (shown.outcome, shown.average, lines_of(shown)["U7"]) == ("ELIMINE", "12.27", ("absent", "0.00", "absent"))
    shown = await results.stub.GetResults(carried.key(), metadata=staff)
    assert (shown.outcome, shown.average, shown.professional_average) == ("AJOURNE", "9.20", "9.00")
    assert lines_of(shown)["U1"] == ("dispensed", "", "dispensed")
    assert lines_of(shown)["U4"] == ("benefit 13.00 (2024)", "13.00", "benefit")
    assert await results.event_types(carried.stream) == [
        "RegistrationNoted", *["GradesRecorded"] * 5, "DeliberationCompleted", "FinalResultPublished", "BenefitGranted"
    ]  # fmt: skip
    granted = (await results.store.read_stream(carried.stream))[-1].payload
    assert isinstance(granted, BenefitGranted)
    assert (granted.unit, granted.grade, granted.valid_through_session) == ("U6", Decimal(10), 2031)

    sheet = await results.stub.GetScoreSheet(carried.key(), metadata=carried.me)
    text = pdf_text(sheet.pdf)
    assert "bénéfice en 2024" in text and "Martin" in text and "Ajourné" in text, text


async def test_corrections_add_events_and_bad_grades_are_refused(results: ResultsServer) -> None:
    staff = results.staff()
    who = await results.candidate(exempted=["U1"], units=["U2", "U3", "U4", "U5", "U6", "U7"])
    await results.grades(who, {"U2": "12"})
    before = await results.event_count()

    async def refused_grade(unit: str, grade: str, code: Code = Code.INVALID_ARGUMENT, reason: str = "") -> str:
        request = pb.RecordGradeRequest(key=who.key(), unit=unit, grade=grade, reason=reason)
        details = await refused(results.stub.RecordGrade(request, metadata=staff), code)
        assert await results.event_count() == before, details
        return details

    assert (await refused_grade("U2", "13")).startswith("reason")
    for bad in ("20.001", "-1", "abc", "12.345", "NaN", ""):
        assert "grade" in await refused_grade("U3", bad), bad
    assert (await refused_grade("U1", "12")).startswith("unit")  # dispensed: not sat
    assert (await refused_grade("U8", "12")).startswith("unit")
    absence = pb.RecordAbsenceRequest(key=who.key(), unit="U2", justified=True)
    assert (await refused(results.stub.RecordAbsence(absence, metadata=staff), Code.INVALID_ARGUMENT)).startswith(
        "reason"
    )

    view = await results.stub.RecordGrade(
        pb.RecordGradeRequest(key=who.key(), unit="U2", grade="13,5", reason="erreur de report"), metadata=staff
    )
    assert lines_of(view)["U2"][0] == "13.50" and view.stream_version == 3
    recorded = [e.payload.model_dump(mode="json") for e in await results.store.read_stream(who.stream)][1:]
    assert recorded == [
        {"unit": "U2", "grade": "12.00", "previous": None, "reason": ""},
        {"unit": "U2", "grade": "13.50", "previous": "12.00", "reason": "erreur de report"},
    ]

    view = await results.grades(who, {"U3": "9", "U4": "11", "U5": "12", "U6": "12", "U7": "ABJ"})
    view = await results.stub.Deliberate(who.key(), metadata=staff)
    assert view.outcome and view.outcome != "INCOMPLET"
    before = await results.event_count()
    assert "R-31" in await refused_grade("U3", "10", Code.FAILED_PRECONDITION, reason="recount")
    details = await refused(results.stub.Deliberate(who.key(), metadata=staff), Code.FAILED_PRECONDITION)
    assert "R-28" in details and await results.event_count() == before


def jury_file(*rows: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["candidate_id", "session", "specialty", "unit", "result", "reason"])
    writer.writerows(rows)
    return out.getvalue().encode()


async def test_a_jury_file_is_recorded_whole_or_not_at_all(results: ResultsServer) -> None:
    staff = results.staff()
    alice, bob = await results.candidate(), await results.candidate()
    a, b = (alice.id, str(SESSION), SPECIALTY), (bob.id, str(SESSION), SPECIALTY)
    good = jury_file((*a, "U1", "12,5"), (*a, "U2", "14.25"), (*a, "U3", "ABS"), (*b, "U1", "ABJ"), (*b, "U2", "9"))
    imported = await results.stub.ImportGrades(pb.ImportGradesRequest(csv=good), metadata=staff)
    assert imported.events == 5
    assert await results.event_count(alice.stream) == 4 and await results.event_count(bob.stream) == 3
    marks = {u: m for u, (m, _, _) in lines_of(await results.stub.GetResults(alice.key(), metadata=staff)).items()}
    assert (marks["U1"], marks["U2"], marks["U3"], marks["U4"]) == ("12.50", "14.25", "absent", "")
    assert lines_of(await results.stub.GetResults(bob.key(), metadata=staff))["U1"][0] == "absent (justified)"

    before = {who.stream: await results.event_count(who.stream) for who in (alice, bob)}
    bad = jury_file(
        (*a, "U4", "11"),
        (*b, "U3", "13"),
        (*b, "U4", "21"),  # line 4: above 20
        (*a, "U1", "13", "double correction"),
        (*a, "U9", "10"),  # line 6: not a unit alice sits
    )
    details = await refused(
        results.stub.ImportGrades(pb.ImportGradesRequest(csv=bad), metadata=staff), Code.INVALID_ARGUMENT
    )
    assert "line 4" in details and "line 6" in details and "line 2" not in details and "line 5" not in details
    assert {who.stream: await results.event_count(who.stream) for who in (alice, bob)} == before
    correction = jury_file((*a, "U1", "13"))
    details = await refused(
        results.stub.ImportGrades(pb.ImportGradesRequest(csv=correction), metadata=staff), Code.INVALID_ARGUMENT
    )
    assert "line 2" in details and "reason" in details
    huge = jury_file((*a, "U4", "11", "x" * 200_000))  # over the csv module's field limit
    details = await refused(
        results.stub.ImportGrades(pb.ImportGradesRequest(csv=huge), metadata=staff), Code.INVALID_ARGUMENT
    )
    assert "line 2" in details
    header = b"candidate,session,specialty,unit,result\n"
    details = await refused(
        results.stub.ImportGrades(pb.ImportGradesRequest(csv=header), metadata=staff), Code.INVALID_ARGUMENT
    )
    assert "line 1" in details
    assert {who.stream: await results.event_count(who.stream) for who in (alice, bob)} == before


async def test_who_may_read_and_write_results(results: ResultsServer) -> None:
    me, other = await results.candidate(), await results.candidate()
    await results.grades(me, {"U1": "12"})
    before = await results.event_count()
    own = pb.ResultsKey(session=SESSION, specialty=SPECIALTY)  # a candidate's own: candidate_id left empty
    assert (await results.stub.GetResults(own, metadata=me.me)).candidate_id == me.id
    await refused(results.stub.GetResults(other.key(), metadata=me.me), Code.NOT_FOUND)
    await refused(results.stub.GetScoreSheet(other.key(), metadata=me.me), Code.NOT_FOUND)
    grade = pb.RecordGradeRequest(key=me.key(), unit="U2", grade="20")
    await refused(results.stub.RecordGrade(grade, metadata=me.me), Code.PERMISSION_DENIED)
    await refused(results.stub.Deliberate(me.key(), metadata=me.me), Code.PERMISSION_DENIED)
    listing = pb.ListOutcomesRequest(session=SESSION)
    await refused(results.stub.ListOutcomes(listing, metadata=me.me), Code.PERMISSION_DENIED)
    file = pb.ImportGradesRequest(csv=jury_file((me.id, str(SESSION), SPECIALTY, "U2", "20")))
    await refused(results.stub.ImportGrades(file, metadata=me.me), Code.PERMISSION_DENIED)

    lyon = results.staff("lyon")
    await refused(results.stub.RecordGrade(grade, metadata=lyon), Code.PERMISSION_DENIED)
    await refused(results.stub.ImportGrades(file, metadata=lyon), Code.PERMISSION_DENIED)
    await refused(results.stub.GetResults(me.key(), metadata=lyon), Code.NOT_FOUND)
    session = pb.DeliberateSessionRequest(session=SESSION)
    assert (await results.stub.DeliberateSession(session, metadata=lyon)).deliberated == 0
    assert list((await results.outcomes(staff=lyon)).outcomes) == []

    auditor = results.auditor()
    assert lines_of(await results.stub.GetResults(me.key(), metadata=auditor))["U1"][0] == "12.00"
    assert {row.candidate_id for row in (await results.outcomes(staff=auditor)).outcomes} == {me.id, other.id}
    assert list((await results.outcomes(staff=results.auditor("lyon"))).outcomes) == []
    national = results.staff("national", Role.NATIONAL_AUDITOR)  # every académie's; writes nothing
    assert {row.candidate_id for row in (await results.outcomes(staff=national)).outcomes} == {me.id, other.id}
    await refused(results.stub.RecordGrade(grade, metadata=national), Code.PERMISSION_DENIED)
    for call in (
        results.stub.RecordGrade(grade, metadata=auditor),
        results.stub.ImportGrades(file, metadata=auditor),
        results.stub.DeliberateSession(session, metadata=auditor),
        results.stub.Deliberate(me.key(), metadata=auditor),
    ):
        await refused(call, Code.PERMISSION_DENIED)
    await refused(results.stub.GetResults(me.key()), Code.UNAUTHENTICATED)
    assert await results.event_count() == before


async def test_the_jury_decisions_reach_the_results_topic(results: ResultsServer, kafka_admin: KafkaAccess) -> None:
    who = await results.candidate()  # general 12, professional 5: 180 / 22 = 8.18, professional 5 -> AJOURNE
    await results.grades(who, {**TWELVE, "U5": "5", "U6": "5", "U7": "5"})
    view = await results.stub.Deliberate(who.key(), metadata=results.staff())
    assert (view.outcome, view.average, view.final) == ("AJOURNE", "8.18", True)
    stored = await results.event_count()
    topic = results.settings.topic("results")
    producer = KafkaProducer(**producer_config(kafka_admin))
    try:
        relay = Relay(results.store, producer, topic, name="results-test")
        published, deadline = 0, time.monotonic() + 240
        while published < stored:  # the log shows an event once older transactions on the server end
            assert time.monotonic() < deadline, f"relay published {published}/{stored}"
            published += await relay.publish_batch()
            await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(producer.close, 10)

    records = await asyncio.to_thread(read_topic, kafka_admin, topic)
    assert {r.key for r in records} == {who.id.encode()}  # one candidate: one key, one partition, in order
    assert [r.headers["event_type"] for r in records] == [
        "RegistrationNoted", *["GradesRecorded"] * 7, "DeliberationCompleted", "FinalResultPublished",
        *["BenefitGranted"] * 4,
    ]  # fmt: skip
    bodies = [json.loads(r.value)["payload"] for r in records]
    assert (bodies[8]["outcome"], bodies[8]["average"], bodies[8]["professional_average"]) == (
        "AJOURNE",
        "8.18",
        "5.00",
    )
    final = bodies[9]
    assert (final["outcome"], final["academy"], final["session"], final["specialty"]) == (
        "AJOURNE", "aix-marseille", SESSION, SPECIALTY
    )  # fmt: skip
    assert [(b["unit"], Decimal(b["grade"]), b["valid_through_session"]) for b in bodies[10:]] == [
        (u, Decimal(12), SESSION + 5) for u in ("U1", "U2", "U3", "U4")
    ]


async def test_the_results_commands(results: ResultsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    who, staff = await results.candidate(), results.staff()
    key = ["--candidate", who.id, "--session", str(SESSION), "--specialty", SPECIALTY]
    code, view, _ = await cli(results, capsys, staff, "results", "grade", *key, "--unit", "U1", "--grade", "12,5")
    assert code == 0 and view["units"][0] == {"unit": "U1", "mark": "12.50"}
    code, view, _ = await cli(results, capsys, staff, "results", "absence", *key, "--unit", "U2", "--justified")
    assert code == 0 and view["units"][1]["mark"] == "absent (justified)"
    rows = [(who.id, str(SESSION), SPECIALTY, unit, "11") for unit in ("U3", "U4", "U5", "U6", "U7")]
    (tmp_path / "bad.csv").write_bytes(jury_file(*rows[:2], (who.id, str(SESSION), SPECIALTY, "U5", "onze")))
    code, _, err = await cli(results, capsys, staff, "results", "import", str(tmp_path / "bad.csv"))
    assert code == 2 and "nothing was recorded" in err and err.splitlines()[1].startswith("  line 4: result")
    (tmp_path / "jury.csv").write_bytes(jury_file(*rows))
    code, out, _ = await cli(results, capsys, staff, "results", "import", str(tmp_path / "jury.csv"))
    assert code == 0 and out["events"] == 5
    code, _, err = await cli(results, capsys, staff, "results", "controle", *key, "--grade", "U1=13")
    assert code == 1 and err.startswith("error: FAILED_PRECONDITION") and "R-29" in err
    code, out, _ = await cli(results, capsys, staff, "results", "deliberate-session", "--session", str(SESSION))
    assert code == 0 and out["deliberated"] == 1 and out["outcomes"] == {"ADMIS": 1}
    await results.project()
    code, out, _ = await cli(results, capsys, results.auditor(), "results", "outcomes", "--session", str(SESSION))
    assert code == 0 and out["counts"] == {"ADMIS": 1}  # 12.5 x 2 + 0 x 2 (force majeure) + 11 x 18: 223 / 22
    assert [(o["candidate_id"], o["outcome"], o["average"]) for o in out["outcomes"]] == [(who.id, "ADMIS", "10.14")]
    sheet = tmp_path / "releve.pdf"
    code, out, _ = await cli(results, capsys, who.me, "results", "score-sheet", *key, "--out", str(sheet))
    assert code == 0 and out["path"] == str(sheet) and "Admis" in pdf_text(sheet.read_bytes())
    code, out, _ = await cli(
        results, capsys, who.me, "results", "show", "--session", str(SESSION), "--specialty", SPECIALTY
    )
    assert code == 0 and out["outcome"] == "ADMIS" and out["candidate_id"] == who.id
