"""The check every consumer of events makes before it believes a record (issue 13): the live
runners (shared.projections), the intakes that turn a consumed event into a command (they run as
projections), the rebuilds and `audit replay` (shared.rebuild). Both steps decide, for one
projection, whether a record is applied, ignored, or parked (shared.dead_letter):

1. `read`: the record's chain fields (shared.chain_check); garbage, or a record without a chain
   hash, is parked as unreadable.
2. `take`: its place in its stream (shared.chain_check.judge) against the heads the caller holds,
   moved on by every next link, applied or not: a projection sees every event of the streams on
   its topics, those it does not handle included, so it never mistakes them for gaps. A next link
   is then applied if the projection handles its type and its payload reads as its model; else
   parked if no published contract knows its type or its payload does not read (its link was
   good, so the stream goes on past it), else ignored.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shared.chain_check import START, Head, Incoming, Taken, Unreadable, judge, read_record
from shared.dead_letter import Parked, Source
from shared.errors import InvalidEvent, UnknownEventType
from shared.events import Envelope, EventRegistry

if TYPE_CHECKING:
    from shared.projections import Projection

Consumed = tuple[bytes | None, Mapping[str, str], Source | None]  # value, headers, where it was read


@functools.cache
def published_types() -> frozenset[str]:
    """Every event type of the published contracts (shared.contracts): a type none of them
    knows is unknown to this version of the code."""
    contracts = importlib.import_module("shared.contracts")
    types: set[str] = set()
    for info in pkgutil.iter_modules(contracts.__path__):
        registry = getattr(importlib.import_module(f"shared.contracts.{info.name}"), "REGISTRY", None)
        if isinstance(registry, EventRegistry):
            types.update(registry.models)
    return frozenset(types)


class RecordCheck:
    def __init__(self, projection: Projection, registry: EventRegistry) -> None:
        self.projection = projection
        self.registry = registry

    def parked(self, value: bytes | None, headers: Mapping[str, str], source: Source | None, reason: str) -> Parked:
        return Parked(value or b"", dict(headers), source, self.projection.name, reason)

    def read(self, value: bytes | None, headers: Mapping[str, str], source: Source | None) -> Incoming | Parked:
        try:
            return read_record(value, headers)
        except Unreadable as error:
            return self.parked(value, headers, source, f"unreadable: {error}")

    def take(
        self, heads: dict[str, Head], record: Incoming, headers: Mapping[str, str], source: Source | None
    ) -> Envelope | Parked | None:
        """The envelope to apply, the record to park, or None (a redelivery, a type not handled);
        moves `heads` on when the record is its stream's next link."""
        handled = self.projection.handles(record.event_type)  # once per record (audit replay counts)
        verdict = judge(heads.get(record.stream_id, START), record)
        if verdict is Taken.REDELIVERY:
            return None
        if isinstance(verdict, str):
            return self.parked(record.value, headers, source, verdict)
        heads[record.stream_id] = Head(record.version, record.hash)
        known = record.event_type in self.registry.models or record.event_type in published_types()
        if not handled:
            return None if known else self.parked(record.value, headers, source, self._unknown(record))
        try:
            envelope = self.registry.decode_envelope(record.value, record.event_type)
        except UnknownEventType:
            return self.parked(record.value, headers, source, self._unknown(record))
        except InvalidEvent as error:
            return self.parked(record.value, headers, source, f"unreadable: {error}")
        return envelope

    @staticmethod
    def _unknown(record: Incoming) -> str:
        return f"unknown event type {record.event_type[:100]!r} (version {record.version} of {record.stream_id})"
