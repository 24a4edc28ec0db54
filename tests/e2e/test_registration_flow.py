"""A candidate's journey through the running system (issues 3 and 4): an académie administrator
bootstrapped with the CLI creates the staff account (issue 13), whose owner activates it from the
mail and enrols a second factor at the first login; staff opens a calendar; a candidate activated
through the emailed link registers, confirms, downloads the summary PDF; RegistrationConfirmed and
DocumentsRequired reach archipel.registration.events; the documents service learns the requirements
from that topic; the candidate uploads every document, staff accept them, and DossierComplete
reaches archipel.documents.events; the results service learns the registration from the topic,
staff record the grades, the jury deliberates and the candidate reads the outcome and the score
sheet."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import grpc
from pypdf import PdfReader, PdfWriter

from archipel.accounts.v1 import accounts_pb2_grpc as apb_grpc
from archipel.documents.v1 import documents_pb2 as dpb
from archipel.documents.v1 import documents_pb2_grpc as dpb_grpc
from archipel.dossier.v1 import dossier_pb2 as opb
from archipel.dossier.v1 import dossier_pb2_grpc as opb_grpc
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.registration.v1 import registration_pb2_grpc as rpb_grpc
from archipel.results.v1 import results_pb2 as spb
from archipel.results.v1 import results_pb2_grpc as spb_grpc
from archipel_cli import demo_staff
from shared.clock import PARIS
from shared.grpc_tls import aio_channel
from tests.conftest import env_of
from tests.e2e.candidates import activated_candidate, link_token, start_registration
from tests.e2e.conftest import Inbox, RunningSystem
from tests.e2e.topics import events_of

SESSION = 2027


def _local(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


async def test_candidate_registers_confirms_and_the_events_are_published(system: RunningSystem, inbox: Inbox) -> None:
    settings = system.settings
    staff_email = f"gestion.{uuid.uuid4().hex[:6]}@ac-aix-marseille.fr"
    admin_email = f"admin.{uuid.uuid4().hex[:6]}@ac-aix-marseille.fr"
    bootstrap = subprocess.run(
        [
            sys.executable,
            "-m",
            "archipel_cli.main",
            "accounts",
            "bootstrap-staff",
            "--email",
            admin_email,
            "--role",
            "academy_admin",
            "--academy",
            "aix-marseille",
            "--last-name",
            "Agent",
            "--first-names",
            "Rectorat",
            "--password",
            "mot-de-passe-gestion",
        ],
        env=env_of(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bootstrap.returncode == 0, bootstrap.stderr
    async with (
        aio_channel(settings, "accounts") as accounts_channel,
        aio_channel(settings, "registration") as registration_channel,
    ):
        accounts = apb_grpc.AccountsStub(accounts_channel)
        registration = rpb_grpc.RegistrationStub(registration_channel)
        admin_token = await demo_staff.sign_in(accounts, admin_email, "mot-de-passe-gestion")
        staff_token = await demo_staff.create_staff(
            accounts,
            admin_token,
            email=staff_email,
            password="mot-de-passe-gestion",
            activation_token=lambda email: link_token(inbox, email),
        )
        now = datetime.now(PARIS)
        calendar = await registration.SetCalendar(
            rpb.SetCalendarRequest(
                academy="aix-marseille",
                session=SESSION,
                registration_opens=_local(now - timedelta(days=1)),
                registration_closes=_local(now + timedelta(days=30)),
                documents_deadline=_local(now + timedelta(days=45)),
                reason="ouverture de la session",
            ),
            metadata=[("authorization", f"Bearer {staff_token}")],
        )
        assert "heure de Paris" in calendar.window

        email = f"lea.{uuid.uuid4().hex[:8]}@example.org"
        candidate_id, token = await activated_candidate(
            accounts, inbox, last_name="Nguyen", first_names="Léa", birth_date="2002-02-20", email=email
        )
        metadata = [("authorization", f"Bearer {token}")]
        key = rpb.RegistrationKey(session=SESSION, specialty="SIO-SISR")
        await start_registration(registration, key, metadata, refusal="R-04")
        await registration.ChooseExamForm(rpb.ChooseExamFormRequest(key=key, form="globale"), metadata=metadata)
        await registration.ChooseLanguage(
            rpb.ChooseLanguageRequest(key=key, language="anglais", teaching_followed=True), metadata=metadata
        )
        view = await registration.ConfirmRegistration(rpb.ConfirmRegistrationRequest(key=key), metadata=metadata)
        assert view.confirmed and view.summary_version == 1
        kinds = {document.kind for document in view.required_documents}
        assert {"signed_summary", "identity", "school_certificate_year1", "school_certificate_year2"} <= kinds

        summary = await registration.GetSummary(rpb.GetSummaryRequest(key=key, version=1), metadata=metadata)
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(summary.pdf)).pages)
        assert "NGUYEN" in text.upper() and "SIO-SISR" in text and "Version 1" in text

        events = await asyncio.to_thread(
            events_of,
            settings,
            "archipel.registration.events",
            candidate_id,
            {"RegistrationConfirmed", "DocumentsRequired", "SummaryIssued"},
        )
        required = next(e for e in events if e["event_type"] == "DocumentsRequired")
        payload = required["payload"]
        assert isinstance(payload, dict)
        assert {d["kind"] for d in payload["documents"]} == kinds

    await _documents_until_complete(system, candidate_id, token, staff_token, kinds)
    await _graded_and_deliberated(system, candidate_id, token, staff_token)
    await _dossier_shows_the_whole_journey(system, token)


def _pdf(width: int) -> bytes:
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width, 200)
    writer.write(out)
    return out.getvalue()


async def _documents_until_complete(
    system: RunningSystem, candidate_id: str, token: str, staff_token: str, kinds: set[str]
) -> None:
    settings = system.settings
    candidate = [("authorization", f"Bearer {token}")]
    staff = [("authorization", f"Bearer {staff_token}")]
    own = dpb.DossierKey(session=SESSION, specialty="SIO-SISR")
    theirs = dpb.DossierKey(candidate_id=candidate_id, session=SESSION, specialty="SIO-SISR")
    async with aio_channel(settings, "documents") as channel:
        documents = dpb_grpc.DocumentsStub(channel)
        deadline = time.monotonic() + 30
        while not (await documents.GetDossier(own, metadata=candidate)).requirements_known:
            assert time.monotonic() < deadline, "DocumentsRequired never reached the documents service"
            await asyncio.sleep(0.3)
        uploaded = []
        for width, kind in enumerate(sorted(kinds), start=100):

            async def chunks(kind: str = kind, data: bytes = _pdf(width)) -> AsyncIterator[dpb.UploadChunk]:
                yield dpb.UploadChunk(metadata=dpb.UploadMetadata(key=own, kind=kind, filename=f"{kind}.pdf"))
                for start in range(0, len(data), 512):
                    yield dpb.UploadChunk(data=data[start : start + 512])

            uploaded.append(await documents.Upload(chunks(), metadata=candidate))
        for document in uploaded:
            view = await documents.Review(
                dpb.ReviewRequest(key=theirs, document_id=document.document_id, accept=True), metadata=staff
            )
        assert view.complete and not view.missing
    events = await asyncio.to_thread(
        events_of,
        settings,
        "archipel.documents.events",
        candidate_id,
        {"DocumentUploaded", "DossierComplete"},
    )
    sizes = {e["payload"]["sha256"]: e["payload"]["size"] for e in events if e["event_type"] == "DocumentUploaded"}  # type: ignore[index]
    assert sizes == {d.sha256: d.size for d in uploaded}


GRADES = {"U1": "12", "U2": "9.5", "U3": "11", "U4": "10", "U5": "13.25", "U6": "8", "U7": "14"}


async def _graded_and_deliberated(system: RunningSystem, candidate_id: str, token: str, staff_token: str) -> None:
    """SIO-SISR, coefficients 2, 2, 3, 3, 4, 4, 4 (sum 22):
    2x12 + 2x9.5 + 3x11 + 3x10 + 4x13.25 + 4x8 + 4x14 = 24 + 19 + 33 + 30 + 53 + 32 + 56 = 247
    247 / 22 = 11.2272... -> "11.23", ADMIS (R-28)."""
    settings = system.settings
    staff = [("authorization", f"Bearer {staff_token}")]
    key = spb.ResultsKey(candidate_id=candidate_id, session=SESSION, specialty="SIO-SISR")
    async with aio_channel(settings, "results") as channel:
        results = spb_grpc.ResultsStub(channel)
        deadline = time.monotonic() + 30
        for unit, grade in GRADES.items():
            while True:  # the results service learns the confirmed registration from its topic
                try:
                    await results.RecordGrade(spb.RecordGradeRequest(key=key, unit=unit, grade=grade), metadata=staff)
                    break
                except grpc.aio.AioRpcError as error:
                    assert error.code() is grpc.StatusCode.NOT_FOUND, error.details()
                    assert time.monotonic() < deadline, "RegistrationConfirmed never reached the results service"
                    await asyncio.sleep(0.3)
        view = await results.Deliberate(key, metadata=staff)
        assert (view.outcome, view.average, view.final) == ("ADMIS", "11.23", True)
        own = await results.GetResults(
            spb.ResultsKey(session=SESSION, specialty="SIO-SISR"), metadata=[("authorization", f"Bearer {token}")]
        )
        assert own.outcome == "ADMIS"
        sheet = await results.GetScoreSheet(key, metadata=staff)
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(sheet.pdf)).pages)
        assert "11.23" in text and "Admis" in text
    events = await asyncio.to_thread(
        events_of,
        settings,
        "archipel.results.events",
        candidate_id,
        {"DeliberationCompleted", "FinalResultPublished"},
    )
    final = next(e for e in events if e["event_type"] == "FinalResultPublished")
    assert final["payload"]["outcome"] == "ADMIS"  # type: ignore[index]


async def _dossier_shows_the_whole_journey(system: RunningSystem, token: str) -> None:
    """The dossier read side, fed by the four topics, ends with the published result."""
    async with aio_channel(system.settings, "dossier") as channel:
        dossiers = opb_grpc.DossierStub(channel)
        deadline = time.monotonic() + 30
        state = "absent"
        while True:
            try:
                view = await dossiers.GetDossier(
                    opb.GetDossierRequest(session=SESSION), metadata=[("authorization", f"Bearer {token}")]
                )
                state = view.state
                if state == "results_published":
                    break
            except grpc.aio.AioRpcError as error:  # the read side has not seen the candidate yet
                assert error.code() is grpc.StatusCode.NOT_FOUND, error.details()
            assert time.monotonic() < deadline, f"the dossier stayed {state!r}"
            await asyncio.sleep(0.3)
        assert view.account_status == "active"
