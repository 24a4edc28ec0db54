"""The event contract (DESIGN rule 2): typed, frozen events inside an envelope, and the registry
that turns stored or received JSON back into models, upcasting older schema versions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from shared.errors import InvalidEvent, UnknownEventType
from shared.personal import KEYRING, SEALED, SealError

JsonDict = dict[str, Any]
Upcaster = Callable[[JsonDict], JsonDict]


class DomainEvent(BaseModel):
    """Base of every event: past tense, frozen, with a stable type name and a schema version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # Its personal fields, each with the value it reads as once its subject's key is destroyed:
    # the store seals them (shared.personal), the registry unseals them.
    personal: ClassVar[Mapping[str, Any]] = {}


class CommandContext(BaseModel):
    """Who did what, when, for whom: copied into the envelope of every event a command produces."""

    model_config = ConfigDict(frozen=True)

    academy: str
    actor: str
    occurred_at: datetime
    candidate_id: str | None = None
    correlation_id: UUID = Field(default_factory=uuid4)
    causation_id: UUID | None = None
    trace_context: dict[str, str] = Field(default_factory=dict)


def canonical_json(body: JsonDict) -> bytes:
    """The one serialisation of an event: what the relay publishes and what the hash chain covers."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


class EnvelopeHeader(BaseModel):
    """An event's metadata (everything but its payload)."""

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    academy: str
    actor: str
    candidate_id: str | None
    correlation_id: UUID
    causation_id: UUID | None
    trace_context: dict[str, str] = Field(default_factory=dict)

    @property
    def partition_key(self) -> str:
        """Kafka key: a candidate's events share it so they stay ordered (DESIGN rule 6)."""
        return self.candidate_id or self.stream_id


class Envelope(EnvelopeHeader):
    """A recorded event with its metadata; `payload` is the typed domain event."""

    payload: DomainEvent

    def __eq__(self, other: object) -> bool:
        """Envelopes are equal when their fields are, whichever subclass decoded them (the registry
        reads JSON with an envelope class typed for the event: EventRegistry.decode_envelope)."""
        if not isinstance(other, Envelope):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = EnvelopeHeader.__hash__

    def to_json(self) -> bytes:
        body = self.model_dump(mode="json", exclude={"payload"})
        body["payload"] = self.payload.model_dump(mode="json")
        return canonical_json(body)


class _TypedEnvelope(Envelope):
    """An envelope whose payload field is one event model (made by EventRegistry per type)."""

    current_version: ClassVar[int]


class StoredEnvelope(EnvelopeHeader):
    """An event exactly as stored: the payload is the JSON written at append time, in its original
    schema version (not upcast). The relay publishes this, so the hash chain can be checked on the
    topics too; consumers upcast when they decode."""

    payload: JsonDict

    def to_json(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))


class EventRegistry:
    """Maps type names to models; reads older schema versions through upcasters."""

    def __init__(self, models: Iterable[type[DomainEvent]] = ()) -> None:
        self._models: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._envelopes: dict[str, type[_TypedEnvelope]] = {}
        for model in models:
            self.register(model)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (into a rebuild process) without its typed envelopes: classes made at run time."""
        return {**self.__dict__, "_envelopes": {}}

    def register(self, model: type[DomainEvent]) -> None:
        known = self._models.get(model.event_type)
        if known is not None and known is not model:
            raise ValueError(f"event type {model.event_type!r} is registered twice")
        self._models[model.event_type] = model

    def register_upcaster(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """`upcaster` turns a payload of `from_version` into one of `from_version + 1`."""
        self._upcasters[(event_type, from_version)] = upcaster

    def merged(self, other: EventRegistry) -> EventRegistry:
        merged = EventRegistry([*self._models.values(), *other._models.values()])
        merged._upcasters = {**self._upcasters, **other._upcasters}
        return merged

    def _typed_envelope(self, event_type: str) -> type[_TypedEnvelope]:
        typed = self._envelopes.get(event_type)
        if typed is None:
            model = self._models[event_type]
            typed = create_model(f"{model.__name__}Envelope", __base__=_TypedEnvelope, payload=(model, ...))
            typed.current_version = model.schema_version
            self._envelopes[event_type] = typed
        return typed

    @property
    def models(self) -> dict[str, type[DomainEvent]]:
        return dict(self._models)

    def model_for(self, event_type: str) -> type[DomainEvent]:
        try:
            return self._models[event_type]
        except KeyError:
            raise UnknownEventType(f"unknown event type {event_type!r}") from None

    def decode(self, event_type: str, schema_version: int, payload: JsonDict) -> DomainEvent:
        model = self.model_for(event_type)
        if schema_version > model.schema_version:
            raise InvalidEvent(
                f"{event_type} has schema version {schema_version}, newer than the known {model.schema_version}"
            )
        if SEALED in payload:  # personal fields sealed at append (shared.personal): opened first
            try:
                payload = KEYRING.unseal(event_type, payload, model.personal)
            except SealError as error:
                raise InvalidEvent(str(error)) from None
        version = schema_version
        while version < model.schema_version:
            upcaster = self._upcasters.get((event_type, version))
            if upcaster is None:
                raise InvalidEvent(f"no upcaster for {event_type} from schema version {version}")
            payload = upcaster(payload)
            version += 1
        try:
            return model.model_validate(payload)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "payload"
            raise InvalidEvent(f"invalid {event_type} payload: {field}: {first['msg']}") from None

    def decode_envelope(self, raw: bytes | str | JsonDict, event_type: str | None = None) -> Envelope:
        """Reads an envelope as the relay publishes it (JSON). Given the `event_type` the record's
        headers announce, JSON in the current schema version is parsed and validated in one pass
        by an envelope class typed for that event (about twice as fast, which rebuilds feel);
        anything else, an error included, takes the general path below."""
        sealed = '"sealed"' in raw if isinstance(raw, str) else isinstance(raw, bytes) and b'"sealed"' in raw
        if event_type is not None and isinstance(raw, bytes | str) and event_type in self._models and not sealed:
            typed = self._typed_envelope(event_type)
            try:
                envelope = typed.model_validate_json(raw)
            except ValidationError:
                pass  # the general path says what is wrong
            else:
                if envelope.event_type == event_type and envelope.schema_version == typed.current_version:
                    return envelope
        try:
            body: JsonDict = json.loads(raw) if isinstance(raw, bytes | str) else dict(raw)
        except ValueError as error:
            raise InvalidEvent(f"event is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise InvalidEvent("event is not a JSON object")
        try:
            try:
                version = int(body["schema_version"])
            except (TypeError, ValueError):
                raise InvalidEvent(f"schema_version is not an integer: {body['schema_version']!r}") from None
            payload = self.decode(str(body["event_type"]), version, body["payload"])
            return Envelope.model_validate({**body, "payload": payload})
        except KeyError as error:
            raise InvalidEvent(f"event lacks the field {error.args[0]!r}") from None
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise InvalidEvent(f"invalid envelope: {field}: {first['msg']}") from None
