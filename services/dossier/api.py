"""gRPC servicer of archipel.dossier.v1: reads the dossier views, never writes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import grpc

from archipel.dossier.v1 import dossier_pb2 as pb
from archipel.dossier.v1 import dossier_pb2_grpc as pb_grpc
from services.dossier.convocations.api import ConvocationRpcs
from services.dossier.fold import STATES, DossierView, SpecialtyView
from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import InvalidInput, NotFound, PermissionDenied
from shared.rpc import principal_of, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Dossier"].full_name


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _specialty(view: SpecialtyView) -> pb.SpecialtyView:
    return pb.SpecialtyView(
        **view.model_dump(
            exclude={"language", "deadline", "marks", "carried"},
        ),
        language=view.language or "",
        deadline=_iso(view.deadline),
        marks=dict(view.marks),
        carried=[pb.Carried(**c.model_dump()) for c in view.carried],
    )


def dossier_message(view: DossierView, now: datetime) -> pb.DossierView:
    return pb.DossierView(
        candidate_id=str(view.candidate_id),
        session=view.session,
        academy=view.academy,
        state=view.state,
        account_status=view.account_status,
        specialties=[_specialty(s) for s in view.specialties],
        notifications=[
            pb.Notification(at=_iso(n.at), specialty=n.specialty, kind=n.kind, detail=n.detail)
            for n in view.notifications
        ],
        documents_deadline=_iso(view.documents_deadline),
        incomplete_after_deadline=view.incomplete_after(now),
    )


def _line(view: DossierView, now: datetime) -> pb.DossierLine:
    return pb.DossierLine(
        candidate_id=str(view.candidate_id),
        session=view.session,
        state=view.state,
        account_status=view.account_status,
        specialties=[s.specialty for s in view.specialties],
        missing=sorted({kind for s in view.specialties for kind in s.missing}),
        documents_deadline=_iso(view.documents_deadline),
        incomplete_after_deadline=view.incomplete_after(now),
    )


def _session(session: int, *, optional: bool) -> int | None:
    if optional and session == 0:
        return None
    if not 2000 <= session <= 2100:
        raise InvalidInput("session", "a session year such as 2026")
    return session


class DossierServicer(ConvocationRpcs, pb_grpc.DossierServicer):
    def __init__(self, pool: asyncpg.Pool, secret: str, clock: Clock) -> None:
        self.pool = pool
        self.secret = secret
        self.clock = clock

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        return principal_of(context, self.secret, self.clock)

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
        row = await self.pool.fetchrow(
            "SELECT academy, view FROM dossier_views WHERE candidate_id = $1 AND ($2::integer IS NULL OR session = $2)"
            " ORDER BY session DESC LIMIT 1",
            candidate,
            session,
        )
        if row is None or not principal.may_read(str(candidate), row["academy"]):
            raise NotFound("no dossier for this candidate and session (or not yours to see)")
        return dossier_message(DossierView.model_validate_json(row["view"]), self.clock())

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
        counts = {
            row["state"]: row["n"]
            for row in await self.pool.fetch(
                "SELECT state, count(*) AS n FROM dossier_views WHERE academy = $1 AND session = $2 GROUP BY state",
                principal.academy,
                session,
            )
        }
        rows = await self.pool.fetch(
            "SELECT view FROM dossier_views WHERE academy = $1 AND session = $2 AND ($3 = '' OR state = $3)"
            " AND (NOT $4 OR documents_deadline < $5) ORDER BY candidate_id",
            principal.academy,
            session,
            request.state,
            request.incomplete_after_deadline,
            now,
        )
        views = [DossierView.model_validate_json(row["view"]) for row in rows]
        return pb.ListDossiersResponse(dossiers=[_line(v, now) for v in views], counts=counts)
