"""Child process of the relay crash test: runs a Relay over a test schema until SIGTERM (or SIGKILL).

Environment: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, RELAY_SCHEMA, RELAY_TOPIC, RELAY_NAME,
RELAY_BATCH_SIZE, RELAY_FLUSH_DELAY (seconds slept after each flush, before the checkpoint is
stored: the window in which a kill leaves a published batch unrecorded) and RELAY_FLUSH_MARKER (a
file where the number of completed flushes is written, before that sleep).
Run as `python -m tests.integration.relay_child` from the repository root."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from shared.db import create_pool
from shared.eventstore import EventStore
from shared.kafka import ADMIN, kafka_access, producer_config
from shared.relay import Relay
from shared.settings import Settings
from tests.integration.sample_events import registry


class SlowFlush:
    def __init__(self, producer: KafkaProducer, delay: float, marker: Path) -> None:
        self._producer = producer
        self._delay = delay
        self._marker = marker
        self._flushes = 0

    def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> Any:
        return self._producer.send(topic, value=value, key=key, headers=headers)

    def close(self, timeout: float | None = None) -> None:
        self._producer.close(timeout)

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout)
        self._flushes += 1
        self._marker.with_suffix(".tmp").write_text(str(self._flushes))
        self._marker.with_suffix(".tmp").replace(self._marker)
        time.sleep(self._delay)


async def main() -> None:
    env = os.environ
    pool = await create_pool(env["DATABASE_URL"], env["RELAY_SCHEMA"], max_size=3)
    producer = KafkaProducer(**producer_config(kafka_access(Settings(), ADMIN)))  # the test's own topic
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    relay = Relay(
        EventStore(pool, registry()),
        SlowFlush(producer, float(env["RELAY_FLUSH_DELAY"]), Path(env["RELAY_FLUSH_MARKER"])),
        env["RELAY_TOPIC"],
        name=env["RELAY_NAME"],
        batch_size=int(env["RELAY_BATCH_SIZE"]),
        poll_interval=0.05,
    )
    print("relay started", flush=True)
    try:
        await relay.run(stop)
    finally:
        producer.close(timeout=10)
        await pool.close()
    print("relay stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
