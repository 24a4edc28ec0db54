"""Personal data sealed per subject (issue 13 part 7, crypto-shredding).

An event model names its personal fields once, with the value each reads as once erased
(`DomainEvent.personal`, e.g. AccountCreated's names, birth date and email, HandicapDeclared's
answers). When the store appends such an event, those fields leave the clear payload and are
written as ONE AES-GCM ciphertext under the data key of the event's subject (its candidate, else its
stream), so the stored payload, which the hash chain covers and the relay publishes, holds:

    {..., "sealed": {"v": 1, "s": <subject>, "f": [<field names>], "n": <nonce>, "c": <ciphertext>}}

The associated data binds the ciphertext to its subject and event type. Data keys live in the key
store (shared.keystore); destroying one (`archipel privacy forget`) erases the subject's personal
data in every event at once, the chains untouched.

Reading is synchronous (EventRegistry.decode), key lookups are not: the few read paths (the store's
reads, the consumers' batches, rebuilds and replays) call `prepare` with their batch's sealed
subjects first; `KEYRING` then answers `unseal` from memory. A subject whose key is destroyed or
absent reads as its fields' erased values, deterministically, so that live and replayed read models
agree. Each `prepare` asks the key store again, so a key destroyed elsewhere is forgotten by the next
batch."""

from __future__ import annotations

import base64
import json
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = "sealed"
_VERSION = 1
_CACHE = 50_000  # subjects remembered between batches (keys are 32 bytes)


class KeyNotLoaded(RuntimeError):
    """A sealed event was decoded on a path that did not `prepare` its subject: a bug, not bad
    data (so it is never parked as an unreadable record)."""


class SealError(ValueError):
    """A sealed payload that does not open: malformed, tampered with, or not its subject's."""


class KeySource(Protocol):
    """Where `prepare` gets keys: the key store (shared.keystore.KeyStore)."""

    async def read_keys(self, executor: Any, subjects: list[str]) -> dict[str, bytes | None]: ...


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _aad(subject: str, event_type: str) -> bytes:
    return f"archipel-sealed:{subject}\x00{event_type}".encode()


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def seal(
    event_type: str, payload: Mapping[str, Any], personal: Mapping[str, Any], subject: str, key: bytes | None
) -> dict[str, Any]:
    """`payload` (JSON) with its personal fields sealed under `key`; with no key (destroyed), those
    fields are written as their erased values and nothing else of them is kept."""
    names = sorted(name for name in personal if name in payload)
    rest = {name: value for name, value in payload.items() if name not in personal}
    if not names:
        return rest
    if key is None:
        return {**rest, **{name: personal[name] for name in names}}
    nonce = os.urandom(12)
    clear = _canonical({name: payload[name] for name in names})
    ciphertext = AESGCM(key).encrypt(nonce, clear, _aad(subject, event_type))
    return {**rest, SEALED: {"v": _VERSION, "s": subject, "f": names, "n": _b64(nonce), "c": _b64(ciphertext)}}


def sealed_subject(payload: object) -> str | None:
    """The subject of a sealed payload, None when it is not sealed (or not an object)."""
    if isinstance(payload, dict) and isinstance(blob := payload.get(SEALED), dict):
        subject = blob.get("s")
        return subject if isinstance(subject, str) else None
    return None


def subjects_in(values: Iterable[bytes | str | None]) -> set[str]:
    """The sealed subjects of events given as JSON (a topic's records, whole envelopes) or as
    payloads (the store's rows); only the values that mention a seal are parsed."""
    found: set[str] = set()
    for value in values:
        if not value or ('"sealed"' not in value if isinstance(value, str) else b'"sealed"' not in value):
            continue
        try:
            body = json.loads(value)
        except ValueError:
            continue  # the consumer's check says what is wrong with it
        if not isinstance(body, dict):
            continue
        subject = sealed_subject(body.get("payload", body))
        if subject is not None:
            found.add(subject)
    return found


class KeyRing:
    """The data keys this process has read, by subject (None: destroyed or absent)."""

    def __init__(self) -> None:
        self._keys: OrderedDict[str, bytes | None] = OrderedDict()
        self.source: KeySource | None = None  # set by the process (shared.keystore.install)

    def remember(self, subject: str, key: bytes | None) -> None:
        self._keys[subject] = key
        self._keys.move_to_end(subject)
        while len(self._keys) > _CACHE:
            self._keys.popitem(last=False)

    def known(self, subject: str) -> bytes | None:
        """The key this process holds for `subject` (None: none, or destroyed)."""
        return self._keys.get(subject)

    def forget(self, subject: str) -> None:
        self.remember(subject, None)

    async def prepare(self, executor: Any, subjects: Iterable[str]) -> None:
        """Reads (again) the keys of `subjects` before a batch that holds their sealed events."""
        wanted = sorted(set(subjects))
        if not wanted:
            return
        if self.source is None:
            from shared.keystore import default_source  # noqa: PLC0415 (configured on first use)

            self.source = default_source()
        for subject, key in (await self.source.read_keys(executor, wanted)).items():
            self.remember(subject, key)

    def unseal(self, event_type: str, payload: Mapping[str, Any], personal: Mapping[str, Any]) -> dict[str, Any]:
        """The clear payload of a sealed one: its fields decrypted, or their erased values."""
        blob = payload[SEALED]
        rest = {name: value for name, value in payload.items() if name != SEALED}
        try:
            subject, names = blob["s"], blob["f"]
            if blob["v"] != _VERSION or not isinstance(subject, str) or not isinstance(names, list):
                raise SealError("unknown seal")
            if subject not in self._keys:
                raise KeyNotLoaded(f"the key of {subject[:80]!r} was not prepared before decoding {event_type}")
            key = self._keys[subject]
            if key is None:
                return {**rest, **{str(name): personal.get(str(name)) for name in names}}
            clear = AESGCM(key).decrypt(
                base64.b64decode(blob["n"], validate=True),
                base64.b64decode(blob["c"], validate=True),
                _aad(subject, event_type),
            )
        except (KeyError, TypeError, ValueError, InvalidTag):
            raise SealError(f"sealed personal data of {event_type} does not open (tampered or misplaced)") from None
        opened = json.loads(clear)
        if not isinstance(opened, dict) or sorted(opened) != sorted(names):
            raise SealError(f"sealed personal data of {event_type} does not name its fields")
        return {**rest, **opened}


KEYRING = KeyRing()
"""The process's key ring: the registry unseals with it (shared.events.EventRegistry.decode)."""
