"""Dossier completeness through gRPC (real PostgreSQL), for a realistic dossier of each category,
with the documents and reviews in every order once the requirements opened the dossier (an upload
before them is refused: R-18, issue 13), interleaved with reviews; then requirements that grow after
completion, and redelivered requirements (R-19 to R-24)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
import pytest

from archipel.documents.v1 import documents_pb2 as pb
from services.registration.domain.documents import required_documents
from services.registration.domain.state import Exemption, RegistrationState
from shared.contracts.documents import DossierIncomplete
from shared.contracts.registration import Category, ExemptionGround
from tests.integration.documents_fixtures import (  # noqa: F401 (documents_server is the `documents` fixture)
    SESSION,
    SPECIALTY,
    Candidate,
    DocumentsServer,
    documents_server,
    pdf,
    upload_requests,
)


def kinds_for(state: RegistrationState) -> list[str]:
    """The documents the registration service requires for this registration (SIO-SISR: no R408)."""
    return [document.kind for document in required_documents(state, requires_r408=False)]


CATEGORIES = {
    "individual": kinds_for(RegistrationState(category=Category.INDIVIDUAL)),
    "distance, shortened training": kinds_for(RegistrationState(category=Category.DISTANCE, training_shortened=True)),
    "professional experience, VAE exemption": kinds_for(
        RegistrationState(
            category=Category.PROFESSIONAL_EXPERIENCE,
            exemptions={"U3": Exemption(unit="U3", ground=ExemptionGround.VAE, detail="VAE 2024")},
        )
    ),
    "repeater": kinds_for(RegistrationState(category=Category.REPEATER)),
}
Step = tuple[str, str]  # ("require", "") | ("upload" | "accept" | "reject" | "upload+accept", kind)


@dataclass
class Dossier:
    """One candidate's dossier driven step by step, with what the test expects of it."""

    documents: DocumentsServer
    who: Candidate
    kinds: list[str]
    known: bool = False
    latest: dict[str, str] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    completions: int = 0

    def expected_complete(self) -> bool:
        return self.known and all(kind in self.accepted for kind in self.kinds)

    async def step(self, action: str, kind: str) -> None:
        before = self.expected_complete()
        if action == "require":
            await self.documents.require(self.who, self.kinds)
            self.known = True
        if action.startswith("upload") and not self.known:  # no dossier yet: refused, nothing stored
            requests = upload_requests(pb.DossierKey(session=SESSION, specialty=SPECIALTY), kind, pdf("early"))
            details = await self.documents.refused_upload(requests, self.who.me, grpc.StatusCode.FAILED_PRECONDITION)
            assert "no dossier" in details and "R-18" in details
        elif action.startswith("upload"):
            uploaded = await self.documents.upload(self.who, kind, pdf(f"{self.who.id} {kind} {len(self.latest)}"))
            self.latest[kind] = uploaded.document_id
            self.accepted.discard(kind)
        if action.endswith("accept") and kind in self.latest:
            await self.documents.review(self.who, self.latest[kind])
            self.accepted.add(kind)
        if action == "reject":
            view = await self.documents.review(self.who, self.latest[kind], accept=False, reason="Document illisible")
            assert view.notifications[-1].text == f"Pièce refusée ({kind}) : Document illisible"
        self.completions += not before and self.expected_complete()
        await self.check()

    async def check(self) -> None:
        if not self.known:  # no dossier: staff find none, and no stream was made
            assert await self.documents.event_types(self.who.stream) == []
            return
        view = await self.documents.dossier(self.who)
        expected = self.expected_complete()
        assert view.complete is expected and view.requirements_known is self.known
        if self.known:
            assert list(view.missing) == [k for k in self.kinds if k not in self.accepted]
            assert [r.kind for r in view.required] == self.kinds
        types = await self.documents.event_types(self.who.stream)
        assert types.count("DossierComplete") == self.completions and "DossierIncomplete" not in types
        assert types.count("RequirementsRecorded") == int(self.known)

    async def run(self, steps: Sequence[Step]) -> None:
        for action, kind in steps:
            await self.step(action, kind)
        assert self.expected_complete() and self.completions == 1


def scenarios(kinds: list[str]) -> dict[str, list[Step]]:
    first, *others = kinds
    return {
        "requirements first": [
            ("require", ""),
            *[("upload", k) for k in kinds],
            *[("accept", k) for k in reversed(kinds)],
        ],
        "an upload before the requirements refused, then every document accepted": [
            ("upload", first),
            ("require", ""),
            *[("upload+accept", k) for k in kinds],
        ],
        "interleaved with reviews": [
            ("require", ""),
            ("upload", first),
            ("reject", first),
            ("upload+accept", others[0]),
            ("upload", first),
            *[("upload", k) for k in others[1:]],
            ("reject", others[-1]),
            ("upload", others[-1]),
            *[("accept", k) for k in [first, *others[1:]]],
        ],
    }


