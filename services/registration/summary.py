"""The récapitulatif d'inscription (R-09, guide §12) rendered as a PDF.

`render_summary` is a pure function of a `SummaryView`: no clock, no locale, no randomness. The
canvas runs in reportlab's invariant mode, so the same view always gives the same bytes (no creation
date, no random document id). The text is French; the standard Helvetica font with WinAnsi encoding
covers every French character (é è à ç ô œ « » – — …). A character outside Windows-1252 (e.g. "ă"
in a foreign name) would print as a black box: the views are expected to carry French/Latin-1 text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from shared.french import academy_label, long_date_time, short_date_time
from shared.pdf import BODY as _BODY
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


@dataclass(frozen=True)
class UnitLine:
    code: str
    title: str
    coefficient: str
    status: str  # in French: "présentée", "bénéfice conservé (14/20, session 2024)", "dispensée (VAE)"...


@dataclass(frozen=True)
class SummaryView:
    version: int
    issued_at: datetime  # aware; printed in Europe/Paris
    last_name: str
    first_names: str
    birth_date: date | None
    email: str
    candidate_id: str
    academy: str  # slug, e.g. "aix-marseille"
    session: int
    specialty: str
    specialty_title: str
    category: str  # French label, e.g. "Candidat individuel"
    form: str  # "globale" | "progressive"
    units: tuple[UnitLine, ...]
    language: str | None
    optional_units: tuple[str, ...]
    benefits_kept: tuple[str, ...]
    benefits_renounced: tuple[str, ...]
    exemptions: tuple[str, ...]
    handicap: bool
    amex_reference: str | None
    documents: tuple[str, ...]  # labels of the documents to upload
    documents_deadline: datetime | None  # aware; printed in Europe/Paris


# --- French formatting (no locale dependency) ---------------------------------------------------


def format_issued_at(moment: datetime) -> str:
    """27/11/2025 à 14:05, in Paris time."""
    return short_date_time(moment)


def format_deadline(moment: datetime) -> str:
    """vendredi 28 novembre 2025 à 17:00 (heure de Paris)."""
    return f"{long_date_time(moment)} (heure de Paris)"


# --- layout -------------------------------------------------------------------------------------

_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=9, leading=11)
_BULLET = ParagraphStyle("bullet", parent=_BODY, leftIndent=14, bulletIndent=3, bulletFontName=_FONT)
_NOTE = ParagraphStyle("note", parent=_SMALL, fontName="Helvetica-Oblique", spaceBefore=2)


def _bullets(items: tuple[str, ...], empty: str) -> list[object]:
    """One Paragraph per item (not a ListFlowable), so a heading keeps with its first item and a long
    list flows onto the next page item by item."""
    if not items:
        return [_p(empty)]
    return [Paragraph(escape(item), _BULLET, bulletText="•") for item in items]


def _identity(view: SummaryView, width: float) -> Table:
    birth = f"{view.birth_date:%d/%m/%Y}" if view.birth_date is not None else "non renseignée"
    rows = [
        ("Nom", view.last_name),
        ("Prénoms", view.first_names),
        ("Date de naissance", birth),
        ("Courriel", view.email),
        ("Identifiant candidat", view.candidate_id),
    ]
    data = [[_p(label, _CELL_HEAD), _p(value, _CELL)] for label, value in rows]
    table = Table(data, colWidths=[45 * mm, width - 45 * mm])
    table.setStyle(_grid_style(header=False))
    return table


def _units(view: SummaryView, width: float) -> list[object]:
    if not view.units:
        return [_p("Aucune unité.")]
    head = [_p(text, _CELL_HEAD) for text in ("Code", "Intitulé", "Coefficient", "Situation")]
    data = [head] + [
        [_p(u.code, _CELL), _p(u.title, _CELL), _p(u.coefficient, _CELL), _p(u.status, _CELL)] for u in view.units
    ]
    code_w, coef_w, status_w = 18 * mm, 22 * mm, 52 * mm
    table = Table(data, colWidths=[code_w, width - code_w - coef_w - status_w, coef_w, status_w], repeatRows=1)
    table.setStyle(_grid_style(header=True))
    return [table]


def _signature(width: float) -> KeepTogether:
    cells = Table(
        [[_p("Date : ........................"), _p("Signature du candidat :")]],
        colWidths=[width / 2, width / 2],
        rowHeights=[28 * mm],
    )
    cells.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return KeepTogether(
        [
            _p("Signature", _HEADING),
            _p("Je certifie l'exactitude des renseignements ci-dessus."),
            Spacer(1, 4 * mm),
            cells,
        ]
    )


def _story(view: SummaryView, width: float) -> list[object]:
    story: list[object] = [
        _p(f"Récapitulatif d'inscription — BTS session {view.session}", _TITLE),
        _p(f"Version {view.version} — éditée le {format_issued_at(view.issued_at)}", _SUBTITLE),
        _p(
            "À vérifier, dater et signer, puis à téléverser avec les pièces justificatives dans votre espace candidat.",
            _NOTE,
        ),
        _p("Identité du candidat", _HEADING),
        _identity(view, width),
        _p("Inscription", _HEADING),
        _p(academy_label(view.academy)),
        _field("Session", str(view.session)),
        _field("Spécialité", f"{view.specialty} – {view.specialty_title}"),
        _field("Catégorie", view.category),
        _field("Forme de l'examen", form_label(view.form)),
        _p("Le choix de la forme est définitif dès la première inscription.", _NOTE),
        _p("Unités", _HEADING),
        *_units(view, width),
        _p("Langue vivante obligatoire", _HEADING),
        _p(view.language or "Aucune"),
        _p("Épreuves facultatives", _HEADING),
        *_bullets(view.optional_units, "Aucune"),
        _p("Bénéfices de notes conservés", _HEADING),
        *_bullets(view.benefits_kept, "Aucun"),
        _p("Bénéfices de notes renoncés", _HEADING),
        *_bullets(view.benefits_renounced, "Aucun"),
        _p("Le renoncement à un bénéfice est définitif.", _NOTE),
        _p("Dispenses", _HEADING),
        *_bullets(view.exemptions, "Aucune"),
        _p("Aménagements", _HEADING),
    ]
    if view.handicap:
        reference = view.amex_reference or "non renseignée"
        story.append(_p(f"Handicap : OUI — demande AMEX n° {reference}"))
    else:
        story.append(_p("Handicap : NON"))
    story.append(_p("Pièces justificatives à téléverser", _HEADING))
    story.extend(_bullets(view.documents, "Aucune pièce demandée."))
    if view.documents_deadline is not None:
        story.append(_p(f"Date limite de dépôt : au plus tard le {format_deadline(view.documents_deadline)}."))
    story.append(_signature(width))
    return story


def render_summary(view: SummaryView) -> bytes:
    """The PDF bytes of the summary; the same view always gives the same bytes."""
    buffer = io.BytesIO()
    footer = (
        f"Récapitulatif d'inscription — {view.last_name} {view.first_names} — "
        f"{view.candidate_id} — version {view.version}"
    )

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 8)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(18 * mm, 10 * mm, footer)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"Récapitulatif d'inscription — BTS session {view.session} — version {view.version}",
        author="Archipel",
        subject=f"{view.specialty} – {view.specialty_title}",
        creator="Archipel",
        invariant=1,
    )
    # the frame pads its content by 6 pt on each side (reportlab's default): tables span what is left
    width = doc.width - 2 * _FRAME_PADDING
    doc.build(_story(view, width), onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
