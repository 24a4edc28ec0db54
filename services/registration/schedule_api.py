"""The schedule RPCs of archipel.registration.v1 (PublishSchedule, GetSchedule), mixed into the
registration servicer: proto <-> PublishSchedule through the pipeline, errors to status codes by `rpc`."""

from __future__ import annotations

from typing import Any

import grpc

from archipel.registration.v1 import registration_pb2 as pb
from services.registration.commands import PublishSchedule
from services.registration.domain.schedule import SCHEDULE
from services.registration.streams import schedule_stream
from services.registration.views import schedule_view
from shared.contracts.registration import SchedulePublished
from shared.errors import NotFound
from shared.pipeline import Pipeline
from shared.rpc import Authenticated, rpc


class ScheduleRpcs(Authenticated):
    """The servicer sets `pipeline`."""

    pipeline: Pipeline[Any]

    @rpc
    async def PublishSchedule(
        self, request: pb.PublishScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScheduleView:
        principal = self._principal(context)
        command = PublishSchedule.model_validate(
            {
                "academy": request.academy,
                "session": request.session,
                "specialty": request.specialty,
                "entries": [
                    {
                        "unit": e.unit,
                        "starts_at": e.starts_at,
                        "duration_minutes": e.duration_minutes,
                        "place": e.place,
                        "language": e.language,
                    }
                    for e in request.entries
                ],
                "reason": request.reason,
            }
        )
        outcome = await self.pipeline.execute(principal, command)
        event = outcome.events[-1]
        assert isinstance(event, SchedulePublished)
        return schedule_view(event, outcome.version)

    @rpc
    async def GetSchedule(self, request: pb.GetScheduleRequest, context: grpc.aio.ServicerContext) -> pb.ScheduleView:
        self._principal(context)
        state, version = await self.pipeline.load(
            SCHEDULE, schedule_stream(request.academy, request.session, request.specialty)
        )
        if state.latest is None:
            raise NotFound(
                f"no test schedule published for {request.specialty:.40}, session {request.session},"
                f" {request.academy:.40}"
            )
        return schedule_view(state.latest, version)
