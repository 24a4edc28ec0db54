"""The relevé de notes as a PDF: French text that survives extraction, carried grades and their session,
the contrôle line only after a contrôle, deterministic bytes, wrapping and escaping."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from services.results.score_sheet import (
    ScoreLine,
    ScoreSheetView,
    format_issued_on,
    render_score_sheet,
)
from shared.french import academy_label

LONG_TITLE = (
    "Conception et réalisation de systèmes électroniques embarqués communicants, "
    "y compris l'étude, l'intégration, la qualification et la maintenance d'œuvre"
)

LINES = (
    ScoreLine("U1", "Culture générale et expression", "2", "14.00", "bénéfice en 2024"),
    ScoreLine("U2", "Anglais", "2", "11.50", ""),
    ScoreLine("U3", "Mathématiques", "3", "", "dispensé"),
    ScoreLine("U4", "Étude d'un système numérique et d'information", "5", "", "absent"),
    ScoreLine("U5", LONG_TITLE, "5", "8.00", "contrôle : 13.00"),
    ScoreLine("U6", "Projet technique", "6", "12.25", ""),
    ScoreLine("UF1", "Langue vivante étrangère facultative", "1", "15.00", "épreuve facultative"),
)


def _view(**changes: object) -> ScoreSheetView:
    view = ScoreSheetView(
        last_name="LEFÈVRE",
        first_names="Zoé Anaïs",
        candidate_id="CAND-2026-000123",
        academy="aix-marseille",
        session=2026,
        specialty="SN",
        specialty_title="Systèmes numériques",
        form="globale",
        lines=LINES,
        outcome="Admis",
        average="10.23",
        professional_average="10.80",
        final_average="10.61",
        # 22:30 UTC on 7 July is already 8 July in Paris (CEST)
        issued_at=datetime(2026, 7, 7, 22, 30, tzinfo=UTC),
    )
    return replace(view, **changes)  # type: ignore[arg-type]


def _text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), len(reader.pages)


def test_score_sheet_is_a_readable_pdf_with_the_french_content() -> None:
    pdf = render_score_sheet(_view())
    assert pdf.startswith(b"%PDF-")
    text, pages = _text(pdf)
    assert pages == 1
    for expected in (
        "Relevé de notes — BTS session 2026",
        "Académie d'Aix-Marseille",
        "LEFÈVRE",
        "Zoé Anaïs",
        "CAND-2026-000123",
        "SN – Systèmes numériques",
        "Forme globale",
        "Code Épreuve Coefficient Note /20 Observation",
        "Culture générale et expression",
        "14.00 bénéfice en 2024",
        "dispensé",
        "absent",
        "contrôle : 13.00",
        "épreuve facultative",
        "Moyenne générale : 10.23 / 20",
        "Moyenne du domaine professionnel : 10.80 / 20",
        "Moyenne après épreuves de contrôle : 10.61 / 20",
        "Décision du jury : Admis",
        "Document édité le 08/07/2026",
        "page 1",
    ):
        assert expected in text, expected
    for code in ("U1", "U2", "U3", "U4", "U5", "U6", "UF1"):
        assert code in text, code


def test_carried_grade_shows_its_session_in_the_observation_column() -> None:
    line = ScoreLine("U1", "Culture générale et expression", "2", "9.50", "bénéfice en 2023")
    text, _ = _text(render_score_sheet(_view(lines=(line,))))
    assert "U1 Culture générale et expression 2 9.50 bénéfice en 2023" in text


def test_same_view_gives_the_same_bytes() -> None:
    assert render_score_sheet(_view()) == render_score_sheet(_view())


def test_without_final_average_there_is_no_controle_line() -> None:
    lines = tuple(replace(line, note="") if line.code == "U5" else line for line in LINES)
    text, _ = _text(render_score_sheet(_view(final_average="", outcome="Ajourné", lines=lines)))
    assert "contrôle" not in text
    assert "Moyenne générale : 10.23 / 20" in text
    assert "Décision du jury : Ajourné" in text


def test_missing_averages_are_printed_as_not_computed() -> None:
    view = _view(
        form="progressive",
        average="",
        professional_average="",
        final_average="",
        outcome="Résultat incomplet (forme progressive)",
    )
    text, _ = _text(render_score_sheet(view))
    assert "Forme progressive" in text
    assert "Moyenne générale : non calculée" in text
    assert "Moyenne du domaine professionnel : non calculée" in text
    assert "Décision du jury : Résultat incomplet (forme progressive)" in text


def test_long_unit_title_wraps_inside_the_table() -> None:
    reader = PdfReader(io.BytesIO(render_score_sheet(_view())))
    lines = reader.pages[0].extract_text().splitlines()
    # the long title is split over several lines instead of running off the page
    assert not any(LONG_TITLE in line for line in lines)
    assert LONG_TITLE in " ".join(" ".join(lines).split())


def test_many_units_flow_onto_a_second_page_with_the_decision() -> None:
    lines = tuple(ScoreLine(f"U{i}", f"Épreuve n° {i} – {LONG_TITLE}", "1", "10.00", "") for i in range(1, 41))
    text, pages = _text(render_score_sheet(_view(lines=lines)))
    assert pages >= 2
    assert "page 2" in text
    for line in lines:
        assert f"{line.code} " in text
    assert "Décision du jury : Admis" in text


def test_markup_characters_in_the_data_are_printed_literally() -> None:
    view = _view(
        last_name="DUPONT & <FILS>",
        specialty_title="Systèmes <numériques> & réseaux",
        lines=(ScoreLine("U1", "Culture & <expression>", "2", "12.00", ""),),
    )
    text, _ = _text(render_score_sheet(view))
    assert "DUPONT & <FILS>" in text
    assert "Systèmes <numériques> & réseaux" in text
    assert "Culture & <expression>" in text


def test_french_formatting_helpers() -> None:
    assert academy_label("aix-marseille") == "Académie d'Aix-Marseille"
    assert academy_label("lille") == "Académie de Lille"
    assert academy_label("") == "Académie non renseignée"
    # winter time: 31 December 2025 23:30 UTC is already 1 January 2026 in Paris
    assert format_issued_on(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == "01/01/2026"
    assert format_issued_on(datetime(2026, 7, 7, 21, 59, tzinfo=UTC)) == "07/07/2026"


def test_naive_datetime_and_unknown_form_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        render_score_sheet(_view(issued_at=datetime(2026, 7, 7, 12, 0)))  # noqa: DTZ001
    with pytest.raises(ValueError, match="form"):
        render_score_sheet(_view(form="mixte"))
