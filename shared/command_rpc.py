"""The generic Commands gRPC endpoint: a command declared `rpc=True` is served with no servicer
code of its own. The JSON is validated by the command's model (bad input: INVALID_ARGUMENT naming
the field), then the pipeline authorizes and runs it like any other command."""

from __future__ import annotations

from typing import Any

import grpc
from pydantic import BaseModel

from archipel.commands.v1 import commands_pb2 as pb
from archipel.commands.v1 import commands_pb2_grpc as pb_grpc
from shared.auth import TokenVerifier
from shared.clock import Clock
from shared.errors import InvalidInput
from shared.pipeline import Pipeline
from shared.rpc import principal_of, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Commands"].full_name
MAX_PAYLOAD_BYTES = 64 * 1024


class CommandsServicer(pb_grpc.CommandsServicer):
    def __init__(self, pipeline: Pipeline[Any], verifier: TokenVerifier, clock: Clock) -> None:
        self.pipeline = pipeline
        self.verifier = verifier
        self.clock = clock
        self.models: dict[str, type[BaseModel]] = {
            spec.name: spec.command for spec in pipeline.specs if spec.rpc and issubclass(spec.command, BaseModel)
        }

    @rpc
    async def Execute(self, request: pb.ExecuteRequest, context: grpc.aio.ServicerContext) -> pb.ExecuteResponse:
        principal = principal_of(context, self.verifier, self.clock)
        model = self.models.get(request.command)
        if model is None:
            raise InvalidInput("command", f"{request.command!r:.40} is not a command served here")
        if len(request.payload_json.encode()) > MAX_PAYLOAD_BYTES:
            raise InvalidInput("payload_json", f"over {MAX_PAYLOAD_BYTES} bytes")
        command = model.model_validate_json(request.payload_json or "{}")
        outcome = await self.pipeline.execute(principal, command)
        return pb.ExecuteResponse(
            stream_id=outcome.stream,
            version=outcome.version,
            event_types=[event.event_type for event in outcome.events],
        )


def register(server: grpc.aio.Server, servicer: CommandsServicer) -> None:
    pb_grpc.add_CommandsServicer_to_server(servicer, server)
