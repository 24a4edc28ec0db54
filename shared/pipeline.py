"""The one command pipeline (DESIGN "One command pipeline"): authorize -> load the stream ->
gather the facts -> decide -> append with the expected version -> after-commit effects.

A service declares each command as data (`CommandSpec`: its decider, where it goes, the facts it
needs, who may send it, what it writes beside the events and what it does after the commit); no
service writes this sequence itself. `P` is the service's ports object (its facts read port and
whatever its effects need: a mailer, a blob store), built once per process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from shared.auth import Principal, Role
from shared.clock import Clock
from shared.decider import Decider, replay
from shared.errors import ArchipelError, InvalidInput, PermissionDenied
from shared.events import CommandContext, DomainEvent, Envelope
from shared.eventstore import Append, EventStore, ExtraWrite
from shared.telemetry import current_context_carrier

C = TypeVar("C")
S = TypeVar("S")
F = TypeVar("F")
P = TypeVar("P")

WRITERS = frozenset({Role.CANDIDATE, Role.STAFF})


@dataclass(frozen=True)
class Scope:
    """Whose stream this is (DESIGN rule 8): its académie (None while nothing says yet, e.g. a
    stream still empty) and its candidate (None for académie-wide streams such as calendars)."""

    academy: str | None
    candidate_id: UUID | None = None


@dataclass(frozen=True)
class Call(Generic[C, S]):
    """What the pipeline knows once the stream is loaded: given to the facts port."""

    command: C
    principal: Principal | None  # None when the service acts itself (an intake)
    stream: str
    state: S
    version: int
    now: datetime


@dataclass(frozen=True)
class Decision(Generic[C, S, F]):
    """A command decided: given to the writes (same transaction) and the effects (after commit)."""

    call: Call[C, S]
    facts: F
    events: tuple[DomainEvent, ...]
    state: S  # after the events
    scope: Scope


@dataclass(frozen=True)
class Outcome(Generic[S]):
    stream: str
    state: S
    version: int
    events: tuple[DomainEvent, ...]


@dataclass(frozen=True)
class CommandSpec(Generic[C, S, F, P]):
    """A command as data. `roles` may send it (an empty set: only the service itself, through an
    intake); `scope` tells whose stream it is, checked against the principal after the facts;
    `writes` returns what to write in the events' transaction (private rows), `effects` runs after
    the commit (mail). `rpc` serves it on the generic Commands gRPC endpoint, which takes the
    command as JSON: only for commands whose every field a caller may set."""

    command: type[C]
    decider: Decider[C, S, F]
    stream: Callable[[C], str]
    facts: Callable[[P, Call[C, S]], Awaitable[F]]
    scope: Callable[[C, S, F], Scope]
    roles: frozenset[Role] = WRITERS
    writes: Callable[[P, Decision[C, S, F]], Awaitable[ExtraWrite | None]] | None = None
    effects: Callable[[P, Decision[C, S, F]], Awaitable[None]] | None = None
    rpc: bool = False

    @property
    def name(self) -> str:
        return self.command.__name__


async def no_facts(ports: object, call: Call[Any, Any]) -> None:
    """For commands whose decision needs nothing beyond their stream."""
    return None


@dataclass(frozen=True)
class Cause:
    """The consumed event an intake turns into a command (correlation and causation)."""

    event_id: UUID
    correlation_id: UUID
    recorded_at: datetime

    @staticmethod
    def of(envelope: Envelope) -> Cause:
        return Cause(envelope.event_id, envelope.correlation_id, envelope.recorded_at)


class BatchRefused(ArchipelError):
    """execute_many wrote nothing: `failures` gives each refused command's index and error."""

    def __init__(self, failures: Sequence[tuple[int, ArchipelError]]) -> None:
        super().__init__("; ".join(f"command {index}: {error.message}" for index, error in failures))
        self.failures = tuple(failures)


@dataclass
class _Pending:
    state: Any
    version: int
    scope: Scope | None = None
    events: list[DomainEvent] = field(default_factory=list)


