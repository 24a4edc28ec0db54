"""gRPC servicer of archipel.dossier.v1: reads the dossiers' summaries (through
services.dossier.queries), never writes. The proto messages keep their names (DossierView,
SpecialtyView): the wire contract is not renamed."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import grpc

from archipel.dossier.v1 import dossier_pb2 as pb
from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc
from services.dossier.convocations.api import ConvocationRpcs
from services.dossier.fold import STATES, DossierSummary, SpecialtyStatus
from services.dossier.queries import DossierQueries
from shared.auth import Role, TokenVerifier
from shared.clock import Clock
from shared.errors import InvalidInput, NotFound, PermissionDenied
from shared.rpc import rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Dossier"].full_name


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _specialty(status: SpecialtyStatus) -> pb.SpecialtyView:
    return pb.SpecialtyView(
        **status.model_dump(
            exclude={"language", "deadline", "marks", "carried"},
        ),
        language=status.language or "",
        deadline=_iso(status.deadline),
        marks=dict(status.marks),
        carried=[pb.Carried(**c.model_dump()) for c in status.carried],
    )


def dossier_message(summary: DossierSummary, now: datetime) -> pb.DossierView:
    return pb.DossierView(
        candidate_id=str(summary.candidate_id),
        session=summary.session,
        academy=summary.academy,
        state=summary.state,
        account_status=summary.account_status,
        specialties=[_specialty(s) for s in summary.specialties],
        notifications=[
            pb.Notification(at=_iso(n.at), specialty=n.specialty, kind=n.kind, detail=n.detail)
            for n in summary.notifications
        ],
        documents_deadline=_iso(summary.documents_deadline),
        incomplete_after_deadline=summary.incomplete_after(now),
    )


def _line(summary: DossierSummary, now: datetime) -> pb.DossierLine:
    return pb.DossierLine(
        candidate_id=str(summary.candidate_id),
        session=summary.session,
        state=summary.state,
        account_status=summary.account_status,
        specialties=[s.specialty for s in summary.specialties],
        missing=sorted({kind for s in summary.specialties for kind in s.missing}),
        documents_deadline=_iso(summary.documents_deadline),
        incomplete_after_deadline=summary.incomplete_after(now),
    )


def _session(session: int, *, optional: bool) -> int | None:
    if optional and session == 0:
        return None
    if not 2000 <= session <= 2100:
        raise InvalidInput("session", "a session year such as 2026")
    return session


class DossierServicer(ConvocationRpcs, pb_grpc.DossierServicer):
    def __init__(self, queries: DossierQueries, verifier: TokenVerifier, clock: Clock) -> None:
        self.queries = queries
        super().__init__(verifier, clock)

    @rpc
    async def GetDossier(self, request: pb.GetDossierRequest, context: grpc.aio.ServicerContext) -> pb.DossierView:
        principal = self._principal(context)
        text = request.candidate_id or (principal.subject if principal.role is Role.CANDIDATE else "")
        if not text:
            raise InvalidInput("candidate_id", "required for staff and auditors")
        try:
            candidate = UUID(text)
        except ValueError:
            raise InvalidInput("candidate_id", "not a candidate id (UUID)") from None
        if principal.role is Role.CANDIDATE and principal.subject != str(candidate):
            raise PermissionDenied("a candidate reads only their own dossier")
        session = _session(request.session, optional=True)
        found = await self.queries.latest_summary(candidate, session)
        if found is None or not principal.may_read(str(candidate), found[0]):
            raise NotFound("no dossier for this candidate and session (or not yours to see)")
        return dossier_message(found[1], self.clock())

    @rpc
    async def ListDossiers(
        self, request: pb.ListDossiersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDossiersResponse:
        principal = self._principal(context)
        if principal.role is Role.CANDIDATE:
            raise PermissionDenied("only staff and auditors list dossiers")
        session = _session(request.session, optional=False)
        if request.state and request.state not in STATES:
            raise InvalidInput("state", f"one of {', '.join(STATES)}")
        now = self.clock()
        assert session is not None
        counts = await self.queries.state_counts(principal.read_scope, session)
        summaries = await self.queries.summaries(
            principal.read_scope,
            session,
            request.state,
            incomplete_before=now if request.incomplete_after_deadline else None,
        )
        return pb.ListDossiersResponse(dossiers=[_line(s, now) for s in summaries], counts=counts)
