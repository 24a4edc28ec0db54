"""A convocation aux épreuves (R-26, R-27, R-25) rendered as a PDF from one entry of the convocation feed.

`render_convocation` is a pure function of the feed's message: reportlab runs in invariant mode, so
the same entry always gives the same bytes. Helvetica with WinAnsi encoding covers French text."""

from __future__ import annotations

import io
from datetime import date, datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # type: ignore[import-untyped]

from archipel.dossier.v1 import dossier_pb2 as pb
from shared.french import MONTHS, WEEKDAYS, academy_label, paris

ABSENCE = "L'absence à une épreuve obligatoire est éliminatoire."
IDENTITY = "Présentez-vous à chaque épreuve muni(e) de cette convocation et d'une pièce d'identité officielle avec photographie en cours de validité."  # noqa: E501
HANDICAP = "Aménagements d'épreuves : voir notification"
PARTIAL = "Convocation partielle"
PARTIAL_NOTE = (
    "Cette convocation ne concerne que les épreuves organisées avant la publication des convocations ; "
    "la convocation complète vous sera adressée ultérieurement."
)

_BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=13)
_CELL = ParagraphStyle("cell", parent=_BODY, fontSize=9, leading=11)
_HEAD = ParagraphStyle("head", parent=_CELL, fontName="Helvetica-Bold")
_TITLE = ParagraphStyle("title", parent=_BODY, fontName="Helvetica-Bold", fontSize=15, leading=19, alignment=TA_CENTER)
_CENTER = ParagraphStyle("center", parent=_BODY, alignment=TA_CENTER, spaceAfter=6)
_HEADING = ParagraphStyle("heading", parent=_BODY, fontName="Helvetica-Bold", fontSize=11, spaceBefore=9, spaceAfter=3)


def long_date(moment: datetime) -> str:
    """mercredi 12 mai 2027 (Paris day; the first of a month is "1er")."""
    local = paris(moment)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{WEEKDAYS[local.weekday()]} {day} {MONTHS[local.month - 1]} {local.year}"


def duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest:02d}"


def _p(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def _field(label: str, value: str) -> Paragraph:
    return Paragraph(f"<b>{escape(label)} :</b> {escape(value)}", _BODY)


def _tests(entry: pb.Convocation) -> Table:
    rows = [[_p(h, _HEAD) for h in ("Date", "Heure", "Durée", "Lieu", "Épreuve")]]
    for test in entry.tests:
        starts = datetime.fromisoformat(test.starts_at)
        rows.append(
            [
                _p(long_date(starts), _CELL),
                _p(f"{paris(starts):%H:%M}", _CELL),
                _p(duration(test.duration_minutes), _CELL),
                _p(test.place, _CELL),
                _p(f"{test.unit} – {test.title}" if test.title else test.unit, _CELL),
            ]
        )
    table = Table(rows, colWidths=[38 * mm, 15 * mm, 16 * mm, 52 * mm, 53 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9a9a9a")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def render_convocation(entry: pb.Convocation) -> bytes:
    story: list[object] = [
        _p(f"Convocation aux épreuves du BTS session {entry.session}", _TITLE),
        _p(academy_label(entry.academy), _CENTER),
    ]
    if entry.partial:
        story += [_p(PARTIAL, _TITLE), _p(PARTIAL_NOTE, _CENTER)]
    story += [
        _p("Candidat", _HEADING),
        _field("Nom", entry.last_name),
        _field("Prénom(s)", entry.first_names),
    ]
    if entry.birth_date:
        born = date.fromisoformat(entry.birth_date)
        story.append(_field("Né(e) le", f"{born:%d/%m/%Y}"))
    story += [
        _field("Numéro de candidat", entry.candidate_id),
        _field(
            "Spécialité", f"{entry.specialty} – {entry.specialty_title}" if entry.specialty_title else entry.specialty
        ),
        _p("Épreuves", _HEADING),
        _tests(entry),
    ]
    if entry.unscheduled:
        story.append(
            _p(f"Épreuves dont la date vous sera communiquée ultérieurement : {', '.join(entry.unscheduled)}.")
        )
    if entry.handicap:
        story += [Spacer(1, 4 * mm), Paragraph(f"<b>{escape(HANDICAP)}</b>", _BODY)]
    story += [_p("Rappels", _HEADING), _p(f"• {ABSENCE}"), _p(f"• {IDENTITY}")]
    story.append(_p(f"Version {entry.version}", _CELL))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Convocation BTS {entry.session}",
        author="Archipel",
        invariant=1,
    )
    document.build(story)
    return buffer.getvalue()
