"""The public event contract for downstream consumers (DESIGN rules 2 and 6), generated from the
services' event models, never hand-written: one JSON Schema per published record
(`<service>/<EventType>.v<n>.schema.json`), an `index.json` listing them, and the AsyncAPI document
that FastStream generates for the four topics (`asyncapi.json`). Run `python -m docs_gen`.

A record is what the relay publishes: the envelope header fields plus `payload`, the event as it
was stored (in its schema version). Schemas are generated in pydantic's serialization mode, because
consumers read the JSON: a Decimal is a string ("12.50"), a tuple an array.

Every file is rendered deterministically (sorted keys, registry order), so regenerating an
unchanged contract gives no diff. Schemas of superseded versions (`v<n>` below the current one) are
never regenerated nor deleted: they stay, as they were generated, for the events already published."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Union, cast

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import create_model

from shared.events import DomainEvent, EnvelopeHeader, EventRegistry
from shared.personal import SEALED
from shared.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "events"
INDEX_FILE = "index.json"
ASYNCAPI_FILE = "asyncapi.json"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = re.compile(r"^(?P<event_type>[A-Za-z0-9]+)\.v(?P<version>[0-9]+)\.schema\.json$")
KAFKA_BINDING_VERSION = "0.4.0"  # the version FastStream 0.7 writes in its channel bindings

KEY = (
    "The envelope's candidate_id (UTF-8); the stream_id when the event concerns no candidate (a session"
    " calendar). A candidate's events therefore stay ordered within a topic; nothing is ordered across topics."
)
HEADERS: dict[str, str] = {
    "event_type": "The envelope's event_type.",
    "schema_version": "The envelope's schema_version, in decimal: the version of the payload as published.",
    "event_id": "The envelope's event_id.",
    "academy": "The envelope's academy.",
    "hash": (
        "Tamper evidence, hex: SHA-256 of the previous hash of the same stream (raw bytes, nothing for its first"
        " event) followed by this record's canonical JSON (sorted keys, no whitespace)."
    ),
    "traceparent": "W3C trace context of the relay's publishing span, when tracing is on.",
    "tracestate": "W3C trace state, when there is one.",
}
REQUIRED_HEADERS = ("event_type", "schema_version", "event_id", "academy", "hash")
ENVELOPE_FIELDS: dict[str, str] = {
    "event_id": "Unique id of the event. Delivery is at least once: consumers deduplicate on it.",
    "stream_id": "The aggregate stream the event belongs to.",
    "stream_version": "Position of the event in its stream: 1 for the first, no gaps.",
    "event_type": "The payload's type; type names never change.",
    "schema_version": "The payload's schema version: the payload is published as stored, in this version.",
    "occurred_at": "When it happened (UTC).",
    "recorded_at": "When the event store recorded it (UTC).",
    "academy": "The tenant: the académie the event belongs to.",
    "actor": 'Who caused it: "<role>:<account id>" for a person, "system:<component>" for a service.',
    "candidate_id": "The candidate concerned, if any: the Kafka key.",
    "correlation_id": "Shared by every event that one request caused, across services.",
    "causation_id": "The event that caused this one (for a reaction to another event), else null.",
    "trace_context": "W3C trace context (traceparent, tracestate) of the command that produced the event.",
    "payload": "The event itself, in the schema version above.",
}
OPEN_CONTENT = (
    "Consumers ignore fields they do not know: a producer may add a field within a schema version"
    " (docs/events/VERSIONING.md), so no object here forbids additional properties."
)


@dataclass(frozen=True)
class PublicEvent:
    """One event type as a downstream consumer sees it."""

    service: str
    topic: str
    model: type[DomainEvent]

    @property
    def event_type(self) -> str:
        return self.model.event_type

    @property
    def schema_version(self) -> int:
        return self.model.schema_version

    @property
    def path(self) -> str:
        """The schema file, relative to the output folder."""
        return f"{self.service}/{self.event_type}.v{self.schema_version}.schema.json"

    @property
    def schema_id(self) -> str:
        return f"urn:archipel:events:{self.service}:{self.event_type}:v{self.schema_version}"

    @property
    def description(self) -> str:
        doc = inspect.cleandoc(self.model.__doc__) if self.model.__doc__ else f"The {self.event_type} event."
        return (
            f"{doc}\n\nPublished by the {self.service} service on the Kafka topic {self.topic}: the envelope of the"
            f" event with its payload in schema version {self.schema_version}. {OPEN_CONTENT}"
        )

    @cached_property
    def record(self) -> type[EnvelopeHeader]:
        """The published record as a model: the envelope header with this type's payload."""
        literal = cast(Any, Literal)
        return create_model(
            f"{self.event_type}Record",
            __base__=EnvelopeHeader,
            __doc__=self.description,
            __module__=__name__,
            event_type=(literal[self.event_type], ...),
            schema_version=(literal[self.schema_version], ...),
            payload=(self.model, ...),
        )

    def record_schema(self, ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
        """The record's JSON Schema as the relay publishes it (serialization mode), open to additions."""
        schema = self.record.model_json_schema(mode="serialization", ref_template=ref_template)
        properties: dict[str, Any] = schema["properties"]
        undescribed = set(properties) - set(ENVELOPE_FIELDS)
        if undescribed:
            raise ValueError(f"envelope fields without a description in docs_gen: {sorted(undescribed)}")
        for name, prop in properties.items():
            prop["description"] = ENVELOPE_FIELDS[name]
        schema["title"] = f"{self.event_type} v{self.schema_version}"
        if self.model.personal:  # sealed at append (shared.personal): absent from the published payload
            payload = schema["$defs"][self.model.__name__]
            payload["required"] = [name for name in payload.get("required", []) if name not in self.model.personal]
            for name in self.model.personal:
                field = payload["properties"][name]
                field["description"] = (field.get("description", "") + f" {PERSONAL_FIELD}").strip()
            payload["properties"][SEALED] = SEALED_SCHEMA
        return cast(dict[str, Any], _open(schema))


PERSONAL_FIELD = (
    "Personal: published only inside `sealed` (issue 13 part 7); absent from the payload, it reads as its"
    " erased value once the candidate's key is destroyed."
)
SEALED_SCHEMA: dict[str, Any] = {
    "description": "The event's personal fields, encrypted with AES-256-GCM under the data key of the subject"
    " (the candidate): `v` 1, `s` the subject, `f` the sealed field names, `n` the nonce and `c` the ciphertext"
    " of their canonical JSON (base64); associated data: the subject and the event type.",
    "type": "object",
    "properties": {
        "v": {"type": "integer"},
        "s": {"type": "string"},
        "f": {"type": "array", "items": {"type": "string"}},
        "n": {"type": "string"},
        "c": {"type": "string"},
    },
    "required": ["v", "s", "f", "n", "c"],
}


def registry_of(service: str) -> EventRegistry | None:
    """The service's published registry (shared.contracts), or None for a service that publishes nothing."""
    module = f"shared.contracts.{service}"
    if importlib.util.find_spec(module) is None:
        return None
    registry = importlib.import_module(module).REGISTRY
    if not isinstance(registry, EventRegistry):
        raise TypeError(f"shared.contracts.{service}.REGISTRY is not an EventRegistry")
    return registry


def public_events() -> list[PublicEvent]:
    """Every event type every service publishes, by service (DESIGN order), then registry order."""
    settings = Settings.model_construct()  # the defaults: no environment is read
    events: list[PublicEvent] = []
    seen: dict[str, str] = {}
    for service in SERVICES:
        registry = registry_of(service)
        for event_type, model in registry.models.items() if registry else ():
            if event_type in seen:
                raise ValueError(f"{event_type} is published by both {seen[event_type]} and {service}")
            seen[event_type] = service
            events.append(PublicEvent(service, settings.topic(service), model))
    return events


def event_schema(event: PublicEvent) -> dict[str, Any]:
    """The content of `<service>/<EventType>.v<n>.schema.json`."""
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": event.schema_id,
        **event.record_schema(),
        "x-archipel-service": event.service,
        "x-archipel-topic": event.topic,
        "x-archipel-key": KEY,
        "x-archipel-headers": {
            name: {"description": text, "required": name in REQUIRED_HEADERS} for name, text in HEADERS.items()
        },
    }


