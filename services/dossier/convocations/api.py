"""ListConvocations of archipel.dossier.v1, mixed into the dossier servicer: staff and auditors of
an académie read its convocation feed, as it stands at the service's clock (Europe/Paris day)."""

from __future__ import annotations

import grpc

from archipel.dossier.v1 import dossier_pb2 as pb
from services.dossier.convocations.feed import Convocation
from services.dossier.queries import DossierQueries
from shared.auth import Role
from shared.clock import to_paris
from shared.errors import InvalidInput, PermissionDenied
from shared.rpc import Authenticated, rpc


def convocation_message(convocation: Convocation) -> pb.Convocation:
    return pb.Convocation(
        candidate_id=str(convocation.candidate_id),
        session=convocation.session,
        specialty=convocation.specialty,
        specialty_title=convocation.specialty_title,
        academy=convocation.academy,
        last_name=convocation.last_name,
        first_names=convocation.first_names,
        birth_date=convocation.birth_date.isoformat() if convocation.birth_date else "",
        partial=convocation.partial,
        tests=[
            pb.ConvocationTest(
                unit=t.unit,
                title=t.title,
                starts_at=to_paris(t.starts_at).isoformat(),
                duration_minutes=t.duration_minutes,
                place=t.place,
            )
            for t in convocation.tests
        ],
        unscheduled=list(convocation.unscheduled),
        handicap=convocation.handicap,
        publish_from=convocation.publish_from.isoformat() if convocation.publish_from else "",
        version=convocation.version,
    )


class ConvocationRpcs(Authenticated):
    """The servicer provides `queries`."""

    queries: DossierQueries

    @rpc
    async def ListConvocations(
        self, request: pb.ListConvocationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConvocationsResponse:
        principal = self._principal(context)
        if principal.role is Role.CANDIDATE:
            raise PermissionDenied("only staff and auditors read the convocation feed")
        academy = request.academy or principal.read_scope  # a national auditor: every académie's
        if academy is not None and not principal.reads_academy(academy):
            raise PermissionDenied("staff and auditors read only their académie's convocations")
        if not 2000 <= request.session <= 2100:
            raise InvalidInput("session", "a session year such as 2027")
        today = to_paris(self.clock()).date()
        found = await self.queries.convocations(academy, request.session, today)
        return pb.ListConvocationsResponse(convocations=[convocation_message(c) for c in found])
