"""The one shape of an aggregate (DESIGN rule 1): an initial state, `evolve(state, event)` and
`decide(command, state, facts) -> events` (or a domain error raised), all pure. Replay is a fold
of `evolve`. Every aggregate of every service is a `Decider`; the command pipeline
(shared.pipeline) is the only caller that loads, decides and appends."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from shared.events import DomainEvent

C_contra = TypeVar("C_contra", contravariant=True)
F_contra = TypeVar("F_contra", contravariant=True)
S = TypeVar("S")
C_ = TypeVar("C_")
F_ = TypeVar("F_")


class Decider(Protocol[C_contra, S, F_contra]):
    """An aggregate: commands, states S, facts (what decide needs from outside its stream)."""

    @property
    def initial(self) -> S: ...

    def evolve(self, state: S, event: DomainEvent) -> S: ...

    def decide(self, command: C_contra, state: S, facts: F_contra) -> Sequence[DomainEvent]:
        """The events the command produces (none when it changes nothing, e.g. a redelivery), or
        a domain error (shared.errors) raised."""
        ...


@dataclass(frozen=True)
class Aggregate(Generic[C_, S, F_]):
    """A decider made of three module-level pure functions (how every service writes one)."""

    name: str
    initial: S
    evolve_with: Callable[[S, DomainEvent], S]
    decide_with: Callable[[C_, S, F_], Sequence[DomainEvent]]

    def evolve(self, state: S, event: DomainEvent) -> S:
        return self.evolve_with(state, event)

    def decide(self, command: C_, state: S, facts: F_) -> Sequence[DomainEvent]:
        return self.decide_with(command, state, facts)


def replay(decider: Decider[Any, S, Any], events: Iterable[DomainEvent], state: S | None = None) -> S:
    """The state after `events`, from `state` (the decider's initial state by default)."""
    current = decider.initial if state is None else state
    for event in events:
        current = decider.evolve(current, event)
    return current
