"""What the registration summary shows (R-09), built from the registration's state."""

from __future__ import annotations

from collections.abc import Mapping

from services.registration.domain import RegistrationState, required_documents, sat_units
from services.registration.summary import SummaryView, UnitLine
from shared.contracts.registration import Category, SummaryIssued
from shared.reference import Calendar, ExamForm, Regulation

CATEGORY_LABELS = {
    Category.INDIVIDUAL: "Candidat individuel (préparation en organisme de formation)",
    Category.DISTANCE: "Enseignement à distance",
    Category.PROFESSIONAL_EXPERIENCE: "Expérience professionnelle",
    Category.REPEATER: "Redoublant",
}


def _status(state: RegistrationState, code: str, sat: tuple[str, ...]) -> str:
    exemption = state.exemptions.get(code)
    if exemption is not None:
        return f"dispensée ({'VAE' if exemption.ground.value == 'vae' else 'diplôme'})"
    benefit = state.benefits.get(code)
    if benefit is not None and not benefit.renounced:
        return f"bénéfice conservé ({benefit.grade}/20, session {benefit.session_obtained})"
    if code in sat:
        return "présentée" if benefit is None else "présentée (bénéfice renoncé)"
    return "non présentée cette session"


def summary_view(
    state: RegistrationState,
    regulation: Regulation,
    identity: Mapping[str, object],
    issued: SummaryIssued,
    calendar: Calendar | None,
) -> SummaryView:
    sat = sat_units(state, regulation)
    benefits = state.benefits.values()
    birth_date = identity.get("birth_date")
    return SummaryView(
        version=issued.version,
        issued_at=issued.issued_at,
        last_name=str(identity.get("last_name") or ""),
        first_names=str(identity.get("first_names") or ""),
        birth_date=birth_date if birth_date is not None else None,  # type: ignore[arg-type]
        email=str(identity.get("email") or ""),
        candidate_id=str(state.candidate_id),
        academy=state.academy,
        session=state.session,
        specialty=state.specialty,
        specialty_title=regulation.title,
        category=CATEGORY_LABELS[state.category] if state.category else "",
        form=(state.form or ExamForm.GLOBALE).value,
        units=tuple(
            UnitLine(code=u.code, title=u.title, coefficient=f"{u.coefficient}", status=_status(state, u.code, sat))
            for u in regulation.units
        ),
        language=state.language,
        optional_units=tuple(
            f"{code} – {unit.title}" for code in state.optional_units if (unit := regulation.optional_unit(code))
        ),
        benefits_kept=tuple(
            f"{b.unit} : {b.grade}/20 (bénéfice en {b.session_obtained})" for b in benefits if not b.renounced
        ),
        benefits_renounced=tuple(f"{b.unit} (session {b.session_obtained})" for b in benefits if b.renounced),
        exemptions=tuple(f"{e.unit} – {e.detail} ({e.ground.value.upper()})" for e in state.exemptions.values()),
        handicap=bool(state.handicap),
        amex_reference=state.amex_reference,
        documents=tuple(d.label for d in required_documents(state, regulation.requires_r408)),
        documents_deadline=calendar.documents_deadline if calendar else None,
    )