def asyncapi(events: Iterable[PublicEvent]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document FastStream generates for a broker with one publisher per topic.

    FastStream renders models in pydantic's validation mode; its component schemas are replaced with
    the serialization-mode ones of the schema files (a Decimal is then a string, as on the wire), and
    each message gets what the relay really sends: its headers, its key and the correlation id's place."""
    by_topic: dict[str, list[PublicEvent]] = {}
    for event in events:
        by_topic.setdefault(event.topic, []).append(event)
    settings = Settings.model_construct()
    broker = KafkaBroker(
        f"127.0.0.1:{settings.kafka_port}",
        description="The embedded broker of `make run`; elsewhere, the cluster of KAFKA_BOOTSTRAP_SERVERS.",
    )
    for topic, members in by_topic.items():
        records = tuple(event.record for event in members)
        module = inspect.getmodule(members[0].model)
        summary = inspect.cleandoc(module.__doc__) if module and module.__doc__ else f"Events of {topic}."
        broker.publisher(
            topic,
            title=topic,
            description=f"{summary}\n\nKey: {KEY} Retention is unlimited: auditors replay from the beginning.",
            schema=Union[records],  # noqa: UP007 - a runtime union of classes
        )
    document: dict[str, Any] = (
        AsyncAPI(
            broker,
            title="Archipel public events",
            version=_project_version(),
            description=(
                "Domain events of the four Archipel services, one Kafka topic per service. Each message is a"
                " record: the envelope header and the event's payload as stored. JSON Schemas per event and"
                f" schema version are next to this file (index.json). {OPEN_CONTENT}"
            ),
            schema_version="3.0.0",
        )
        .to_specification()
        .to_jsonable()
    )
    _complete(document, by_topic)
    return document


def _complete(document: dict[str, Any], by_topic: Mapping[str, list[PublicEvent]]) -> None:
    schemas: dict[str, Any] = document["components"]["schemas"]
    ours: dict[str, Any] = {}
    for members in by_topic.values():
        for event in members:
            record = event.record_schema(ref_template="#/components/schemas/{model}")
            for name, definition in {**record.pop("$defs", {}), event.record.__name__: record}.items():
                if ours.setdefault(name, definition) != definition:
                    raise ValueError(f"two different models are named {name!r}: rename one")
    unions = {name for name in schemas if name.endswith(":Payload")}
    if set(schemas) - unions != set(ours):
        raise ValueError(f"FastStream's schemas differ from the models': {sorted(set(schemas) ^ set(ours))}")
    schemas.update(ours)
    headers = {
        "type": "object",
        "properties": {name: {"type": "string", "description": text} for name, text in HEADERS.items()},
        "required": list(REQUIRED_HEADERS),
    }
    for topic in by_topic:
        channel = document["channels"][topic]
        channel["bindings"]["kafka"]["topicConfiguration"] = {"retention.ms": -1, "retention.bytes": -1}
        for ref in channel["messages"].values():
            message = document["components"]["messages"][ref["$ref"].rsplit("/", 1)[-1]]
            message["correlationId"] = {
                "description": "The envelope's correlation_id (FastStream's correlation_id header is not sent).",
                "location": "$message.payload#/correlation_id",
            }
            message["headers"] = headers
            message["bindings"] = {
                "kafka": {"key": {"type": "string", "description": KEY}, "bindingVersion": KAFKA_BINDING_VERSION}
            }


def _open(node: Any) -> Any:
    """Drops `additionalProperties: false` everywhere: consumers tolerate added fields."""
    if isinstance(node, dict):
        return {key: _open(value) for key, value in node.items() if not (key == "additionalProperties" and not value)}
    if isinstance(node, list):
        return [_open(item) for item in node]
    return node


def _project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def render(value: Any) -> str:
    """The one text form of a generated file."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def superseded(out: Path, events: Iterable[PublicEvent]) -> list[str]:
    """Schema files already in `out` for older schema versions of current event types, kept forever."""
    found: list[str] = []
    for event in events:
        folder = out / event.service
        if not folder.is_dir():
            continue
        for file in sorted(folder.iterdir()):
            match = SCHEMA_FILE.match(file.name)
            if match and match["event_type"] == event.event_type and int(match["version"]) < event.schema_version:
                found.append(f"{event.service}/{file.name}")
    return found


def generate(out: Path | None = None) -> dict[str, str]:
    """Every generated file (relative path -> text). `out` is where the docs live: the superseded
    schemas found there are listed in the index."""
    events = public_events()
    files = {event.path: render(event_schema(event)) for event in events}
    index = {
        "asyncapi": ASYNCAPI_FILE,
        "versioning": "VERSIONING.md",
        "events": [
            {
                "service": event.service,
                "topic": event.topic,
                "event_type": event.event_type,
                "schema_version": event.schema_version,
                "schema": event.path,
                "id": event.schema_id,
            }
            for event in events
        ],
        "superseded": superseded(out, events) if out is not None else [],
        "generated_by": "python -m docs_gen (make docs); do not edit",
    }
    files[INDEX_FILE] = render(index)
    files[ASYNCAPI_FILE] = render(asyncapi(events))
    return files


def write(out: Path) -> list[str]:
    """Writes the generated files into `out`; returns those that changed."""
    changed = []
    for relative, text in generate(out).items():
        path = out / relative
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        changed.append(relative)
    return changed


def check(out: Path) -> list[str]:
    """What is out of date in `out`: generated files missing or different, and schema files that no
    current event type explains (neither generated nor a superseded version)."""
    expected = generate(out)
    problems = [
        f"{relative}: missing" if not (out / relative).is_file() else f"{relative}: out of date"
        for relative, text in expected.items()
        if not (out / relative).is_file() or (out / relative).read_text(encoding="utf-8") != text
    ]
    kept = set(expected) | set(superseded(out, public_events()))
    problems.extend(
        f"{relative}: not generated for any current event type"
        for relative in sorted(path.relative_to(out).as_posix() for path in out.glob("*/*.schema.json"))
        if relative not in kept
    )
    return problems


__all__ = [
    "ASYNCAPI_FILE",
    "DEFAULT_OUT",
    "INDEX_FILE",
    "PublicEvent",
    "asyncapi",
    "check",
    "event_schema",
    "generate",
    "public_events",
    "render",
    "superseded",
    "write",
]
