"""Uploads, bounded (issue 13): a PDF carrying JavaScript, a launch action or embedded files is
refused by content, wherever it hides; a dossier holds at most MAX_DOCUMENTS_PER_DOSSIER documents
and MAX_BYTES_PER_DOSSIER bytes (RuleViolation: FAILED_PRECONDITION)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from services.documents.content import ContentType, RefusedFile, StagedFile, stage
from services.documents.domain import decide
from services.documents.quota import MAX_BYTES_PER_DOSSIER, MAX_DOCUMENTS_PER_DOSSIER, QUOTA, check_quota
from shared.contracts.documents import DocumentUploaded
from shared.errors import RuleViolation
from tests.unit.test_documents_domain import KEY, REQUIRED, facts, given, recorded, upload, uploaded


def written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page() -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    return writer


def with_javascript() -> bytes:
    """A document-level script in the catalog's /Names /JavaScript tree, behind an indirect object."""
    writer = page()
    action = writer._add_object(
        DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("x")})
    )
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("init"), action])})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})
    return written(writer)


def opening_javascript() -> bytes:
    writer = page()
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )
    return written(writer)


def with_launch() -> bytes:
    writer = page()
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )
    return written(writer)


def with_attachment() -> bytes:
    writer = page()
    writer.add_attachment("payload.exe", b"MZ" + bytes(100))
    return written(writer)


def escaped_name() -> bytes:
    """/JavaScript written /J#61vaScript (a PDF name may escape any character as #xx)."""
    data = opening_javascript()
    return data.replace(b"/S /JavaScript", b"/S /J#61vaScript", 1)


async def stage_bytes(data: bytes, folder: Path) -> StagedFile:
    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return await stage(chunks(), folder)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (with_javascript, "JavaScript"),
        (opening_javascript, "JavaScript"),
        (escaped_name, "JavaScript"),
        (with_launch, "a launch action (/Launch)"),
        (with_attachment, "embedded file"),
    ],
    ids=["names-tree-js", "open-action-js", "escaped-name", "launch", "attachment"],
)
async def test_a_pdf_with_active_content_is_refused_and_leaves_nothing(
    tmp_path: Path, make: Callable[[], bytes], reason: str
) -> None:
    data = make()
    with pytest.raises(RefusedFile) as caught:
        await stage_bytes(data, tmp_path)
    assert caught.value.reason.startswith("PDF with ") and reason in caught.value.reason
    assert list(tmp_path.iterdir()) == []


async def test_a_plain_pdf_is_still_accepted(tmp_path: Path) -> None:
    staged = await stage_bytes(written(page()), tmp_path)
    assert staged.content_type is ContentType.PDF


def test_the_quota_counts_documents_and_bytes() -> None:
    check_quota([1] * (MAX_DOCUMENTS_PER_DOSSIER - 1), 1)
    check_quota([MAX_BYTES_PER_DOSSIER - 10], 10)
    with pytest.raises(RuleViolation) as caught:
        check_quota([1] * MAX_DOCUMENTS_PER_DOSSIER, 1)
    assert caught.value.rule == QUOTA and f"{MAX_DOCUMENTS_PER_DOSSIER} documents" in caught.value.message
    with pytest.raises(RuleViolation) as caught:
        check_quota([MAX_BYTES_PER_DOSSIER - 10], 11)
    assert caught.value.rule == QUOTA and "bytes" in caught.value.message


def test_decide_refuses_an_upload_past_the_dossiers_quota() -> None:
    """Replaced documents count too: a dossier that took its quota of uploads takes no more."""
    full = given(
        recorded(),
        *[uploaded("identity", attempt) for attempt in range(1, MAX_DOCUMENTS_PER_DOSSIER + 1)],
    )
    with pytest.raises(RuleViolation, match="quota"):
        decide(upload("identity", MAX_DOCUMENTS_PER_DOSSIER + 1), full, facts())

    big = given(recorded(), uploaded("identity").model_copy(update={"size": MAX_BYTES_PER_DOSSIER - 1000}))
    with pytest.raises(RuleViolation, match="quota"):
        decide(upload(REQUIRED[0]).model_copy(update={"size": 1001, "document_id": uuid4()}), big, facts())
    [event] = decide(upload(REQUIRED[0]).model_copy(update={"size": 1000}), big, facts())
    assert isinstance(event, DocumentUploaded) and KEY["candidate_id"] == event.candidate_id
