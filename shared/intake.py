"""Intakes (process managers): an event consumed from another service's topic becomes a command on
this service's own aggregate, run through the command pipeline as the service itself. The decider
recognises a redelivery (by the source event id it records) and decides nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.db import Connection
from shared.events import Envelope
from shared.pipeline import Cause, Pipeline
from shared.projections import Projection


@dataclass(frozen=True)
class Intake:
    name: str  # its consumer group
    event_type: str
    command: Callable[[Envelope], Any]  # the command the consumed event becomes
    actor: str  # e.g. "system:results-intake"


class IntakeProjection(Projection):
    """Runs an intake as a projection without tables: each command is appended in a transaction
    of its own (an append takes its transaction id first), not the runner's."""

    tables = ()
    migrations = ()

    def __init__(self, intake: Intake, pipeline: Pipeline[Any]) -> None:
        self.name = intake.name
        self.event_types = frozenset({intake.event_type})
        self._intake = intake
        self._pipeline = pipeline

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        command = self._intake.command(envelope)
        await self._pipeline.execute_as_service(command, actor=self._intake.actor, cause=Cause.of(envelope))
