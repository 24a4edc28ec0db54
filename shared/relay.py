"""The relay: tails a service's event store and publishes every event to its Kafka topic.

Delivery is at least once (DESIGN rule 5): a batch is published and flushed (acks=all, idempotent
producer) before its end position is stored in PostgreSQL; after a crash the relay resumes from the
last stored position and may publish the tail of a batch again, which consumers ignore by stream
version. The store's log cursor makes skipping impossible (see shared.eventstore).

A record the broker will never take (too large, invalid) would stop the relay for good if it kept
retrying it, and with it every later event of the service: such a record is said loudly instead
(one ERROR line naming the event, the `archipel.relay.unpublishable` counter, `unpublishable` on
the relay) and passed over; its event stays in the store. An idempotent producer refuses every
later record once one was refused, so the relay then takes a new producer (`renew`); without one it
stops as before. The store's bound on an event's size
(shared.eventstore.MAX_EVENT_BYTES, well under Kafka's limit) means it should never happen."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from kafka.errors import CorruptRecordError, InvalidRecordError, MessageSizeTooLargeError, RecordListTooLargeError
from opentelemetry import metrics, trace

from shared.db import Migration
from shared.eventstore import EventStore, LogPosition, StoredLogEntry
from shared.kafka import headers_for
from shared.telemetry import context_from, current_context_carrier, tracer

log = logging.getLogger(__name__)

RECORD_ERRORS: tuple[type[Exception], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    InvalidRecordError,
    CorruptRecordError,
)
"""What the broker (or the client) answers about a record itself: publishing it again cannot
succeed. Any other error (the broker away, a timeout, an authorization) stops the relay as before."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_relay_checkpoints",
        "CREATE TABLE relay_checkpoints ("
        " name text PRIMARY KEY, tx_id xid8 NOT NULL, position bigint NOT NULL,"
        " updated_at timestamptz NOT NULL DEFAULT now())",
    ),
)


class Producer(Protocol):
    """What the relay needs of a Kafka producer (kafka-python's KafkaProducer fits)."""

    def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


class Relay:
    def __init__(
        self,
        store: EventStore,
        producer: Producer,
        topic: str,
        *,
        name: str = "relay",
        batch_size: int = 1000,
        poll_interval: float = 0.1,
        linger: float = 0.02,
        send_timeout: float = 60.0,
        renew: Callable[[], Producer] | None = None,
    ) -> None:
        self.store = store
        self.producer = producer
        self.topic = topic
        self.name = name
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.linger = linger
        self._position: LogPosition | None = None  # this relay's checkpoint, once read
        self.send_timeout = send_timeout
        self.renew = renew  # a new producer, after one refused a record (see the module's docstring)
        self._wake = asyncio.Event()
        self._tracer = tracer("archipel.relay")
        self.unpublishable = 0  # records passed over since start (see the module's docstring)
        self._unpublishable = metrics.get_meter("archipel.relay").create_counter(
            "archipel.relay.unpublishable", unit="{record}", description="events the relay could not publish"
        )

    async def checkpoint(self) -> LogPosition:
        row = await self.store.pool.fetchrow(
            "SELECT tx_id::text AS tx, position FROM relay_checkpoints WHERE name = $1", self.name
        )
        return LogPosition(int(row["tx"]), row["position"]) if row else LogPosition.start()

    async def _save(self, position: LogPosition) -> None:
        await self.store.pool.execute(
            "INSERT INTO relay_checkpoints (name, tx_id, position) VALUES ($1, $2::text::xid8, $3)"
            " ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, position = excluded.position,"
            " updated_at = now()",
            self.name,
            str(position.tx_id),
            position.position,
        )

    async def publish_batch(self) -> int:
        """Publishes the next batch and stores its end; returns how many events were published."""
        if self._position is None:  # only this relay moves its checkpoint: read it once
            self._position = await self.checkpoint()
        events = await self.store.read_log_stored(self._position, self.batch_size)
        if not events:
            return 0
        await asyncio.to_thread(self._publish, events)
        await self._save(events[-1].position)
        self._position = events[-1].position
        return len(events)

    def _publish(self, events: Sequence[StoredLogEntry]) -> None:
        futures = [self._send(logged) for logged in events]
        self.producer.flush(self.send_timeout)
        refusals = [error for future in futures if (error := self._refusal(future)) is not None]
        if not refusals:
            return
        # A broker refuses a whole batch for one record: the batch again one record at a time, in
        # order (those already published come twice, which consumers ignore by stream version).
        self._renew(refusals[0])
        for logged in events:
            future = self._send(logged)
            self.producer.flush(self.send_timeout)
            if (error := self._refusal(future)) is not None:
                self._pass_over(logged, error)
                self._renew(error)

    def _renew(self, error: Exception) -> None:
        if self.renew is None:
            raise error
        self.producer.close(timeout=0)
        self.producer = self.renew()

    def _send(self, logged: StoredLogEntry) -> Any:
        envelope = logged.stored
        parent = context_from(envelope.trace_context)
        with self._tracer.start_as_current_span("relay.publish", context=parent, kind=trace.SpanKind.PRODUCER) as span:
            span.set_attribute("messaging.destination.name", self.topic)
            span.set_attribute("archipel.event_type", envelope.event_type)
            span.set_attribute("archipel.event_id", str(envelope.event_id))
            try:
                return self.producer.send(
                    self.topic,
                    value=envelope.to_json(),
                    key=envelope.partition_key.encode(),
                    headers=[*headers_for(envelope, current_context_carrier()), ("hash", logged.hash.hex().encode())],
                )
            except RECORD_ERRORS as error:  # refused by the client before it reached the broker
                return error

    def _refusal(self, future: Any) -> Exception | None:
        """The record error of a sent record, None once published; any other error is raised."""
        if isinstance(future, Exception):
            return future
        try:
            future.get(timeout=self.send_timeout)
        except RECORD_ERRORS as error:
            return error
        return None

    def _pass_over(self, logged: StoredLogEntry, error: Exception) -> None:
        envelope = logged.stored
        self.unpublishable += 1
        self._unpublishable.add(1, {"relay": self.name, "event_type": envelope.event_type})
        log.error(
            "relay %s cannot publish event %s (stream %s version %d, %s) to %s: %s; passed over, it stays in the store",
            self.name,
            envelope.event_id,
            envelope.stream_id,
            envelope.stream_version,
            envelope.event_type,
            self.topic,
            f"{type(error).__name__}: {error}"[:300],
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes until `stop` is set; wakes on NOTIFY from appends, polls as a fallback."""
        listener = await self.store.pool.acquire()
        channel = await self.store.notify_channel()
        await listener.add_listener(channel, self._on_notify)
        try:
            while not stop.is_set():
                # Cleared before reading: a commit notified from now on is read by the next pass.
                self._wake.clear()
                published = await self.publish_batch()
                log.debug("relay %s published %d events", self.name, published)
                if published >= self.batch_size:
                    continue  # a backlog: on at once
                if not self._wake.is_set():
                    waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
                    _, pending = await asyncio.wait(
                        waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    for waiter in pending:
                        waiter.cancel()
                if self._wake.is_set() and self.linger > 0:
                    await asyncio.sleep(self.linger)  # lets the next commits join this batch
        finally:
            await listener.remove_listener(channel, self._on_notify)
            await self.store.pool.release(listener)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()
