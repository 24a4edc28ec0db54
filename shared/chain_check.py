"""What a consumer checks before it believes a record (issue 13): the record must be the next link
of its stream's hash chain, as the consumer last saw that stream.

The chain is per stream (shared.eventstore.chain_hash, shared.audit.chain): version n's hash is
sha256(hash of version n-1 + the event's canonical JSON), from the empty genesis value b"" before
version 1. The relay publishes the canonical JSON itself as the record's value and the event's
hash in the `hash` header, so a consumer holding the hash of the last event it took of a stream
checks the link by recomputing it: sha256(last hash + value) must be the record's `hash`. That
covers the previous-hash link and the content at once, without any new field in the hashed JSON.

A consumer keeps, per stream, the version and hash of the last event it took (`Head`), whether it
applied that event or not (a read model that handles some event types of a stream must still
follow every link of it, or it would see gaps). A record is then:
- the next link (version last+1, hash recomputed): taken, and its head becomes the stream's;
- a redelivery (version at most last, and the same hash when it claims the last version): nothing;
- anything else (a jump, a gap, a broken link, another event claiming the last version): parked
  with the reason, never applied, and the head stays, so the stream's next genuine event follows.
Without a key, a chain proves order and integrity, not authorship: a writer who can read the
topic can compute the next link (the broker's ACLs are the guard against writers)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

GENESIS = b""


@dataclass(frozen=True)
class Head:
    """The last event a consumer took of a stream. `hash` is None for a head recorded before
    consumers kept hashes: the next link is then taken on its version alone."""

    version: int
    hash: bytes | None


START = Head(0, GENESIS)


@dataclass(frozen=True)
class Incoming:
    """A record as far as the chain is concerned: its stream, version, type and hash."""

    stream_id: str
    version: int
    event_type: str
    value: bytes
    hash: bytes


class Unreadable(ValueError):
    """A record that is not an event record (the reason says why)."""


class Taken(Enum):
    NEXT = "next"
    REDELIVERY = "redelivery"


def read_record(value: bytes | None, headers: Mapping[str, str]) -> Incoming:
    """The chain fields of a record; raises Unreadable for garbage or a record without a hash."""
    if not value:
        raise Unreadable("empty record")
    try:
        body = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        raise Unreadable("not JSON") from None
    if not isinstance(body, dict):
        raise Unreadable("not a JSON object")
    stream_id, version, event_type = body.get("stream_id"), body.get("stream_version"), body.get("event_type")
    if not isinstance(stream_id, str) or not stream_id:
        raise Unreadable("no stream_id")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise Unreadable("no valid stream_version")
    if not isinstance(event_type, str) or not event_type:
        raise Unreadable("no event_type")
    announced = headers.get("hash")
    if announced is None:
        raise Unreadable("no chain hash header")
    try:
        digest = bytes.fromhex(announced)
    except ValueError:
        raise Unreadable("the chain hash header is not hexadecimal") from None
    if len(digest) != hashlib.sha256().digest_size:
        raise Unreadable("the chain hash header is not a SHA-256 digest")
    return Incoming(stream_id, version, event_type, value, digest)


def judge(head: Head, record: Incoming) -> Taken | str:
    """Taken.NEXT, Taken.REDELIVERY, or the reason the record is parked."""
    if record.version <= head.version:
        if record.version == head.version and head.hash is not None and record.hash != head.hash:
            return f"claims version {record.version} of stream {record.stream_id}, taken with another hash"
        return Taken.REDELIVERY
    if record.version != head.version + 1:
        return (
            f"version {record.version} of stream {record.stream_id} does not follow version {head.version}"
            f" (expected {head.version + 1})"
        )
    if head.hash is not None and hashlib.sha256(head.hash + record.value).digest() != record.hash:
        return (
            f"version {record.version} of stream {record.stream_id} does not chain from version {head.version}:"
            " its hash is not sha256(previous hash + record)"
        )
    return Taken.NEXT


class LocalChain:
    """The records a relay publishes (value, headers with the chain hash) for events handed in
    each stream's order, chained here: for consumers fed in-process (tests, benchmarks). An event
    handed again gets the same hash (a redelivery); a version 1 starts its stream's chain again
    (a stream of the same name in another test)."""

    def __init__(self) -> None:
        self._last: dict[str, bytes] = {}
        self._hashes: dict[str, bytes] = {}

    def record(self, envelope: EnvelopeLike, value: bytes | None = None) -> tuple[bytes, dict[str, str]]:
        value = envelope.to_json() if value is None else value
        digest = self._hashes.get(str(envelope.event_id))
        if digest is None:
            previous = GENESIS if envelope.stream_version == 1 else self._last.get(envelope.stream_id, GENESIS)
            digest = hashlib.sha256(previous + value).digest()
            self._last[envelope.stream_id] = self._hashes[str(envelope.event_id)] = digest
        return value, {"event_type": envelope.event_type, "hash": digest.hex()}


class EnvelopeLike(Protocol):
    @property
    def event_id(self) -> object: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def stream_version(self) -> int: ...
    @property
    def event_type(self) -> str: ...
    def to_json(self) -> bytes: ...
