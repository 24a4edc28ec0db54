"""One trace follows a command: the gRPC server span, the relay's publish to the real Kafka topic
(its parent is the context stored with the event) and the projection's apply of the consumed record
(its parent is the context carried in the Kafka headers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaProducer
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.accounts.projections import AccountsReadModel
from shared.contracts.accounts import REGISTRY
from shared.kafka import KafkaAccess, producer_config
from shared.projections import ProjectionRunner
from shared.relay import Relay
from shared.telemetry import setup_tracing
from tests.integration.grpc_fixtures import (  # noqa: F401 (accounts_server is the `accounts` fixture)
    AccountsServer,
    accounts_server,
    create_request,
)
from tests.integration.sample_events import read_topic

GRPC_SPAN = "grpc.AccountsServicer.CreateAccount"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The global tracer provider can be set once per process (later sets are ignored with a
    warning): install ours through setup_tracing if none is yet, else add our processor to the SDK
    provider installed before. The exporter is shut down afterwards, so it stops collecting."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        current.add_span_processor(processor)
    else:
        installed = setup_tracing("archipel-tests", processor=processor)
        assert trace.get_tracer_provider() is installed, "a non-SDK tracer provider was installed first"
    yield exporter
    exporter.shutdown()


async def relay_all(accounts: AccountsServer, access: KafkaAccess, expected: int, timeout: float = 240.0) -> None:
    """Publishes the store's events to the service topic. The log shows an event once every older
    transaction on the whole server has ended, so another test's long transaction delays it."""
    producer = KafkaProducer(**producer_config(access))
    try:
        relay = Relay(accounts.store, producer, accounts.settings.topic("accounts"), name="tracing-test")
        published, deadline = 0, time.monotonic() + timeout
        while published < expected:
            if time.monotonic() > deadline:
                blockers = await accounts.store.pool.fetch(
                    "SELECT pid, state, now() - xact_start AS age, left(query, 60) AS q FROM pg_stat_activity"
                    " WHERE backend_xid IS NOT NULL ORDER BY xact_start LIMIT 3"
                )
                raise AssertionError(f"relay published {published}/{expected}; oldest transactions: {blockers}")
            published += await relay.publish_batch()
            await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(producer.close, 10)


def _named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


async def test_one_trace_from_the_grpc_call_through_kafka_to_the_projection(
    accounts: AccountsServer, spans: InMemorySpanExporter, kafka_admin: KafkaAccess
) -> None:
    spans.clear()
    created = await accounts.stub.CreateAccount(create_request())
    stored = await accounts.event_count()
    assert stored == 2  # AccountCreated, ActivationLinkSent

    await relay_all(accounts, kafka_admin, stored)
    records = await asyncio.to_thread(read_topic, kafka_admin, accounts.settings.topic("accounts"))
    assert len(records) == stored
    assert {record.key for record in records} == {created.account_id.encode()}
    runner = ProjectionRunner(accounts.store.pool, REGISTRY, AccountsReadModel())
    for record in records:
        assert "traceparent" in record.headers, record.headers
        assert await runner.handle_raw(record.value, record.headers)

    finished = spans.get_finished_spans()
    (grpc_span,) = _named(finished, GRPC_SPAN)
    publishes, applies = _named(finished, "relay.publish"), _named(finished, "projection.apply")
    assert (len(publishes), len(applies)) == (stored, stored), [span.name for span in finished]
    trace_id = grpc_span.context.trace_id
    assert {span.context.trace_id for span in (*publishes, *applies)} == {trace_id}
    in_grpc_trace = {span.context.span_id for span in finished if span.context.trace_id == trace_id}
    for publish in publishes:
        assert publish.parent is not None and publish.parent.span_id in in_grpc_trace
        assert publish.parent.span_id == grpc_span.context.span_id  # the command's span itself
    publish_ids = {span.context.span_id for span in publishes}
    for apply in applies:
        assert apply.parent is not None and apply.parent.span_id in publish_ids
        assert apply.parent.is_remote  # carried in the Kafka headers
    by_event = {span.attributes["archipel.event_id"]: span.context.span_id for span in publishes if span.attributes}
    event_ids = {record.headers["event_id"]: record.headers["traceparent"] for record in records}
    for event_id, traceparent in event_ids.items():
        assert traceparent.split("-")[2] == format(by_event[event_id], "016x")
