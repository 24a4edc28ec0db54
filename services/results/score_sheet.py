"""The relevé de notes of a candidate rendered as a PDF (the view is built by score_sheet_view.py).

`render_score_sheet` is a pure function of a `ScoreSheetView`: no clock, no locale, no randomness. The
canvas runs in reportlab's invariant mode, so the same view always gives the same bytes (no creation
date, no random document id). The text is French; the standard Helvetica font with WinAnsi encoding
covers every French character (é è à ç ô œ « » – — …). A character outside Windows-1252 would print as
a black box: the views are expected to carry French/Latin-1 text. Every piece of data is escaped before
it reaches reportlab's paragraph markup, so names with & < > print literally.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_RIGHT  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    KeepTogether,
    SimpleDocTemplate,
    Spacer,
    Table,
)

from shared.french import academy_label, short_date
from shared.pdf import BODY as _BODY
from shared.pdf import BOLD as _BOLD
from shared.pdf import CELL as _CELL
from shared.pdf import CELL_HEAD as _CELL_HEAD
from shared.pdf import FONT as _FONT
from shared.pdf import HEADING as _HEADING
from shared.pdf import SUBTITLE as _SUBTITLE
from shared.pdf import TITLE as _TITLE
from shared.pdf import field as _field
from shared.pdf import grid_style as _grid_style
from shared.pdf import paragraph as _p
from shared.reference.labels import form_label

_FRAME_PADDING = 6
_MARGIN = 18 * mm


@dataclass(frozen=True)
class ScoreLine:
    code: str
    title: str
    coefficient: str
    mark: str  # "13.50", "" when there is no mark
    note: str  # "bénéfice en 2024", "dispensé", "absent", "contrôle : 13.00", "épreuve facultative", ""...


@dataclass(frozen=True)
class ScoreSheetView:
    last_name: str
    first_names: str
    candidate_id: str
    academy: str  # slug, e.g. "aix-marseille"
    session: int
    specialty: str
    specialty_title: str
    form: str  # "globale" | "progressive"
    lines: tuple[ScoreLine, ...]
    outcome: str  # French label, e.g. "Admis"
    average: str  # "" when none
    professional_average: str  # "" when none
    final_average: str  # "" when there was no contrôle
    issued_at: datetime  # aware; printed in Europe/Paris


# --- French formatting (no locale dependency) ---------------------------------------------------


def format_issued_on(moment: datetime) -> str:
    """27/11/2025, the day in Paris time."""
    return short_date(moment)


def _average(value: str) -> str:
    return f"{value} / 20" if value else "non calculée"


# --- layout -------------------------------------------------------------------------------------

_CELL_RIGHT = ParagraphStyle("cell_right", parent=_CELL, alignment=TA_RIGHT)
_DECISION = ParagraphStyle("decision", parent=_BODY, fontName=_BOLD, fontSize=11, leading=14, spaceBefore=6)


def _identity(view: ScoreSheetView, width: float) -> Table:
    rows = [
        ("Nom", view.last_name),
        ("Prénoms", view.first_names),
        ("Identifiant candidat", view.candidate_id),
    ]
    data = [[_p(label, _CELL_HEAD), _p(value, _CELL)] for label, value in rows]
    table = Table(data, colWidths=[45 * mm, width - 45 * mm])
    table.setStyle(_grid_style(header=False))
    return table


def _grades(view: ScoreSheetView, width: float) -> list[object]:
    if not view.lines:
        return [_p("Aucune épreuve.")]
    head = [_p(text, _CELL_HEAD) for text in ("Code", "Épreuve", "Coefficient", "Note /20", "Observation")]
    data = [head] + [
        [
            _p(line.code, _CELL),
            _p(line.title, _CELL),
            _p(line.coefficient, _CELL_RIGHT),
            _p(line.mark or "—", _CELL_RIGHT),
            _p(line.note, _CELL),
        ]
        for line in view.lines
    ]
    code_w, coef_w, mark_w, note_w = 16 * mm, 22 * mm, 18 * mm, 45 * mm
    title_w = width - code_w - coef_w - mark_w - note_w
    table = Table(data, colWidths=[code_w, title_w, coef_w, mark_w, note_w], repeatRows=1)
    table.setStyle(_grid_style(header=True))
    return [table]


def _results(view: ScoreSheetView) -> KeepTogether:
    rows: list[object] = [
        _p("Résultats", _HEADING),
        _field("Moyenne générale", _average(view.average)),
        _field("Moyenne du domaine professionnel", _average(view.professional_average)),
    ]
    if view.final_average:
        rows.append(_field("Moyenne après épreuves de contrôle", _average(view.final_average)))
    rows.append(_field("Décision du jury", view.outcome, _DECISION))
    return KeepTogether(rows)


def _story(view: ScoreSheetView, width: float) -> list[object]:
    return [
        _p(f"Relevé de notes — BTS session {view.session}", _TITLE),
        _p(academy_label(view.academy), _SUBTITLE),
        _p("Candidat", _HEADING),
        _identity(view, width),
        _p("Examen", _HEADING),
        _field("Spécialité", f"{view.specialty} – {view.specialty_title}"),
        _field("Forme de l'examen", form_label(view.form)),
        _p("Notes obtenues", _HEADING),
        *_grades(view, width),
        Spacer(1, 2 * mm),
        _results(view),
    ]


def render_score_sheet(view: ScoreSheetView) -> bytes:
    """The PDF bytes of the relevé de notes; the same view always gives the same bytes."""
    footer = (
        f"Document édité le {format_issued_on(view.issued_at)} — "
        f"{view.last_name} {view.first_names} — {view.candidate_id}"
    )
    form = form_label(view.form)  # refuses an unknown form before anything is drawn
    buffer = io.BytesIO()

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(_MARGIN, 10 * mm, footer)
        canvas.drawRightString(A4[0] - _MARGIN, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"Relevé de notes — BTS session {view.session}",
        author="Archipel",
        subject=f"{view.specialty} – {view.specialty_title} ({form})",
        creator="Archipel",
        invariant=1,
    )
    # the frame pads its content by 6 pt on each side (reportlab's default): tables span what is left
    width = doc.width - 2 * _FRAME_PADDING
    doc.build(_story(view, width), onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
