"""What the event store writes of an envelope (issue 13 part 7): its canonical JSON with the
personal fields of its payload sealed under its subject's data key (shared.personal)."""

from __future__ import annotations

from typing import Any

from shared.events import Envelope, canonical_json
from shared.personal import seal


def subject_of(envelope: Envelope) -> str:
    """Whose data key seals an event's personal fields: its candidate's, else its stream's."""
    return envelope.candidate_id or envelope.stream_id


def stored_json(envelope: Envelope, keys: dict[str, bytes | None]) -> bytes:
    """The canonical JSON the store writes: personal fields sealed when their subject's key is in
    `keys` (a destroyed key: written as their erased values), else as they are."""
    personal = envelope.payload.personal
    subject = subject_of(envelope)
    if not personal or subject not in keys:
        return envelope.to_json()
    body: dict[str, Any] = envelope.model_dump(mode="json", exclude={"payload"})
    payload = envelope.payload.model_dump(mode="json")
    body["payload"] = seal(envelope.event_type, payload, personal, subject, keys[subject])
    return canonical_json(body)