class Pipeline(Generic[P]):
    def __init__(
        self, store: EventStore, ports: P, commands: Iterable[CommandSpec[Any, Any, Any, P]], clock: Clock
    ) -> None:
        self.store = store
        self.ports = ports
        self.clock = clock
        self._specs: Mapping[type[Any], CommandSpec[Any, Any, Any, P]] = {spec.command: spec for spec in commands}

    def spec(self, command: object) -> CommandSpec[Any, Any, Any, P]:
        try:
            return self._specs[type(command)]
        except KeyError:
            raise InvalidInput("command", f"{type(command).__name__} is not a command of this service") from None

    def spec_named(self, name: str) -> CommandSpec[Any, Any, Any, P]:
        for spec in self._specs.values():
            if spec.name == name:
                return spec
        raise InvalidInput("command", f"unknown command {name!r}")

    @property
    def specs(self) -> tuple[CommandSpec[Any, Any, Any, P], ...]:
        return tuple(self._specs.values())

    async def load(self, decider: Decider[Any, S, Any], stream: str) -> tuple[S, int]:
        history = await self.store.read_stream(stream)
        return replay(decider, (envelope.payload for envelope in history)), len(history)

    async def execute(self, principal: Principal, command: Any) -> Outcome[Any]:
        """A command sent by a user: refused unless their role may send it and the stream is theirs."""
        spec = self.spec(command)
        authorize_role(spec, principal)
        return await self._run(spec, command, principal, f"{principal.role.value}:{principal.subject}", None)

    async def execute_as_service(self, command: Any, *, actor: str, cause: Cause | None = None) -> Outcome[Any]:
        """A command the service sends itself (an intake turning a consumed event into a command)."""
        return await self._run(self.spec(command), command, None, actor, cause)

    async def _run(
        self,
        spec: CommandSpec[Any, Any, Any, P],
        command: Any,
        principal: Principal | None,
        actor: str,
        cause: Cause | None,
    ) -> Outcome[Any]:
        stream = spec.stream(command)
        state, version = await self.load(spec.decider, stream)
        now = cause.recorded_at if cause else self.clock()
        call = Call(command, principal, stream, state, version, now)
        facts = await spec.facts(self.ports, call)
        scope = spec.scope(command, state, facts)
        if principal is not None:
            authorize_scope(principal, scope)
        events = tuple(spec.decider.decide(command, state, facts))
        if not events:
            return Outcome(stream, state, version, ())
        decision = Decision(call, facts, events, replay(spec.decider, events, state), scope)
        extra = await spec.writes(self.ports, decision) if spec.writes else None
        context = _context(scope, principal, actor, now, cause)
        await self.store.append(stream, version, events, context, extra=extra)
        if spec.effects:
            await spec.effects(self.ports, decision)
        return Outcome(stream, decision.state, version + len(events), events)

    async def execute_many(
        self, principal: Principal, commands: Sequence[Any], *, dry_run: bool = False
    ) -> list[Outcome[Any]]:
        """Several commands, on one or more streams, all written in one transaction or none: every
        refused command is reported (BatchRefused, with its index) and nothing is written. Commands
        with writes or effects are not batched. `dry_run` decides and refuses alike but writes
        nothing (for a caller refusing the batch for a reason of its own, e.g. a file's unreadable
        lines, that still reports every refused command)."""
        pending: dict[str, _Pending] = {}
        failures: list[tuple[int, ArchipelError]] = []
        for index, command in enumerate(commands):
            try:
                spec = self.spec(command)
                if spec.writes or spec.effects:
                    raise InvalidInput("command", f"{spec.name} cannot be sent in a batch")
                authorize_role(spec, principal)
                await self._decide_pending(spec, command, principal, pending)
            except ArchipelError as error:
                failures.append((index, error))
        if failures:
            raise BatchRefused(failures)
        if dry_run:
            return [
                Outcome(stream, item.state, item.version + len(item.events), tuple(item.events))
                for stream, item in pending.items()
            ]
        now = self.clock()
        actor = f"{principal.role.value}:{principal.subject}"
        appends = [
            Append(
                stream,
                item.version,
                tuple(item.events),
                _context(item.scope or Scope(None), principal, actor, now, None),
            )
            for stream, item in pending.items()
            if item.events
        ]
        await self.store.append_many(appends)
        return [
            Outcome(stream, item.state, item.version + len(item.events), tuple(item.events))
            for stream, item in pending.items()
        ]

    async def _decide_pending(
        self, spec: CommandSpec[Any, Any, Any, P], command: Any, principal: Principal, pending: dict[str, _Pending]
    ) -> None:
        stream = spec.stream(command)
        if stream not in pending:
            state, version = await self.load(spec.decider, stream)
            pending[stream] = _Pending(state, version)
        item = pending[stream]
        call = Call(command, principal, stream, item.state, item.version + len(item.events), self.clock())
        facts = await spec.facts(self.ports, call)
        scope = spec.scope(command, item.state, facts)
        authorize_scope(principal, scope)
        events = spec.decider.decide(command, item.state, facts)
        item.state = replay(spec.decider, events, item.state)
        item.events.extend(events)
        item.scope = scope


def authorize_role(spec: CommandSpec[Any, Any, Any, Any], principal: Principal) -> None:
    if principal.role in spec.roles:
        return
    principal.require_writer()  # auditors: "read-only access"
    allowed = " or ".join(sorted(role.value for role in spec.roles)) or "the service itself"
    raise PermissionDenied(f"{spec.name} is sent by {allowed}, not by {principal.role.value}")


def authorize_scope(principal: Principal, scope: Scope) -> None:
    """Tenancy (DESIGN rule 8): a candidate acts on their own streams, staff and an académie's
    administrator within their académie."""
    if principal.role is Role.CANDIDATE and (
        scope.candidate_id is None or str(scope.candidate_id) != principal.subject
    ):
        raise PermissionDenied("a candidate acts only on their own records")
    if principal.role is Role.STAFF and scope.academy is not None and scope.academy != principal.academy:
        raise PermissionDenied("staff act only within their académie")
    if principal.role is Role.ACADEMY_ADMIN and scope.academy != principal.academy:
        raise PermissionDenied("an académie's administrator acts only within their académie")


def _context(
    scope: Scope, principal: Principal | None, actor: str, now: datetime, cause: Cause | None
) -> CommandContext:
    academy = scope.academy if scope.academy is not None else (principal.academy if principal else "")
    candidate = str(scope.candidate_id) if scope.candidate_id else None
    if cause is None:
        return CommandContext(
            academy=academy,
            actor=actor,
            occurred_at=now,
            candidate_id=candidate,
            trace_context=current_context_carrier(),
        )
    return CommandContext(
        academy=academy,
        actor=actor,
        occurred_at=now,
        candidate_id=candidate,
        correlation_id=cause.correlation_id,
        causation_id=cause.event_id,
        trace_context=current_context_carrier(),
    )
