"""The campaign of `archipel demo` (the parser is in archipel_cli/demo.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import grpc

from archipel.dossier.v1 import dossier_pb2 as opb
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.results.v1 import results_pb2 as spb
from archipel_cli import demo_staff, demo_steps
from archipel_cli.demo_steps import SPECIALTY, Stubs, activation_token, bearer, create_candidate, documents, retry
from archipel_cli.runtime import settings
from shared.clock import PARIS
from shared.settings import Settings

ACADEMIES = ("aix-marseille", "lyon")
CATEGORIES = ("individual", "distance", "professional_experience", "repeater")
STAFF_PASSWORD = "demo-mot-de-passe-gestion"
GENERAL, PROFESSIONAL = ("U1", "U2", "U3", "U4"), ("U5", "U6", "U7")
# The grades of each planned outcome (SIO-SISR coefficients 2, 2, 3, 3 | 4, 4, 4; sum 22).
PLANS: dict[str, dict[str, str]] = {
    "ADMIS": dict.fromkeys(GENERAL + PROFESSIONAL, "12"),  # 12.00
    "AJOURNE": dict.fromkeys(GENERAL + PROFESSIONAL, "7"),  # 7.00
    "CONTROLE": {**dict.fromkeys(GENERAL, "6"), **dict.fromkeys(PROFESSIONAL, "12")},  # 9.27, professional 12
    "ELIMINE": dict.fromkeys(GENERAL + PROFESSIONAL, "12"),  # and an unjustified absence at U1
}
CONTROLE_GRADES = {"U3": "14", "U4": "14"}  # final average 11.45 -> ADMIS
OUTCOMES = ("ADMIS", "AJOURNE", "CONTROLE", "ELIMINE")


@dataclass
class Candidate:
    name: str
    academy: str
    category: str
    plan: str
    email: str
    token: str = ""
    candidate_id: str = ""
    state: str = ""
    outcome: str = ""
    average: str = ""


def demo(arguments: argparse.Namespace) -> int:
    arguments.out.mkdir(parents=True, exist_ok=True)
    try:
        rows = asyncio.run(_campaign(settings(), arguments.session, arguments.out))
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    header = ("candidate", "académie", "category", "dossier state", "outcome", "average")
    table = [header, *[(c.name, c.academy, c.category, c.state, c.outcome, c.average) for c in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"summaries and score sheets: {arguments.out.resolve()}/")
    return 0


async def _staff(config: Settings, stubs: Stubs, tag: str, academy: str) -> str:
    """The académie's administrator bootstrapped on the server creates the staff account, which
    its owner activates from the mail; returns the staff's bearer token."""
    admin = f"admin.{tag}@ac-{academy}.fr"
    await demo_staff.bootstrap_admin(config, admin, academy, STAFF_PASSWORD)
    admin_token = await demo_staff.sign_in(stubs.accounts, admin, STAFF_PASSWORD)
    return await demo_staff.create_staff(
        stubs.accounts,
        admin_token,
        email=f"gestion.{tag}@ac-{academy}.fr",
        password=STAFF_PASSWORD,
        activation_token=lambda email: activation_token(config.home / "mail", email),
    )


