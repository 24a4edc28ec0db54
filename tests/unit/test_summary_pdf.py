"""The récapitulatif d'inscription as a PDF (R-09, guide §12): French text that survives extraction,
deterministic bytes, wrapping and pagination."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from services.registration.summary import (
    SummaryView,
    UnitLine,
    format_deadline,
    format_issued_at,
    render_summary,
)
from shared.french import academy_label

LONG_TITLE = (
    "Conception et réalisation de systèmes électroniques embarqués communicants, "
    "y compris l'étude, l'intégration, la qualification et la maintenance d'œuvre"
)

DOCUMENTS = (
    "Récapitulatif d'inscription vérifié, daté et signé",
    "Pièce d'identité en cours de validité",
    "Justificatif de l'expérience professionnelle (certificats de travail)",
    "Attestation de formation « langue rare »",
)


def _view(**changes: object) -> SummaryView:
    view = SummaryView(
        version=3,
        issued_at=datetime(2025, 11, 12, 15, 59, tzinfo=UTC),
        last_name="LEFÈVRE",
        first_names="Zoé Anaïs",
        birth_date=date(2003, 2, 7),
        email="zoe.lefevre@example.fr",
        candidate_id="CAND-2026-000123",
        academy="aix-marseille",
        session=2026,
        specialty="SN",
        specialty_title="Systèmes numériques",
        category="Expérience professionnelle",
        form="progressive",
        units=(
            UnitLine("U1", "Culture générale et expression", "2", "bénéfice conservé (14/20, session 2024)"),
            UnitLine("U2", "Anglais", "2", "présentée"),
            UnitLine("U3", "Mathématiques", "3", "dispensée (VAE)"),
            UnitLine("U4", "Étude d'un système numérique et d'information", "5", "bénéfice renoncé"),
            UnitLine("U5", LONG_TITLE, "5", "présentée"),
            UnitLine("U6", "Projet technique", "6", "non présentée cette session"),
        ),
        language="Anglais",
        optional_units=("EF1 – Langue vivante étrangère facultative",),
        benefits_kept=("U1 – Culture générale et expression : 14/20 (session 2024)",),
        benefits_renounced=("U4 – Étude d'un système numérique et d'information : 8/20 (session 2023)",),
        exemptions=("U3 – Mathématiques (décision VAE)",),
        handicap=True,
        amex_reference="AMEX-13-2026-0042",
        documents=DOCUMENTS,
        documents_deadline=datetime(2025, 11, 28, 16, 0, tzinfo=UTC),
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def _text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), len(reader.pages)


def test_summary_is_a_readable_pdf_with_the_french_content() -> None:
    pdf = render_summary(_view())
    assert pdf.startswith(b"%PDF-")
    text, pages = _text(pdf)
    assert pages >= 1
    for expected in (
        "Récapitulatif d'inscription — BTS session 2026",
        "Version 3",
        "12/11/2025 à 16:59",  # 15:59 UTC is 16:59 in Paris (CET)
        "LEFÈVRE",
        "Zoé Anaïs",
        "07/02/2003",
        "zoe.lefevre@example.fr",
        "CAND-2026-000123",
        "Académie d'Aix-Marseille",
        "SN – Systèmes numériques",
        "Expérience professionnelle",
        "Forme progressive",
        "Le choix de la forme est définitif dès la première inscription.",
        "bénéfice conservé (14/20, session 2024)",
        "dispensée (VAE)",
        "EF1 – Langue vivante étrangère facultative",
        "U1 – Culture générale et expression : 14/20 (session 2024)",
        "U4 – Étude d'un système numérique et d'information : 8/20 (session 2023)",
        "Le renoncement à un bénéfice est définitif.",
        "U3 – Mathématiques (décision VAE)",
        "Handicap : OUI — demande AMEX n° AMEX-13-2026-0042",
        "Pièces justificatives à téléverser",
        "au plus tard le vendredi 28 novembre 2025 à 17:00 (heure de Paris)",
        "Je certifie l'exactitude des renseignements ci-dessus.",
        "Signature du candidat :",
        "maintenance d'œuvre",
    ):
        assert expected in text, expected
    assert "bullet" not in text
    for unit in ("U1", "U2", "U3", "U4", "U5", "U6"):
        assert unit in text
    for label in DOCUMENTS:
        assert label in text, label


def test_long_unit_title_wraps_inside_the_table() -> None:
    reader = PdfReader(io.BytesIO(render_summary(_view())))
    lines = reader.pages[0].extract_text().splitlines()
    # the long title is split over several lines instead of running off the page
    assert not any(LONG_TITLE in line for line in lines)
    assert LONG_TITLE in " ".join(" ".join(lines).split())


def test_a_heading_is_never_left_alone_at_the_bottom_of_a_page() -> None:
    reader = PdfReader(io.BytesIO(render_summary(_view())))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    [page] = [text for text in pages if "Pièces justificatives à téléverser" in text]
    assert DOCUMENTS[0] in page


def test_same_view_gives_the_same_bytes() -> None:
    assert render_summary(_view()) == render_summary(_view())


def test_no_handicap_and_empty_sections() -> None:
    view = _view(
        handicap=False,
        amex_reference=None,
        form="globale",
        birth_date=None,
        language=None,
        optional_units=(),
        benefits_kept=(),
        benefits_renounced=(),
        exemptions=(),
        documents_deadline=None,
    )
    text, _ = _text(render_summary(view))
    assert "Handicap : NON" in text
    assert "AMEX" not in text
    assert "Forme globale" in text
    assert "Date de naissance non renseignée" in text
    assert "au plus tard" not in text


def test_forty_documents_flow_onto_a_second_page() -> None:
    documents = tuple(f"Pièce justificative n° {i} – attestation à fournir" for i in range(1, 41))
    text, pages = _text(render_summary(_view(documents=documents)))
    assert pages >= 2
    for label in documents:
        assert label in text
    assert "page 2" in text


def test_markup_characters_in_the_data_are_printed_literally() -> None:
    text, _ = _text(render_summary(_view(last_name="DUPONT & <FILS>")))
    assert "DUPONT & <FILS>" in text


def test_french_formatting_helpers() -> None:
    assert academy_label("aix-marseille") == "Académie d'Aix-Marseille"
    assert academy_label("orleans-tours") == "Académie d'Orleans-Tours"
    assert academy_label("lille") == "Académie de Lille"
    assert academy_label("clermont-ferrand") == "Académie de Clermont-Ferrand"
    # summer time: 28 June 2026 10:30 UTC is 12:30 in Paris
    assert format_issued_at(datetime(2026, 6, 28, 10, 30, tzinfo=UTC)) == "28/06/2026 à 12:30"
    assert format_deadline(datetime(2026, 8, 1, 6, 0, tzinfo=UTC)) == ("samedi 1er août 2026 à 08:00 (heure de Paris)")


def test_naive_datetime_and_unknown_form_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        render_summary(_view(issued_at=datetime(2025, 11, 12, 15, 59)))  # noqa: DTZ001
    with pytest.raises(ValueError, match="form"):
        render_summary(_view(form="mixte"))
