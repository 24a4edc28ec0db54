"""gRPC servicer of archipel.results.v1: proto -> command(s) -> the pipeline; reads through the
results stream (GetResults) and the service's queries port."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import grpc

from archipel.results.v1 import results_pb2 as pb
from archipel.results.v1 import results_pb2_grpc as pb_grpc
from services.results import jury
from services.results.commands import Deliberate, RecordAbsence, RecordControle, RecordGrade, StaffCommand
from services.results.domain import RESULTS
from services.results.score_sheet_view import score_sheet
from services.results.service import ResultsPorts
from services.results.state import ResultsState
from services.results.streams import ResultsKey, results_stream
from shared.auth import Principal, Role, TokenVerifier
from shared.clock import Clock
from shared.errors import InvalidInput, NotFound, PermissionDenied
from shared.pipeline import Pipeline
from shared.rpc import Authenticated, candidate_key, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Results"].full_name
MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_NUMBER_TEXT = 20  # characters of a grade written by a caller


def _text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _grade(field: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", ".")) if len(text) <= MAX_NUMBER_TEXT else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInput(field, "expected a grade such as 12.5")
    return value


def marks_of(state: ResultsState) -> dict[str, str]:
    marks = {code: "dispensed" for code in state.exempted_units}
    marks.update({b.unit: f"benefit {b.grade:.2f} ({b.session_obtained})" for b in state.benefits})
    marks.update({code: mark.describe() for code, mark in state.marks.items()})
    return marks


def results_view(state: ResultsState, version: int) -> pb.ResultsView:
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


class ResultsServicer(Authenticated, pb_grpc.ResultsServicer):
    def __init__(
        self, pipeline: Pipeline[ResultsPorts], ports: ResultsPorts, verifier: TokenVerifier, clock: Clock
    ) -> None:
        super().__init__(verifier, clock)
        self.pipeline = pipeline
        self.ports = ports

    def _key(self, message: pb.ResultsKey, principal: Principal) -> ResultsKey:
        return ResultsKey(*candidate_key(message, principal))

    async def _execute(self, principal: Principal, command: StaffCommand) -> pb.ResultsView:
        outcome = await self.pipeline.execute(principal, command)
        return results_view(outcome.state, outcome.version)

    async def _get(self, principal: Principal, key: ResultsKey) -> tuple[ResultsState, int]:
        stream = results_stream(key.candidate_id, key.session, key.specialty)
        state, version = await self.pipeline.load(RESULTS, stream)
        if not state.registered or not principal.may_read(str(key.candidate_id), state.academy):
            raise NotFound("no results for this candidate, session and specialty (or not yours to see)")
        return state, version

    @rpc
    async def RecordGrade(self, request: pb.RecordGradeRequest, context: grpc.aio.ServicerContext) -> pb.ResultsView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        grade = _grade("grade", request.grade)
        return await self._execute(
            principal, RecordGrade(unit=request.unit, grade=grade, reason=request.reason, **vars(key))
        )

    @rpc
    async def RecordAbsence(
        self, request: pb.RecordAbsenceRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResultsView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        command = RecordAbsence(unit=request.unit, justified=request.justified, reason=request.reason, **vars(key))
        return await self._execute(principal, command)

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
        return pb.ImportGradesResponse(events=await jury.import_jury_file(self.pipeline, principal, text))

    @rpc
    async def Deliberate(self, request: pb.ResultsKey, context: grpc.aio.ServicerContext) -> pb.ResultsView:
        principal = self._principal(context)
        return await self._execute(principal, Deliberate(**vars(self._key(request, principal))))

    @rpc
    async def DeliberateSession(
        self, request: pb.DeliberateSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeliberateSessionResponse:
        principal = self._principal(context)
        report = await jury.deliberate_session(self.pipeline, principal, request.session, request.specialty or None)
        return pb.DeliberateSessionResponse(
            deliberated=report.deliberated, outcomes=report.outcomes, not_ready=report.not_ready
        )

    @rpc
    async def RecordControle(
        self, request: pb.RecordControleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResultsView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        grades = {unit: _grade(f"grades.{unit:.40}", text) for unit, text in request.grades.items()}
        return await self._execute(principal, RecordControle(grades=grades, **vars(key)))

    @rpc
    async def GetResults(self, request: pb.ResultsKey, context: grpc.aio.ServicerContext) -> pb.ResultsView:
        principal = self._principal(context)
        return results_view(*await self._get(principal, self._key(request, principal)))

    @rpc
    async def ListOutcomes(
        self, request: pb.ListOutcomesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOutcomesResponse:
        principal = self._principal(context)
        if principal.role is Role.CANDIDATE:
            raise PermissionDenied("staff and auditors list outcomes")
        rows = await self.ports.queries.outcomes(principal.read_scope, request.session, request.specialty or None)
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
        state, _ = await self._get(principal, key)
        regulation = self.ports.facts.regulation(state.specialty, state.session)
        names = await self.ports.queries.names(key.candidate_id)
        return pb.ScoreSheet(pdf=score_sheet(state, regulation, names, self.clock()))
