"""The schedule RPCs of archipel.registration.v1 (PublishSchedule, GetSchedule), mixed into the
registration servicer: proto <-> PublishSchedule, errors to status codes by `rpc`."""

from __future__ import annotations

import grpc

from archipel.registration.v1 import registration_pb2 as pb
from services.registration.events import SchedulePublished
from services.registration.schedule import PublishSchedule, ScheduleHandlers
from shared.auth import Principal
from shared.clock import to_paris
from shared.rpc import rpc


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


class ScheduleRpcs:
    """The servicer sets `schedules` and provides `_principal`."""

    schedules: ScheduleHandlers

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        raise NotImplementedError

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
        event, version = await self.schedules.publish(principal, command)
        return schedule_view(event, version)

    @rpc
    async def GetSchedule(self, request: pb.GetScheduleRequest, context: grpc.aio.ServicerContext) -> pb.ScheduleView:
        self._principal(context)
        event, version = await self.schedules.get(request.academy, request.session, request.specialty)
        return schedule_view(event, version)
