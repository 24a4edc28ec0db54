"""The one command pipeline on the real PostgreSQL: authorize -> load -> facts -> decide ->
append with the expected version (private rows in the same transaction) -> effects after the
commit. A tiny counter aggregate stands for any service's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict

from shared.auth import Principal, Role
from shared.clock import FixedClock
from shared.db import Connection, Migration, migrate
from shared.decider import Aggregate
from shared.errors import ConcurrencyError, PermissionDenied, RuleViolation
from shared.events import CommandContext, DomainEvent
from shared.eventstore import EventStore, ExtraWrite
from shared.pipeline import BatchRefused, Call, Cause, CommandSpec, Decision, Pipeline, Scope
from tests.integration.sample_events import Counted

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PRIVATE = Migration("9000_private_marks", "CREATE TABLE private_marks (stream_id text NOT NULL, amount int NOT NULL)")


class Count(BaseModel):
    model_config = ConfigDict(frozen=True)

    candidate_id: uuid.UUID
    academy: str
    amount: int


class Total(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: int = 0


def evolve(state: Total, event: DomainEvent) -> Total:
    return Total(total=state.total + event.amount) if isinstance(event, Counted) else state


def decide(command: Count, state: Total, facts: int) -> Sequence[DomainEvent]:
    if state.total + command.amount > facts:
        raise RuleViolation("R-99", f"the total may not exceed {facts}")
    return [Counted(amount=command.amount)] if command.amount else []


COUNTER = Aggregate("counter", Total(), evolve, decide)


@dataclass
class Ports:
    limit: int = 10
    interloper: EventStore | None = None  # appends to the stream while the facts are gathered
    mailed: list[int] = field(default_factory=list)


async def limit_facts(ports: Ports, call: Call[Count, Total]) -> int:
    if ports.interloper is not None:
        context = CommandContext(academy="lyon", actor="staff:other", occurred_at=NOW)
        await ports.interloper.append(call.stream, call.version, [Counted(amount=1)], context)
    return ports.limit


async def private_mark(ports: Ports, decision: Decision[Count, Total, int]) -> ExtraWrite:
    async def write(connection: Connection) -> None:
        await connection.execute(
            "INSERT INTO private_marks VALUES ($1, $2)", decision.call.stream, decision.state.total
        )

    return write


async def mail(ports: Ports, decision: Decision[Count, Total, int]) -> None:
    ports.mailed.append(decision.state.total)


SPEC = CommandSpec(
    Count,
    COUNTER,
    lambda c: f"count-{c.candidate_id}",
    limit_facts,
    lambda c, s, f: Scope(c.academy, c.candidate_id),
    writes=private_mark,
    effects=mail,
)
BATCHABLE = CommandSpec(Count, COUNTER, SPEC.stream, limit_facts, SPEC.scope, roles=frozenset({Role.STAFF}))


@pytest.fixture
async def pipeline(store: EventStore) -> Pipeline[Ports]:
    await migrate(store.pool, [PRIVATE])
    return Pipeline(store, Ports(), [SPEC], FixedClock(NOW))


def candidate(candidate_id: uuid.UUID, academy: str = "lyon") -> Principal:
    return Principal(subject=str(candidate_id), role=Role.CANDIDATE, academy=academy)


async def count_rows(store: EventStore, table: str) -> int:
    value: int = await store.pool.fetchval(f"SELECT count(*) FROM {table}")
    return value


async def test_a_command_is_appended_with_its_private_rows_then_its_effect_runs(pipeline: Pipeline[Ports]) -> None:
    me = uuid.uuid4()
    outcome = await pipeline.execute(candidate(me), Count(candidate_id=me, academy="lyon", amount=4))

    assert (outcome.version, outcome.state.total) == (1, 4)
    (envelope,) = await pipeline.store.read_stream(f"count-{me}")
    assert (envelope.academy, envelope.candidate_id, envelope.actor) == ("lyon", str(me), f"candidate:{me}")
    assert envelope.occurred_at == NOW
    assert await count_rows(pipeline.store, "private_marks") == 1
    assert pipeline.ports.mailed == [4]
    # A command that decides nothing writes nothing and has no effect.
    assert (await pipeline.execute(candidate(me), Count(candidate_id=me, academy="lyon", amount=0))).events == ()
    assert pipeline.ports.mailed == [4]


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        (Principal(subject="someone", role=Role.CANDIDATE, academy="lyon"), "own records"),
        (Principal(subject="agent", role=Role.STAFF, academy="creteil"), "within their académie"),
        (Principal(subject="audit", role=Role.AUDITOR, academy="lyon"), "read-only"),
    ],
)
async def test_another_candidate_another_academy_or_an_auditor_is_refused_and_nothing_is_written(
    pipeline: Pipeline[Ports], principal: Principal, message: str
) -> None:
    me = uuid.uuid4()
    with pytest.raises(PermissionDenied, match=message):
        await pipeline.execute(principal, Count(candidate_id=me, academy="lyon", amount=1))
    assert await pipeline.store.read_stream(f"count-{me}") == []
    assert await count_rows(pipeline.store, "private_marks") == 0
    assert pipeline.ports.mailed == []


async def test_the_facts_reach_decide_and_a_refusal_writes_nothing(pipeline: Pipeline[Ports]) -> None:
    me = uuid.uuid4()
    pipeline.ports.limit = 3
    with pytest.raises(RuleViolation, match="R-99"):
        await pipeline.execute(candidate(me), Count(candidate_id=me, academy="lyon", amount=4))
    assert await pipeline.store.read_stream(f"count-{me}") == []


async def test_a_concurrent_writer_wins_and_the_losers_private_rows_and_effects_never_happen(
    pipeline: Pipeline[Ports], store: EventStore
) -> None:
    me = uuid.uuid4()
    pipeline.ports.interloper = store
    with pytest.raises(ConcurrencyError):
        await pipeline.execute(candidate(me), Count(candidate_id=me, academy="lyon", amount=2))
    assert [e.actor for e in await store.read_stream(f"count-{me}")] == ["staff:other"]
    assert await count_rows(store, "private_marks") == 0
    assert pipeline.ports.mailed == []


async def test_a_batch_is_written_whole_or_reports_every_refused_command(store: EventStore) -> None:
    pipeline = Pipeline(store, Ports(limit=5), [BATCHABLE], FixedClock(NOW))
    agent = Principal(subject="agent", role=Role.STAFF, academy="lyon")
    first, second = uuid.uuid4(), uuid.uuid4()
    refused = [
        Count(candidate_id=first, academy="lyon", amount=3),
        Count(candidate_id=second, academy="lyon", amount=2),
        Count(candidate_id=first, academy="lyon", amount=3),  # 6 > 5 for the first stream
        Count(candidate_id=second, academy="creteil", amount=1),  # another académie
    ]
    with pytest.raises(BatchRefused) as caught:
        await pipeline.execute_many(agent, refused)
    assert [(index, type(error).__name__) for index, error in caught.value.failures] == [
        (2, "RuleViolation"),
        (3, "PermissionDenied"),
    ]
    assert await store.read_stream(f"count-{first}") == [] and await store.read_stream(f"count-{second}") == []

    outcomes = await pipeline.execute_many(agent, [*refused[:2], Count(candidate_id=first, academy="lyon", amount=2)])
    assert sorted((o.stream, o.version, o.state.total) for o in outcomes) == sorted(
        [(f"count-{first}", 2, 5), (f"count-{second}", 1, 2)]
    )


async def test_a_dry_run_batch_decides_and_refuses_alike_but_writes_nothing(store: EventStore) -> None:
    """For a caller refusing the batch for a reason of its own (a jury file's unreadable lines)."""
    pipeline = Pipeline(store, Ports(limit=5), [BATCHABLE], FixedClock(NOW))
    agent = Principal(subject="agent", role=Role.STAFF, academy="lyon")
    me = uuid.uuid4()
    counts = [Count(candidate_id=me, academy="lyon", amount=3), Count(candidate_id=me, academy="lyon", amount=3)]
    with pytest.raises(BatchRefused) as caught:
        await pipeline.execute_many(agent, counts, dry_run=True)
    assert [(index, type(error).__name__) for index, error in caught.value.failures] == [(1, "RuleViolation")]
    outcomes = await pipeline.execute_many(agent, counts[:1], dry_run=True)
    assert [(o.stream, o.version, o.state.total, len(o.events)) for o in outcomes] == [(f"count-{me}", 1, 3, 1)]
    assert await store.read_stream(f"count-{me}") == []


async def test_a_command_the_service_sends_itself_carries_its_cause(pipeline: Pipeline[Ports]) -> None:
    me = uuid.uuid4()
    cause = Cause(event_id=uuid.uuid4(), correlation_id=uuid.uuid4(), recorded_at=datetime(2026, 1, 4, tzinfo=UTC))
    await pipeline.execute_as_service(
        Count(candidate_id=me, academy="lyon", amount=1), actor="system:test", cause=cause
    )
    (envelope,) = await pipeline.store.read_stream(f"count-{me}")
    assert (envelope.causation_id, envelope.correlation_id) == (cause.event_id, cause.correlation_id)
    assert (envelope.actor, envelope.occurred_at) == ("system:test", cause.recorded_at)