def _local(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


async def _campaign(config: Settings, session: int, out: Path) -> list[Candidate]:
    tag = uuid.uuid4().hex[:6]
    stubs = Stubs.open(config)
    try:
        staff: dict[str, str] = {}
        now = datetime.now(PARIS)
        for academy in ACADEMIES:
            staff[academy] = await _staff(config, stubs, tag, academy)
            await stubs.registration.SetCalendar(
                rpb.SetCalendarRequest(
                    academy=academy, session=session, registration_opens=_local(now - timedelta(days=1)),
                    registration_closes=_local(now + timedelta(days=30)),
                    documents_deadline=_local(now + timedelta(days=45)), reason="démo : fenêtre autour de maintenant",
                ),
                metadata=bearer(staff[academy]),
            )  # fmt: skip
            print(f"staff created by the administrator; calendar {session} opened in {academy}", file=sys.stderr)
        candidates = [
            Candidate(
                f"{academy[:3].upper()}-{category}",
                academy,
                category,
                OUTCOMES[(i + j) % 4],
                f"demo.{tag}.{i}{j}@example.org",
            )
            for i, academy in enumerate(ACADEMIES)
            for j, category in enumerate(CATEGORIES)
        ]
        for index, c in enumerate(candidates):
            c.token = await create_candidate(stubs, config.home / "mail", c.email, (c.name, "Démo"), c.academy)
            view = await demo_steps.register(stubs, c.token, session, c.category)
            c.candidate_id = str(view.candidate_id)
            await documents(stubs, c.token, staff[c.academy], c.candidate_id, session=session, reject=index == 0)
            await _grades(stubs, staff[c.academy], c, session)
            print(f"{c.name}: registered, documents accepted, graded ({c.plan} planned)", file=sys.stderr)
        for academy in ACADEMIES:
            done = await stubs.results.DeliberateSession(
                spb.DeliberateSessionRequest(session=session, specialty=SPECIALTY), metadata=bearer(staff[academy])
            )
            print(f"session deliberated in {academy}: {dict(done.outcomes)}", file=sys.stderr)
        for c in candidates:
            key = spb.ResultsKey(candidate_id=c.candidate_id, session=session, specialty=SPECIALTY)
            result = await stubs.results.GetResults(key, metadata=bearer(staff[c.academy]))
            if result.outcome == "CONTROLE":
                result = await stubs.results.RecordControle(
                    spb.RecordControleRequest(key=key, grades=CONTROLE_GRADES), metadata=bearer(staff[c.academy])
                )
                c.outcome = f"CONTROLE -> {result.outcome}"
                c.average = f"{result.average} -> {result.final_average}"
            else:
                c.outcome, c.average = result.outcome, result.average
            await _download(stubs, c, staff[c.academy], session, out)
        await asyncio.sleep(2)  # the dossier read side follows the topics
        for c in candidates:
            view = await stubs.dossier.GetDossier(opb.GetDossierRequest(session=session), metadata=bearer(c.token))
            c.state = str(view.state)
        return candidates
    finally:
        await stubs.close()


async def _grades(stubs: Stubs, staff: str, c: Candidate, session: int) -> None:
    key = spb.ResultsKey(candidate_id=c.candidate_id, session=session, specialty=SPECIALTY)
    for unit, grade in PLANS[c.plan].items():
        if c.plan == "ELIMINE" and unit == "U1":
            request = spb.RecordAbsenceRequest(key=key, unit=unit, justified=False, reason="absent sans motif")
            await retry(
                lambda r=request: stubs.results.RecordAbsence(r, metadata=bearer(staff)),  # type: ignore[misc]
                (grpc.StatusCode.NOT_FOUND,),
                "record absence",
            )
            continue
        grade_request = spb.RecordGradeRequest(key=key, unit=unit, grade=grade)
        await retry(
            lambda r=grade_request: stubs.results.RecordGrade(r, metadata=bearer(staff)),  # type: ignore[misc]
            (grpc.StatusCode.NOT_FOUND,),
            "record grade",
        )


async def _download(stubs: Stubs, c: Candidate, staff: str, session: int, out: Path) -> None:
    key = rpb.RegistrationKey(session=session, specialty=SPECIALTY)
    summary = await stubs.registration.GetSummary(rpb.GetSummaryRequest(key=key, version=1), metadata=bearer(c.token))
    (out / f"{c.name}-{c.candidate_id[:8]}-recapitulatif.pdf").write_bytes(summary.pdf)
    sheet = await stubs.results.GetScoreSheet(
        spb.ResultsKey(candidate_id=c.candidate_id, session=session, specialty=SPECIALTY), metadata=bearer(staff)
    )
    (out / f"{c.name}-{c.candidate_id[:8]}-releve-de-notes.pdf").write_bytes(sheet.pdf)
