"""The relevé de notes of a candidate, from the results state (the PDF layout is score_sheet.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from services.results.score_sheet import ScoreLine, ScoreSheetView, render_score_sheet
from services.results.state import ResultsState
from shared.reference import Regulation

OUTCOME_LABELS = {
    "ADMIS": "Admis",
    "AJOURNE": "Ajourné",
    "CONTROLE": "Autorisé à subir les épreuves de contrôle",
    "ELIMINE": "Éliminé",
    "INCOMPLET": "Résultat incomplet (forme progressive)",
}


def _note(state: ResultsState, code: str) -> tuple[str, str]:
    """The mark shown and its note, in French."""
    benefit = next((b for b in state.benefits if b.unit == code), None)
    if benefit is not None:
        return f"{benefit.grade:.2f}", f"bénéfice en {benefit.session_obtained}"
    if code in state.exempted_units:
        return "", "dispensé"
    mark = state.marks.get(code)
    if mark is None:
        return "", "non noté"
    if mark.grade is None:
        if mark.justified_absence:
            return "0.00", "absent (force majeure)"
        return "", "absent"
    controle = state.controle.get(code)
    return f"{mark.grade:.2f}", f"contrôle : {controle:.2f}" if controle is not None else ""


def score_sheet(state: ResultsState, regulation: Regulation, identity: Mapping[str, object], now: datetime) -> bytes:
    lines = [
        ScoreLine(code=u.code, title=u.title, coefficient=f"{u.coefficient}", mark=m, note=n)
        for u in regulation.units
        for m, n in [_note(state, u.code)]
    ] + [
        ScoreLine(code=u.code, title=u.title, coefficient=f"{u.coefficient}", mark=m, note=n or "épreuve facultative")
        for u in regulation.optional_units
        if u.code in state.optional_units
        for m, n in [_note(state, u.code)]
    ]

    def text(value: object) -> str:
        return f"{value:.2f}" if value is not None else ""

    return render_score_sheet(
        ScoreSheetView(
            last_name=str(identity.get("last_name") or ""),
            first_names=str(identity.get("first_names") or ""),
            candidate_id=str(state.candidate_id),
            academy=state.academy,
            session=state.session,
            specialty=state.specialty,
            specialty_title=regulation.title or state.specialty,
            form=state.form,
            lines=tuple(lines),
            outcome=OUTCOME_LABELS.get(state.outcome or "", "Non délibéré"),
            average=text(state.average),
            professional_average=text(state.professional_average),
            final_average=text(state.final_average),
            issued_at=now,
        )
    )
