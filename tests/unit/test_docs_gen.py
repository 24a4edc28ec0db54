"""The published event contract (docs/events, `make docs`): one JSON Schema per registered event that
accepts the records the relay really publishes, an AsyncAPI document naming the four topics, and
committed docs that match what the generator produces."""

from __future__ import annotations

import json
import shutil
import types
import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import pytest
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from pydantic import BaseModel

import docs_gen
from docs_gen.__main__ import main
from shared.events import DomainEvent, StoredEnvelope
from shared.settings import SERVICES

EVENTS = docs_gen.public_events()
COMMITTED = docs_gen.DEFAULT_OUT
NAMESPACE = UUID("6f1c2a34-0000-4000-8000-000000000000")


def sample(annotation: Any, name: str) -> Any:
    """A plausible value of `annotation`; optional values are filled so that nested schemas are exercised."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return sample(next(arg for arg in typing.get_args(annotation) if arg is not type(None)), name)
    if origin is tuple:
        return (sample(typing.get_args(annotation)[0], name),)
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return annotation.model_validate(
                {field: sample(info.annotation, field) for field, info in annotation.model_fields.items()}
            )
        if issubclass(annotation, Enum):
            return next(iter(annotation))
        simple: dict[type, Any] = {
            bool: True,
            int: 2026,
            str: f"{name}-value",
            Decimal: Decimal("12.50"),
            UUID: uuid5(NAMESPACE, name),
            datetime: datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
            date: date(2004, 5, 17),
        }
        for kind, value in simple.items():
            if issubclass(annotation, kind):
                return value
    raise AssertionError(f"no sample for {annotation!r} ({name})")


def published_record(event: DomainEvent) -> dict[str, Any]:
    """The JSON the relay publishes for `event`: a StoredEnvelope with the payload as stored."""
    stored = StoredEnvelope(
        event_id=uuid5(NAMESPACE, f"event-{event.event_type}"),
        stream_id=f"candidate-{uuid5(NAMESPACE, 'candidate')}",
        stream_version=3,
        event_type=event.event_type,
        schema_version=event.schema_version,
        occurred_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        recorded_at=datetime(2026, 3, 2, 9, 30, 1, tzinfo=UTC),
        academy="versailles",
        actor="candidate:0b4f",
        candidate_id=str(uuid5(NAMESPACE, "candidate")),
        correlation_id=uuid5(NAMESPACE, "correlation"),
        causation_id=None,
        trace_context={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
        payload=event.model_dump(mode="json"),
    )
    body: dict[str, Any] = json.loads(stored.to_json())
    return body


def validator(event: docs_gen.PublicEvent) -> Draft202012Validator:
    schema = json.loads((COMMITTED / event.path).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def ids(event: docs_gen.PublicEvent) -> str:
    return f"{event.service}.{event.event_type}"


PUBLISHERS = ("accounts", "registration", "documents", "results")


def test_the_four_publishing_services_are_documented() -> None:
    assert set(PUBLISHERS) <= {event.service for event in EVENTS} <= set(SERVICES)


@pytest.mark.parametrize("event", EVENTS, ids=ids)
def test_every_registered_event_has_a_committed_schema(event: docs_gen.PublicEvent) -> None:
    assert (COMMITTED / event.path).is_file(), f"run `make docs`: {event.path} is missing"
    schema = json.loads((COMMITTED / event.path).read_text(encoding="utf-8"))
    assert schema["$id"] == event.schema_id
    assert schema["x-archipel-topic"] == f"archipel.{event.service}.events"
    assert {"event_type", "schema_version", "event_id", "hash"} <= set(schema["x-archipel-headers"])
    assert schema["properties"]["event_type"]["const"] == event.event_type
    assert schema["properties"]["schema_version"]["const"] == event.schema_version


@pytest.mark.parametrize("event", EVENTS, ids=ids)
def test_the_schema_accepts_a_published_record(event: docs_gen.PublicEvent) -> None:
    payload = sample(event.model, event.event_type)
    validator(event).validate(published_record(payload))


@pytest.mark.parametrize("event", EVENTS, ids=ids)
def test_the_schema_tolerates_added_fields_and_rejects_broken_records(event: docs_gen.PublicEvent) -> None:
    check = validator(event)
    record = published_record(sample(event.model, event.event_type))
    check.validate({**record, "added_later": 1, "payload": {**record["payload"], "added_later": "x"}})
    with pytest.raises(ValidationError):
        check.validate({**record, "event_type": "SomethingElse"})
    with pytest.raises(ValidationError):
        check.validate({key: value for key, value in record.items() if key != "event_id"})
    schema = check.schema
    assert isinstance(schema, Mapping)
    required = schema["$defs"][event.event_type].get("required", [])
    if required:
        payload = {key: value for key, value in record["payload"].items() if key != required[0]}
        with pytest.raises(ValidationError):
            check.validate({**record, "payload": payload})


def test_decimals_are_published_as_strings() -> None:
    grades = next(event for event in EVENTS if event.event_type == "GradesRecorded")
    schema = json.loads((COMMITTED / grades.path).read_text(encoding="utf-8"))
    assert schema["$defs"]["GradesRecorded"]["properties"]["grade"]["type"] == "string"


def test_the_asyncapi_document_names_the_four_topics() -> None:
    document = json.loads((COMMITTED / docs_gen.ASYNCAPI_FILE).read_text(encoding="utf-8"))
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {f"archipel.{service}.events" for service in PUBLISHERS} <= addresses
    assert addresses == {event.topic for event in EVENTS}
    assert document["asyncapi"].startswith("3.")
    schemas = document["components"]["schemas"]
    for event in EVENTS:
        assert schemas[f"{event.event_type}Record"]["properties"]["event_type"]["const"] == event.event_type
    for message in document["components"]["messages"].values():
        assert set(docs_gen.REQUIRED_HEADERS) <= set(message["headers"]["properties"])
        assert message["bindings"]["kafka"]["key"]["type"] == "string"


def test_the_index_lists_every_schema() -> None:
    index = json.loads((COMMITTED / docs_gen.INDEX_FILE).read_text(encoding="utf-8"))
    assert [entry["schema"] for entry in index["events"]] == [event.path for event in EVENTS]


def test_the_committed_docs_are_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(COMMITTED, tmp_path, dirs_exist_ok=True)  # as `make docs` runs: the superseded schemas are there
    assert main(["--out", str(tmp_path)]) == 0
    generated = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file())
    stale = [
        relative
        for relative in generated
        if not (COMMITTED / relative).is_file()
        or (COMMITTED / relative).read_bytes() != (tmp_path / relative).read_bytes()
    ]
    assert not stale, f"docs/events is out of date, run `make docs`: {stale}"
    assert docs_gen.check(COMMITTED) == []
    assert main(["--out", str(tmp_path), "--check"]) == 0
    assert main(["--out", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_reports_changed_and_unexplained_files(tmp_path: Path) -> None:
    docs_gen.write(tmp_path)
    first = EVENTS[0]
    (tmp_path / first.path).write_text("{}\n", encoding="utf-8")
    (tmp_path / first.service / "Renamed.v1.schema.json").write_text("{}\n", encoding="utf-8")
    older = tmp_path / first.service / f"{first.event_type}.v0.schema.json"
    older.write_text("{}\n", encoding="utf-8")  # stands for a superseded version: kept, listed in the index
    assert docs_gen.check(tmp_path) == [
        f"{first.path}: out of date",
        f"{docs_gen.INDEX_FILE}: out of date",
        f"{first.service}/Renamed.v1.schema.json: not generated for any current event type",
    ]
    assert main(["--out", str(tmp_path), "--check"]) == 1
    docs_gen.write(tmp_path)
    index = json.loads((tmp_path / docs_gen.INDEX_FILE).read_text(encoding="utf-8"))
    assert index["superseded"] == [f"{first.service}/{first.event_type}.v0.schema.json"]
    assert older.read_text(encoding="utf-8") == "{}\n"
