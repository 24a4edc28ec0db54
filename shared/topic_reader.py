"""Reading topics from their first offset to the ends they have when the reading starts: what a
rebuild replays (shared.rebuild)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.kafka import KafkaAccess

_FETCH_MAX_BYTES = 32 * 1024 * 1024
# A record's value, headers, and where it was read: topic, partition, offset, key.
Record = tuple[bytes | None, Sequence[tuple[str, bytes]], str, int, int, bytes | None]
Ranges = dict[TopicPartition, tuple[int, int]]  # per partition: its first offset, and its end


class TopicReader:
    """Reads every partition of `topics` from its first offset to the end offset it has when the
    reader opens; or, given `ranges` (a part of another reader's), just those. Rebuilds read with
    aiokafka, the client under FastStream's subscribers: its compiled record parser reads two to
    three times as many records per second as kafka-python's here (issue 7)."""

    def __init__(
        self,
        access: KafkaAccess,
        topics: Sequence[str],
        ranges: Mapping[TopicPartition, tuple[int, int]] | None = None,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            **access.aiokafka(),
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
            fetch_max_bytes=_FETCH_MAX_BYTES,
            max_partition_fetch_bytes=_FETCH_MAX_BYTES // 4,
            fetch_max_wait_ms=100,  # the long poll, once every end is reached
            retry_backoff_ms=10,
        )
        self._topics = list(topics)
        self._given = None if ranges is None else dict(ranges)
        self._end: dict[TopicPartition, int] = {}
        self.partition_counts: dict[str, int] = {}  # of the topics that exist (when not given ranges)
        self.ranges: Ranges = {}  # the partitions holding records, with their offsets

    @property
    def records(self) -> int:
        """How many records the reader will return (compacted topics aside)."""
        return sum(end - start for start, end in self.ranges.values())

    async def __aenter__(self) -> TopicReader:
        await self._consumer.start()
        # Without a group, aiokafka starts a task at start() that its stop() cancels and awaits; one
        # cancelled before it ever ran raises CancelledError out of stop() (a reader given nothing
        # to read stops at once). One turn of the loop lets the task start.
        await asyncio.sleep(0)
        try:
            self.ranges = await (self._discover() if self._given is None else self._assign(self._given))
            self._end = {tp: end for tp, (_, end) in self.ranges.items()}
        except BaseException:
            await self._consumer.stop()
            raise
        return self

    async def _discover(self) -> Ranges:
        existing = await self._consumer.topics()
        topics = [topic for topic in self._topics if topic in existing]  # a topic not made yet is empty
        if not topics:
            return {}
        # Without a group, a subscription is assigned every partition of its topics.
        self._consumer.subscribe(topics=topics)
        partitions = await self._assigned(topics)
        await self._consumer.seek_to_beginning(*partitions)
        ends = await self._consumer.end_offsets(partitions)
        starts = await self._consumer.beginning_offsets(partitions)
        return {tp: (starts[tp], end) for tp, end in sorted(ends.items()) if end > starts[tp]}

    async def _assign(self, ranges: Ranges) -> Ranges:
        if ranges:
            self._consumer.assign(list(ranges))
            for tp, (start, _) in ranges.items():
                self._consumer.seek(tp, start)
        return ranges

    async def _assigned(self, topics: Sequence[str]) -> list[TopicPartition]:
        """Every partition of `topics`, once the subscription has them all."""
        async with asyncio.timeout(30):
            while True:
                counts = [self._consumer.partitions_for_topic(topic) for topic in topics]
                assigned = self._consumer.assignment()
                if all(counts) and len(assigned) == sum(len(p or ()) for p in counts):
                    self.partition_counts = {topic: len(p or ()) for topic, p in zip(topics, counts, strict=True)}
                    return sorted(assigned)
                await asyncio.sleep(0.002)

    async def __aexit__(self, *_: object) -> None:
        await self._consumer.stop()

    async def next_batch(self, size: int) -> list[Record]:
        """Up to `size` records (value, headers, topic, partition, offset, key); empty once every
        end is reached. A record without a value is returned too: a consumer parks it."""
        out: list[Record] = []
        while self._end and len(out) < size:
            polled = await self._consumer.getmany(timeout_ms=500, max_records=size - len(out))
            for tp, records in polled.items():
                end = self._end.get(tp)
                for record in records:
                    if end is None or record.offset >= end:
                        continue
                    out.append((record.value, record.headers, tp.topic, tp.partition, record.offset, record.key))
                    if record.offset >= end - 1:
                        self._end.pop(tp, None)
            for tp in list(self._end):
                if await self._consumer.position(tp) >= self._end[tp]:
                    self._end.pop(tp)
        return out


def event_type_of(headers: Sequence[tuple[str, bytes]]) -> str | None:
    """The event type a record's headers announce (the relay writes it first: shared.kafka)."""
    if headers and headers[0][0] == "event_type":
        return headers[0][1].decode()
    return next((value.decode() for key, value in headers if key == "event_type"), None)
