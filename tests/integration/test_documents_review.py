"""Staff review through gRPC against the in-process documents server (real PostgreSQL): reviews,
replacements, dossiers declared incomplete or rejected (notification + email, R-24), the staff's
list by state, who may do what (tenancy is the académie), and the `archipel documents` commands."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from archipel.documents.v1 import documents_pb2 as pb
from archipel_cli import documents_run as documents_cli
from archipel_cli.main import main
from shared.auth import Role
from tests.integration.documents_fixtures import (  # noqa: F401 (documents_server is the `documents` fixture)
    SESSION,
    Candidate,
    DocumentsServer,
    documents_server,
    pdf,
    refused,
    upload_requests,
)

OWN = pb.DossierKey(session=SESSION, specialty="SIO-SISR")
KINDS = ["signed_summary", "identity", "training_certificate"]
DENIED, INVALID = grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT


async def test_reviews_replacements_and_who_may_review(documents: DocumentsServer) -> None:
    me = await documents.registered(KINDS)
    ids = {kind: (await documents.upload(me, kind, pdf(kind))).document_id for kind in KINDS}
    key = me.key()

    def review(document_id: str, accept: bool, reason: str = "") -> pb.ReviewRequest:
        return pb.ReviewRequest(key=key, document_id=document_id, accept=accept, reason=reason)

    details = await refused(documents.stub.Review(review(ids["identity"], False), metadata=documents.staff()), INVALID)
    assert details.startswith("reason:")
    await refused(documents.stub.Review(review(ids["identity"], False, "  "), metadata=documents.staff()), INVALID)
    await refused(documents.stub.Review(review(ids["identity"], True), metadata=documents.staff("lyon")), DENIED)
    auditor = documents.staff(role=Role.AUDITOR)
    await refused(documents.stub.Review(review(ids["identity"], True), metadata=auditor), DENIED)
    await refused(documents.stub.Review(review(ids["identity"], True), metadata=me.me), DENIED)
    await refused(documents.stub.Review(review("not-an-id", True), metadata=documents.staff()), INVALID)
    assert await documents.event_types(me.stream) == ["RequirementsRecorded"] + ["DocumentUploaded"] * 3
    seen = await documents.stub.GetDossier(key, metadata=auditor)
    assert [r.status for r in seen.required] == ["pending"] * 3 and not seen.complete

    view = await documents.review(me, ids["identity"], accept=False, reason="Photo illisible")
    assert {r.kind: r.status for r in view.required}["identity"] == "rejected"
    assert [n.text for n in view.notifications] == ["Pièce refusée (identity) : Photo illisible"]
    for kind in ("signed_summary", "training_certificate"):
        view = await documents.review(me, ids[kind])
    assert not view.complete and list(view.missing) == ["identity"]
    await refused(
        documents.stub.Review(review(ids["identity"], True), metadata=documents.staff()),
        grpc.StatusCode.FAILED_PRECONDITION,
    )

    replaced = await documents.upload(me, "identity", pdf("a readable identity card"))
    await refused(
        documents.stub.Review(review(ids["identity"], True), metadata=documents.staff()),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    view = await documents.review(me, replaced.document_id)
    assert view.complete and list(view.missing) == []
    current = {d.document_id: d.current for d in view.documents}
    assert current[ids["identity"]] is False and current[replaced.document_id] is True
    once_more = upload_requests(OWN, "identity", pdf("once more"))
    details = await documents.refused_upload(once_more, me.me, grpc.StatusCode.FAILED_PRECONDITION)
    assert "already accepted" in details  # an accepted document cannot be replaced
    assert (await documents.event_types(me.stream))[-2:] == ["DocumentAccepted", "DossierComplete"]


async def test_incomplete_and_rejected_dossiers_are_announced(documents: DocumentsServer) -> None:
    lea, noe = await documents.registered(KINDS), await documents.registered(KINDS)
    waiting = await documents.candidate()  # not registered
    early = upload_requests(OWN, "identity", pdf("early"))  # no registration: no dossier, none made
    assert "R-18" in await documents.refused_upload(early, waiting.me, grpc.StatusCode.FAILED_PRECONDITION)
    complete = await documents.registered(["identity"])
    await documents.review(complete, (await documents.upload(complete, "identity", pdf("ok"))).document_id)

    incomplete = pb.DeclareIncompleteRequest(
        key=lea.key(), missing=["training_certificate"], wrong=["identity"], note="Envoyez une copie recto verso."
    )
    await refused(documents.stub.DeclareIncomplete(incomplete, metadata=lea.me), DENIED)
    await refused(documents.stub.DeclareIncomplete(incomplete, metadata=documents.staff("lyon")), DENIED)
    view = await documents.stub.DeclareIncomplete(incomplete, metadata=documents.staff())
    assert (await documents.event_types(lea.stream))[-1] == "DossierIncomplete"
    assert "Pièces manquantes : training_certificate. Non conformes : identity." in view.notifications[-1].text
    [mail] = documents.mailer.messages
    assert mail["To"] == lea.email and "incomplet" in mail["Subject"]
    assert "pièce non conforme : identity" in mail.get_content() and "recto verso" in mail.get_content()
    shown = await documents.stub.GetDossier(pb.DossierKey(session=SESSION, specialty="SIO-SISR"), metadata=lea.me)
    assert shown.notifications[-1].kind == "DossierIncomplete"

    rejection = pb.RejectDossierRequest(key=noe.key(), reason="Candidature hors délai")
    await refused(
        documents.stub.RejectDossier(pb.RejectDossierRequest(key=noe.key()), metadata=documents.staff()), INVALID
    )
    view = await documents.stub.RejectDossier(rejection, metadata=documents.staff())
    assert view.rejected and view.notifications[-1].text == "Dossier rejeté : Candidature hors délai"
    assert documents.mailer.messages[-1]["To"] == noe.email and "rejeté" in documents.mailer.messages[-1]["Subject"]
    late = upload_requests(OWN, "identity", pdf("late"))
    assert "R-24" in await documents.refused_upload(late, noe.me, grpc.StatusCode.FAILED_PRECONDITION)

    await documents.project()

    async def listed(state: str, academy: str = "aix-marseille", role: Role = Role.STAFF) -> set[str]:
        request = pb.ListDossiersRequest(session=SESSION, state=state)
        answer = await documents.stub.ListDossiers(request, metadata=documents.staff(academy, role))
        return {line.candidate_id for line in answer.dossiers}

    assert await listed("rejected") == {noe.id}
    assert await listed("incomplete") == {lea.id}
    assert await listed("waiting") == set()
    assert await listed("complete") == {complete.id}
    assert await listed("", role=Role.AUDITOR) == {lea.id, noe.id, complete.id}
    assert await listed("") == await listed("", role=Role.AUDITOR)
    assert await listed("", academy="lyon") == set()
    assert await listed("", academy="lyon", role=Role.AUDITOR) == set()
    assert await listed("", academy="national", role=Role.NATIONAL_AUDITOR) == {lea.id, noe.id, complete.id}
    await refused(documents.stub.ListDossiers(pb.ListDossiersRequest(), metadata=lea.me), DENIED)
    await refused(
        documents.stub.ListDossiers(pb.ListDossiersRequest(state="lost"), metadata=documents.staff()), INVALID
    )


async def test_a_dossier_known_only_by_its_requirements_stays_in_its_academy(documents: DocumentsServer) -> None:
    me = await documents.registered(KINDS)
    lyon = documents.staff("lyon")
    await refused(documents.stub.GetDossier(me.key(), metadata=lyon), grpc.StatusCode.NOT_FOUND)
    request = pb.DeclareIncompleteRequest(key=me.key(), missing=["identity"], note="Pièce manquante")
    await refused(documents.stub.DeclareIncomplete(request, metadata=lyon), DENIED)
    await refused(
        documents.stub.RejectDossier(pb.RejectDossierRequest(key=me.key(), reason="x"), metadata=lyon), DENIED
    )
    assert await documents.event_types(me.stream) == ["RequirementsRecorded"]
    assert (await documents.stub.GetDossier(me.key(), metadata=documents.staff())).requirements_known


async def archipel(
    capsys: pytest.CaptureFixture[str], documents: DocumentsServer, who: Any, *argv: str
) -> tuple[int, Any, str]:
    token = (who.me if isinstance(who, Candidate) else who)[0][1].removeprefix("Bearer ")
    code = await asyncio.to_thread(main, ["documents", *argv, "--target", documents.target, "--token", token])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


async def test_the_documents_commands(
    documents: DocumentsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    me, staff = await documents.registered(), documents.staff()
    where = ["--session", "2026", "--specialty", "SIO-SISR"]
    scan = tmp_path / "carte d'identité.pdf"
    scan.write_bytes(pdf("cli", pages=1000))
    options = argparse.Namespace(candidate="", session=SESSION, specialty="SIO-SISR", kind="identity")
    sent = [len(chunk.data) for chunk in documents_cli._chunks(options, scan)]
    assert sent[0] == 0 and sent[1:] == [64 * 1024, scan.stat().st_size - 64 * 1024]  # metadata, then 64 KiB pieces

    code, uploaded, err = await archipel(capsys, documents, me, "upload", str(scan), "--kind", "identity", *where)
    assert code == 0, err
    assert uploaded["label"] == scan.name and uploaded["size"] == str(scan.stat().st_size)
    bad = tmp_path / "notes.pdf"
    bad.write_text("pas un PDF")
    code, _, err = await archipel(capsys, documents, me, "upload", str(bad), "--kind", "signed_summary", *where)
    assert code == 2 and err.startswith("error: INVALID_ARGUMENT: file:")
    code, _, err = await archipel(
        capsys, documents, me, "upload", str(tmp_path / "nope.pdf"), "--kind", "identity", *where
    )
    assert code == 2 and "no such file" in err

    code, listed, _ = await archipel(capsys, documents, me, "list", *where)
    assert code == 0 and [d["document_id"] for d in listed] == [uploaded["document_id"]]
    out = tmp_path / "copie.pdf"
    code, fetched, _ = await archipel(
        capsys, documents, me, "download", uploaded["document_id"], "--out", str(out), *where
    )
    assert code == 0 and out.read_bytes() == scan.read_bytes() and fetched["sha256"] == uploaded["sha256"]

    theirs = [*where, "--candidate", me.id]
    code, _, err = await archipel(capsys, documents, staff, "review", uploaded["document_id"], "--reject", *theirs)
    assert code == 2 and "reason" in err
    code, view, _ = await archipel(capsys, documents, staff, "review", uploaded["document_id"], "--accept", *theirs)
    assert code == 0 and view["missing"] == ["signed_summary"]
    code, _, _ = await archipel(
        capsys,
        documents,
        staff,
        "incomplete",
        *theirs,
        "--missing",
        "signed_summary",
        "--note",
        "Signez le récapitulatif",
    )
    assert code == 0 and documents.mailer.messages[-1]["To"] == me.email
    code, status, _ = await archipel(capsys, documents, me, "status", *where)
    assert code == 0 and status["complete"] is False and status["missing"] == ["signed_summary"]
    assert status["deadline"] == "2025-11-28T17:00:00+01:00" and "Signez" in status["notifications"][-1]["text"]
    code, _, err = await archipel(capsys, documents, me, "review", uploaded["document_id"], "--accept", *where)
    assert code == 1 and "PERMISSION_DENIED" in err

    code, view, _ = await archipel(capsys, documents, staff, "reject", *theirs, "--reason", "Fraude")
    assert code == 0 and view["rejected"] is True
    await documents.project()
    code, lines, _ = await archipel(capsys, documents, staff, "dossiers", "--session", "2026", "--state", "rejected")
    assert code == 0 and [line["candidate_id"] for line in lines["dossiers"]] == [me.id]
