"""The house style of the PDFs Archipel prints (summaries, score sheets, convocations): reportlab
paragraph styles, table grids and escaping of user text. Helvetica with WinAnsi encoding covers
French; nothing is embedded, and documents are built with invariant=1 so that the same input gives
the same bytes."""

from __future__ import annotations

from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, TableStyle  # type: ignore[import-untyped]

FONT = "Helvetica"
BOLD = "Helvetica-Bold"

BODY = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=9, leading=11)
CELL_HEAD = ParagraphStyle("cell_head", parent=CELL, fontName=BOLD)
TITLE = ParagraphStyle("title", parent=BODY, fontName=BOLD, fontSize=15, leading=19, alignment=TA_CENTER, spaceAfter=4)
SUBTITLE = ParagraphStyle("subtitle", parent=BODY, alignment=TA_CENTER, spaceAfter=6)
HEADING = ParagraphStyle(
    "heading", parent=BODY, fontName=BOLD, fontSize=11, leading=14, spaceBefore=9, spaceAfter=3, keepWithNext=1
)

GRID = colors.HexColor("#9a9a9a")
HEAD_BG = colors.HexColor("#e6e6e6")


def paragraph(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    """User text, escaped: a name like "DUPONT & <FILS>" prints as typed."""
    return Paragraph(escape(text), style)


def field(label: str, value: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(f"<b>{escape(label)} :</b> {escape(value)}", style)


def grid_style(header: bool) -> TableStyle:
    commands: list[tuple[object, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEAD_BG))
    return TableStyle(commands)
