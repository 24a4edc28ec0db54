"""gRPC servicer of archipel.registration.v1: proto <-> commands, errors to status codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc

from archipel.registration.v1 import registration_pb2 as pb
from archipel.registration.v1 import registration_pb2_grpc as pb_grpc
from services.registration import commands as c
from services.registration.domain import RegistrationState, sat_units
from services.registration.handlers import Key, RegistrationHandlers
from services.registration.schedule import ScheduleHandlers
from services.registration.schedule_api import ScheduleRpcs
from shared.auth import Principal
from shared.clock import Clock, to_paris
from shared.errors import InvalidInput
from shared.reference import Calendar
from shared.reference.labels import window_label
from shared.rpc import candidate_key, principal_of, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Registration"].full_name


def _iso(moment: datetime | None) -> str:
    return to_paris(moment).isoformat() if moment else ""


def _decimal(field: str, text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInput(field, "expected a decimal number such as 12.5") from None


class RegistrationServicer(ScheduleRpcs, pb_grpc.RegistrationServicer):
    def __init__(self, handlers: RegistrationHandlers, secret: str, clock: Clock) -> None:
        self.handlers = handlers
        self.schedules = ScheduleHandlers(handlers.store, handlers.clock, handlers.reference)
        self.secret = secret
        self.clock = clock

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        return principal_of(context, self.secret, self.clock)

    def _key(self, message: pb.RegistrationKey, principal: Principal) -> Key:
        return Key(*candidate_key(message, principal))

    async def _run(
        self, context: grpc.aio.ServicerContext, request: Any, build: Callable[[Principal, Key], c.Command]
    ) -> pb.RegistrationView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        state, version = await self.handlers.execute(principal, key, build(principal, key))
        return await self._view(state, version, key)

    async def _view(self, state: RegistrationState, version: int, key: Key) -> pb.RegistrationView:
        regulation = self.handlers.regulation(key.specialty, key.session)
        calendar = await self.handlers.calendar(state.academy, key.session)
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
            documents_deadline=_iso(calendar.documents_deadline if calendar else None),
            not_registered=state.not_registered,
            stream_version=version,
        )

    @rpc
    async def StartRegistration(
        self, request: pb.StartRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        def build(principal: Principal, key: Key) -> c.Command:
            return c.StartRegistration(
                candidate_id=key.candidate_id,
                academy=principal.academy,
                session=key.session,
                specialty=key.specialty,
                category=request.category,
            )

        return await self._run(context, request, build)

    @rpc
    async def ChangeCategory(
        self, request: pb.ChangeCategoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(context, request, lambda p, k: c.ChangeCategory(category=request.category))

    @rpc
    async def ChooseExamForm(
        self, request: pb.ChooseExamFormRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(
            context,
            request,
            lambda p, k: c.ChooseExamForm(
                form=request.form,
                units=tuple(request.units),
                confirm_renounce=request.confirm_renounce,
            ),
        )

    @rpc
    async def ChooseLanguage(
        self, request: pb.ChooseLanguageRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(
            context,
            request,
            lambda p, k: c.ChooseLanguage(language=request.language, teaching_followed=request.teaching_followed),
        )

    @rpc
    async def ChooseOptionalUnits(
        self, request: pb.ChooseOptionalUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(context, request, lambda p, k: c.ChooseOptionalUnits(units=tuple(request.units)))

    @rpc
    async def DeclareBenefit(
        self, request: pb.DeclareBenefitRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(
            context,
            request,
            lambda p, k: c.DeclareBenefit(
                unit=request.unit,
                grade=_decimal("grade", request.grade),
                session_obtained=request.session_obtained,
            ),
        )

    @rpc
    async def RenounceBenefit(
        self, request: pb.RenounceBenefitRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(
            context, request, lambda p, k: c.RenounceBenefit(unit=request.unit, confirm=request.confirm)
        )

    @rpc
    async def DeclareExemption(
        self, request: pb.DeclareExemptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(
            context,
            request,
            lambda p, k: c.DeclareExemption(unit=request.unit, ground=request.ground, detail=request.detail),
        )

    @rpc
    async def WithdrawExemption(
        self, request: pb.WithdrawExemptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(context, request, lambda p, k: c.WithdrawExemption(unit=request.unit))

    @rpc
    async def DeclareSituation(
        self, request: pb.DeclareSituationRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(
            context,
            request,
            lambda p, k: c.DeclareSituation(
                training_shortened=request.training_shortened, r408_exemption=request.r408_exemption
            ),
        )

    @rpc
    async def DeclareHandicap(
        self, request: pb.DeclareHandicapRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(
            context,
            request,
            lambda p, k: c.DeclareHandicap(
                handicap=request.handicap,
                amex_reference=request.amex_reference or None,
                existing_decision=request.existing_decision,
            ),
        )

    @rpc
    async def ConfirmRegistration(
        self, request: pb.ConfirmRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(context, request, lambda p, k: c.ConfirmRegistration())

    @rpc
    async def SetNotRegistered(
        self, request: pb.SetNotRegisteredRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        return await self._run(context, request, lambda p, k: c.SetNotRegistered(reason=request.reason))

    @rpc
    async def GetRegistration(
        self, request: pb.GetRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        state, version = await self.handlers.get(principal, key)
        return await self._view(state, version, key)

    @rpc
    async def ListRegistrations(
        self, request: pb.ListRegistrationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRegistrationsResponse:
        principal = self._principal(context)
        rows = await self.handlers.list_registrations(principal, request.session or None, request.specialty or None)
        return pb.ListRegistrationsResponse(
            registrations=[
                pb.RegistrationLine(
                    registration_id=r["registration_id"],
                    candidate_id=str(r["candidate_id"]),
                    academy=r["academy"],
                    session=r["session"],
                    specialty=r["specialty"],
                    category=r["category"],
                    form=r["form"] or "",
                    confirmed=r["confirmed"],
                    summary_version=r["summary_version"],
                    not_registered=r["not_registered"],
                )
                for r in rows
            ]
        )

    @rpc
    async def GetSummary(self, request: pb.GetSummaryRequest, context: grpc.aio.ServicerContext) -> pb.SummaryDocument:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        if request.version < 0:
            raise InvalidInput("version", "0 (the latest) or a version number")
        summary = await self.handlers.summary(principal, key, request.version)
        return pb.SummaryDocument(
            version=summary.version, issued_at=_iso(summary.issued_at), sha256=summary.sha256, pdf=summary.pdf
        )

    @rpc
    async def SetCalendar(self, request: pb.SetCalendarRequest, context: grpc.aio.ServicerContext) -> pb.CalendarView:
        principal = self._principal(context)
        local = {
            "opens": request.registration_opens,
            "closes": request.registration_closes,
            "documents_deadline": request.documents_deadline or None,
            "amex_deadline": request.amex_deadline or None,
            "convocations_from": request.convocations_from or None,
        }
        calendar = await self.handlers.set_calendar(principal, request.academy, request.session, local, request.reason)
        return _calendar_view(calendar)

    @rpc
    async def GetCalendar(self, request: pb.GetCalendarRequest, context: grpc.aio.ServicerContext) -> pb.CalendarView:
        self._principal(context)
        calendar = await self.handlers.calendar(request.academy, request.session)
        if calendar is None:
            raise InvalidInput("academy", f"no calendar for {request.academy} session {request.session}")
        return _calendar_view(calendar)


def _calendar_view(calendar: Calendar) -> pb.CalendarView:
    return pb.CalendarView(
        academy=calendar.academy,
        session=calendar.session,
        registration_opens=_iso(calendar.registration_opens),
        registration_closes=_iso(calendar.registration_closes),
        documents_deadline=_iso(calendar.documents_deadline),
        amex_deadline=_iso(calendar.amex_deadline),
        convocations_from=calendar.convocations_from.isoformat() if calendar.convocations_from else "",
        window=window_label(calendar),
        source=calendar.source,
    )
