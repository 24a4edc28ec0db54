"""Kafka conventions (DESIGN rule 6): topic `archipel.<service>.events`, key = candidate id,
headers = event type, schema version, event id and trace context; acks=all, idempotent producer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.events import EnvelopeHeader

Headers = list[tuple[str, bytes]]


def producer_config(bootstrap_servers: str) -> dict[str, Any]:
    return {
        "bootstrap_servers": bootstrap_servers.split(","),
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "retries": 2**31 - 1,
        "linger_ms": 5,
        "compression_type": None,
    }


def headers_for(envelope: EnvelopeHeader, trace_context: Mapping[str, str]) -> Headers:
    headers: Headers = [
        ("event_type", envelope.event_type.encode()),
        ("schema_version", str(envelope.schema_version).encode()),
        ("event_id", str(envelope.event_id).encode()),
        ("academy", envelope.academy.encode()),
    ]
    headers.extend((key, value.encode()) for key, value in trace_context.items())
    return headers


def decode_headers(headers: Iterable[tuple[str, bytes | str | None]]) -> dict[str, str]:
    decoded: dict[str, str] = {}
    for key, value in headers:
        if value is None:
            continue
        # A hostile record's headers must not make it unreadable: bad bytes are replaced.
        decoded[key] = value.decode(errors="replace") if isinstance(value, bytes) else value
    return decoded
