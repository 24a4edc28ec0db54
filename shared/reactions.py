"""Reactions: an event consumed from a topic causes an effect outside the read models (a file
deleted, say) through the service's ports, never a row of a read model and never a command. Run as
projections without tables, in consumer groups of their own; never rebuilt nor replayed by an
audit (they have no rows to compare), so each effect must be idempotent: a redelivery, or the
effect already done, changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.db import Connection
from shared.events import Envelope
from shared.projections import Projection

P = TypeVar("P")


@dataclass(frozen=True)
class Reaction(Generic[P]):
    name: str  # its consumer group
    event_type: str
    react: Callable[[P, Envelope], Awaitable[None]]  # the effect, through the service's ports


class ReactionProjection(Projection):
    tables = ()
    migrations = ()

    def __init__(self, reaction: Reaction[Any], ports: Any) -> None:
        self.name = reaction.name
        self.event_types = frozenset({reaction.event_type})
        self._reaction = reaction
        self._ports = ports

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        await self._reaction.react(self._ports, envelope)
