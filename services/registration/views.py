"""The registration API's answers: a registration's state, a calendar, a schedule as protobuf
messages (times shown in Paris)."""

from __future__ import annotations

from datetime import datetime

from archipel.registration.v1 import registration_pb2 as pb
from services.registration.domain import RegistrationState, sat_units
from shared.clock import to_paris
from shared.contracts.registration import SchedulePublished
from shared.reference import Calendar, Regulation
from shared.reference.labels import window_label


def iso(moment: datetime | None) -> str:
    return to_paris(moment).isoformat() if moment else ""


def registration_view(
    state: RegistrationState, version: int, regulation: Regulation, calendar: Calendar | None
) -> pb.RegistrationView:
    return pb.RegistrationView(
        registration_id=state.registration_id or "",
        candidate_id=str(state.candidate_id or ""),
        academy=state.academy,
        session=state.session,
        specialty=state.specialty,
        category=state.category.value if state.category else "",
        form=state.form.value if state.form else "",
        units_chosen=list(state.chosen_units),
        units_sat=list(sat_units(state, regulation)) if state.form else [],
        language=state.language or "",
        rare_language=state.rare_language,
        optional_units=list(state.optional_units),
        benefits=[
            pb.Benefit(
                unit=b.unit,
                grade=str(b.grade),
                session_obtained=b.session_obtained,
                origin=b.origin.value,
                renounced=b.renounced,
            )
            for b in state.benefits.values()
        ],
        exemptions=[
            pb.Exemption(unit=e.unit, ground=e.ground.value, detail=e.detail) for e in state.exemptions.values()
        ],
        training_shortened=state.training_shortened,
        r408_exemption=state.r408_exemption,
        handicap="" if state.handicap is None else ("oui" if state.handicap else "non"),
        amex_reference=state.amex_reference or "",
        confirmed=state.confirmed,
        summary_version=state.summary_version,
        required_documents=[
            pb.RequiredDocument(kind=d.kind, label=d.label, rule=d.rule) for d in state.required_documents or ()
        ],
        documents_deadline=iso(calendar.documents_deadline if calendar else None),
        not_registered=state.not_registered,
        stream_version=version,
    )


def calendar_view(calendar: Calendar) -> pb.CalendarView:
    return pb.CalendarView(
        academy=calendar.academy,
        session=calendar.session,
        registration_opens=iso(calendar.registration_opens),
        registration_closes=iso(calendar.registration_closes),
        documents_deadline=iso(calendar.documents_deadline),
        amex_deadline=iso(calendar.amex_deadline),
        convocations_from=calendar.convocations_from.isoformat() if calendar.convocations_from else "",
        window=window_label(calendar),
        source=calendar.source,
    )


def schedule_view(event: SchedulePublished, version: int) -> pb.ScheduleView:
    return pb.ScheduleView(
        academy=event.academy,
        session=event.session,
        specialty=event.specialty,
        specialty_title=event.specialty_title,
        entries=[
            pb.ScheduleEntry(
                unit=t.unit,
                title=t.title,
                starts_at=to_paris(t.starts_at).isoformat(),
                duration_minutes=t.duration_minutes,
                place=t.place,
                language=t.language or "",
            )
            for t in event.entries
        ],
        reason=event.reason,
        version=version,
    )
