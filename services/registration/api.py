"""gRPC servicer of archipel.registration.v1: proto -> command -> the pipeline; reads through the
queries port and the registration's stream; errors to status codes by `rpc`."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc

from archipel.registration.v1 import registration_pb2 as pb
from archipel.registration.v1 import registration_pb2_grpc as pb_grpc
from services.registration import commands as c
from services.registration.domain import REGISTRATION, RegistrationState
from services.registration.facts import regulation_of
from services.registration.schedule_api import ScheduleRpcs
from services.registration.service import RegistrationPorts
from services.registration.streams import registration_stream
from services.registration.views import calendar_view, iso, registration_view
from shared.auth import Principal, TokenVerifier
from shared.clock import Clock
from shared.errors import InvalidInput, NotFound
from shared.pipeline import Pipeline
from shared.rpc import candidate_key, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Registration"].full_name
MAX_NUMBER_TEXT = 20  # characters of a decimal number written by a caller


def _decimal(field: str, text: str) -> Decimal:
    try:
        value = Decimal(text) if len(text) <= MAX_NUMBER_TEXT else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInput(field, "expected a decimal number such as 12.5")
    return value


class RegistrationServicer(ScheduleRpcs, pb_grpc.RegistrationServicer):
    def __init__(
        self, pipeline: Pipeline[RegistrationPorts], ports: RegistrationPorts, verifier: TokenVerifier, clock: Clock
    ) -> None:
        super().__init__(verifier, clock)
        self.pipeline = pipeline
        self.ports = ports

    def _key(self, message: pb.RegistrationKey, principal: Principal) -> c.RegistrationKey:
        candidate_id, session, specialty = candidate_key(message, principal)
        return c.RegistrationKey(candidate_id=candidate_id, session=session, specialty=specialty)

    async def _run(
        self,
        context: grpc.aio.ServicerContext,
        request: Any,
        build: Callable[[Principal, c.RegistrationKey], c.Command],
    ) -> pb.RegistrationView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        outcome = await self.pipeline.execute(principal, c.OnRegistration(key=key, command=build(principal, key)))
        return await self._view(outcome.state, outcome.version, key)

    async def _view(self, state: RegistrationState, version: int, key: c.RegistrationKey) -> pb.RegistrationView:
        regulation = regulation_of(self.ports.reference, key.specialty, key.session)
        calendar = await self.ports.queries.calendar(state.academy, key.session)
        return registration_view(state, version, regulation, calendar)

    async def _load(self, principal: Principal, key: c.RegistrationKey) -> tuple[RegistrationState, int]:
        stream = registration_stream(key.candidate_id, key.session, key.specialty)
        state, version = await self.pipeline.load(REGISTRATION, stream)
        if not state.exists or not principal.may_read(str(key.candidate_id), state.academy):
            raise NotFound("no such registration (or not yours to see)")
        return state, version

    @rpc
    async def StartRegistration(
        self, request: pb.StartRegistrationRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegistrationView:
        def build(principal: Principal, key: c.RegistrationKey) -> c.Command:
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
        state, version = await self._load(principal, key)
        return await self._view(state, version, key)

    @rpc
    async def ListRegistrations(
        self, request: pb.ListRegistrationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRegistrationsResponse:
        principal = self._principal(context)
        rows = await self.ports.queries.registrations(principal, request.session or None, request.specialty or None)
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
        state, _ = await self._load(principal, key)
        wanted = request.version or state.summary_version
        stream = registration_stream(key.candidate_id, key.session, key.specialty)
        row = await self.ports.queries.summary(stream, wanted)
        if row is None:
            raise NotFound(f"no summary version {wanted} (versions 1 to {state.summary_version} exist)")
        return pb.SummaryDocument(
            version=row["version"], issued_at=iso(row["issued_at"]), sha256=row["sha256"], pdf=row["pdf"]
        )

    @rpc
    async def SetCalendar(self, request: pb.SetCalendarRequest, context: grpc.aio.ServicerContext) -> pb.CalendarView:
        principal = self._principal(context)
        command = c.SetCalendar(
            academy=request.academy,
            session=request.session,
            opens=request.registration_opens,
            closes=request.registration_closes,
            documents_deadline=request.documents_deadline or None,
            amex_deadline=request.amex_deadline or None,
            convocations_from=request.convocations_from or None,
            reason=request.reason,
            source=f"staff:{principal.subject}",
        )
        await self.pipeline.execute(principal, command)
        return await self._calendar(request.academy, request.session)

    @rpc
    async def GetCalendar(self, request: pb.GetCalendarRequest, context: grpc.aio.ServicerContext) -> pb.CalendarView:
        self._principal(context)
        return await self._calendar(request.academy, request.session)

    async def _calendar(self, academy: str, session: int) -> pb.CalendarView:
        calendar = await self.ports.queries.calendar(academy, session)
        if calendar is None:
            raise NotFound(f"no calendar for {academy:.40} session {session}")
        return calendar_view(calendar)