@pytest.mark.parametrize("category", CATEGORIES)
async def test_each_category_completes_whatever_the_order(documents: DocumentsServer, category: str) -> None:
    kinds = CATEGORIES[category]
    for name, steps in scenarios(kinds).items():
        dossier = Dossier(documents, await documents.candidate(), kinds)
        await dossier.run(steps)
        await documents.project()
        line = await documents.store.pool.fetchrow(
            "SELECT state, missing, pending_review FROM dossier_list WHERE stream_id = $1", dossier.who.stream
        )
        assert line is not None, name
        assert (line["state"], line["missing"], line["pending_review"]) == ("complete", 0, 0), name


async def test_every_order_of_requirements_uploads_and_reviews(documents: DocumentsServer) -> None:
    """Every order of five steps on an individual dossier once its requirements opened it, an
    acceptance always after its upload."""
    kinds = CATEGORIES["individual"]
    steps: list[Step] = [
        ("upload", "identity"),
        ("accept", "identity"),
        ("upload", "signed_summary"),
        ("accept", "signed_summary"),
        ("upload+accept", "training_certificate"),
    ]
    orders = [
        o
        for o in itertools.permutations(steps)
        if o.index(steps[0]) < o.index(steps[1]) and o.index(steps[2]) < o.index(steps[3])
    ]
    assert len(orders) == 30
    for order in orders:
        await Dossier(documents, await documents.candidate(), kinds).run([("require", ""), *order])


async def test_requirements_that_grow_after_completion(documents: DocumentsServer) -> None:
    kinds = CATEGORIES["repeater"]
    dossier = Dossier(documents, await documents.candidate(), kinds)
    await dossier.run(scenarios(kinds)["requirements first"])
    who = dossier.who

    async def state() -> str:
        await documents.project()
        found: str = await documents.store.pool.fetchval(
            "SELECT state FROM dossier_list WHERE stream_id = $1", who.stream
        )
        return found

    assert await state() == "complete"
    assert await documents.deliver(documents.required(who, [*kinds, "amex_decision"]))
    types = await documents.event_types(who.stream)
    assert types[-2:] == ["RequirementsRecorded", "DossierIncomplete"]
    [incomplete] = [
        e.payload for e in await documents.store.read_stream(who.stream) if e.event_type == "DossierIncomplete"
    ]
    assert isinstance(incomplete, DossierIncomplete) and incomplete.missing == ("amex_decision",)
    view = await documents.dossier(who)
    assert (
        not view.complete
        and list(view.missing) == ["amex_decision"]
        and view.notifications[-1].kind == "DossierIncomplete"
    )
    assert await state() == "incomplete"

    decision = await documents.upload(who, "amex_decision", pdf("amex"))
    view = await documents.review(who, decision.document_id)
    assert view.complete and list(view.missing) == []
    types = await documents.event_types(who.stream)
    assert (
        types[-3:] == ["DocumentUploaded", "DocumentAccepted", "DossierComplete"]
        and types.count("DossierComplete") == 2
    )
    assert await state() == "complete"


async def test_redelivered_or_stale_requirements_change_nothing(documents: DocumentsServer) -> None:
    kinds = CATEGORIES["individual"]
    who = await documents.candidate()
    first = documents.required(who, kinds)
    assert await documents.deliver(first)
    assert not await documents.deliver(first)  # the consumer's checkpoint recognises it
    await documents.record_requirements(first)  # and so does the dossier, by source event id
    assert await documents.event_types(who.stream) == ["RequirementsRecorded"]

    for kind in kinds:
        await documents.review(who, (await documents.upload(who, kind, pdf(kind))).document_id)
    assert (await documents.dossier(who)).complete
    settled = await documents.event_types(who.stream)
    assert not await documents.deliver(first)
    await documents.record_requirements(first)

    # The registration stream's next event, then a forged or stale version 1 with another list: a
    # consumer follows each stream's chain (version last+1, linked hash), so the stale one is dropped.
    newer = documents.required(who, kinds, version=2)
    stale = documents.required(who, [*kinds, "rqth"], version=1)
    assert await documents.deliver(newer)  # the same list again, a new event: recorded, still complete
    assert not await documents.deliver(stale)  # older than what was applied: dropped
    assert await documents.event_types(who.stream) == [*settled, "RequirementsRecorded"]
    view = await documents.dossier(who)
    assert view.complete and [r.kind for r in view.required] == kinds and view.deadline.startswith("2025-11-28T17:00")
    assert view.stream_version == len(settled) + 1 and view.session == SESSION
