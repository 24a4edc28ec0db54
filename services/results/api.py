"""gRPC servicer of archipel.results.v1."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import grpc

from archipel.results.v1 import results_pb2 as pb
from archipel.results.v1 import results_pb2_grpc as pb_grpc
from services.results import domain
from services.results.commands import Deliberate, RecordAbsence, RecordControle, RecordGrade
from services.results.handlers import Key, ResultsHandlers
from services.results.score_sheet_view import score_sheet
from shared.auth import Principal
from shared.clock import Clock
from shared.errors import InvalidInput
from shared.rpc import candidate_key, principal_of, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Results"].full_name
MAX_CSV_BYTES = 20 * 1024 * 1024


def _text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _grade(field: str, text: str) -> Decimal:
    try:
        return Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(field, "expected a grade such as 12.5") from None


def marks_of(state: domain.ResultsState) -> dict[str, str]:
    marks = {code: "dispensed" for code in state.exempted_units}
    marks.update({b.unit: f"benefit {b.grade:.2f} ({b.session_obtained})" for b in state.benefits})
    marks.update({code: mark.describe() for code, mark in state.marks.items()})
    return marks


def results_view(state: domain.ResultsState, version: int) -> pb.ResultsView:
    marks = marks_of(state)
    retained = {u.unit: u for u in state.retained}
    codes = [*state.units, *state.optional_units, *(c for c in marks if c not in state.units + state.optional_units)]
    return pb.ResultsView(
        candidate_id=str(state.candidate_id or ""),
        academy=state.academy,
        session=state.session,
        specialty=state.specialty,
        form=state.form,
        units=[
            pb.UnitLine(
                unit=code,
                mark=marks.get(code, ""),
                retained=_text(retained[code].retained) if code in retained else "",
                source=retained[code].source if code in retained else "",
            )
            for code in dict.fromkeys(codes)
        ],
        outcome=state.outcome or "",
        average=_text(state.average),
        professional_average=_text(state.professional_average),
        final_average=_text(state.final_average),
        final=state.final,
        stream_version=version,
    )


class ResultsServicer(pb_grpc.ResultsServicer):
    def __init__(self, handlers: ResultsHandlers, secret: str, clock: Clock) -> None:
        self.handlers = handlers
        self.secret = secret
        self.clock = clock

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        return principal_of(context, self.secret, self.clock)

    def _key(self, message: pb.ResultsKey, principal: Principal) -> Key:
        return Key(*candidate_key(message, principal))

    @rpc
    async def RecordGrade(self, request: pb.RecordGradeRequest, context: grpc.aio.ServicerContext) -> pb.ResultsView:
        principal = self._principal(context)
        command = RecordGrade(unit=request.unit, grade=_grade("grade", request.grade), reason=request.reason)
        return results_view(*await self.handlers.execute(principal, self._key(request.key, principal), command))

    @rpc
    async def RecordAbsence(
        self, request: pb.RecordAbsenceRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResultsView:
        principal = self._principal(context)
        command = RecordAbsence(unit=request.unit, justified=request.justified, reason=request.reason)
        return results_view(*await self.handlers.execute(principal, self._key(request.key, principal), command))

    @rpc
    async def ImportGrades(
        self, request: pb.ImportGradesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportGradesResponse:
        principal = self._principal(context)
        if len(request.csv) > MAX_CSV_BYTES:
            raise InvalidInput("csv", f"the file is larger than {MAX_CSV_BYTES} bytes")
        try:
            text = request.csv.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("csv", "the file is not UTF-8 text") from None
        if "\x00" in text:
            raise InvalidInput("csv", "the file contains NUL characters")
        return pb.ImportGradesResponse(events=await self.handlers.import_csv(principal, text))

    @rpc
    async def Deliberate(self, request: pb.ResultsKey, context: grpc.aio.ServicerContext) -> pb.ResultsView:
        principal = self._principal(context)
        return results_view(*await self.handlers.execute(principal, self._key(request, principal), Deliberate()))

    @rpc
    async def DeliberateSession(
        self, request: pb.DeliberateSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeliberateSessionResponse:
        principal = self._principal(context)
        report = await self.handlers.deliberate_session(principal, request.session, request.specialty or None)
        return pb.DeliberateSessionResponse(
            deliberated=report.deliberated, outcomes=report.outcomes, not_ready=report.not_ready
        )

    @rpc
    async def RecordControle(
        self, request: pb.RecordControleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResultsView:
        principal = self._principal(context)
        grades = {unit: _grade(f"grades.{unit}", text) for unit, text in request.grades.items()}
        command = RecordControle(grades=grades)
        return results_view(*await self.handlers.execute(principal, self._key(request.key, principal), command))

    @rpc
    async def GetResults(self, request: pb.ResultsKey, context: grpc.aio.ServicerContext) -> pb.ResultsView:
        principal = self._principal(context)
        return results_view(*await self.handlers.get(principal, self._key(request, principal)))

    @rpc
    async def ListOutcomes(
        self, request: pb.ListOutcomesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOutcomesResponse:
        principal = self._principal(context)
        rows = await self.handlers.outcomes(principal, request.session, request.specialty or None)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["outcome"] or ""] = counts.get(row["outcome"] or "", 0) + 1
        return pb.ListOutcomesResponse(
            outcomes=[
                pb.OutcomeLine(
                    candidate_id=str(r["candidate_id"]),
                    specialty=r["specialty"],
                    form=r["form"],
                    outcome=r["outcome"] or "",
                    average=_text(r["average"]),
                    final_average=_text(r["final_average"]),
                    final=r["final"],
                )
                for r in rows
            ],
            counts=counts,
        )

    @rpc
    async def GetScoreSheet(self, request: pb.ResultsKey, context: grpc.aio.ServicerContext) -> pb.ScoreSheet:
        principal = self._principal(context)
        key = self._key(request, principal)
        state, _ = await self.handlers.get(principal, key)
        identity = await self.handlers.store.pool.fetchrow(
            "SELECT last_name, first_names FROM candidates WHERE account_id = $1", key.candidate_id
        )
        view = score_sheet(state, self.handlers.regulation(state), dict(identity) if identity else {}, self.clock())
        return pb.ScoreSheet(pdf=view)
