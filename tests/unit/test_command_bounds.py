"""Bounded input everywhere (issue 13): every string, list and mapping of every command model has a
maximum, declared with the model, so that a 2 MB string or 5,000 items are refused with a
ValidationError naming the field (INVALID_ARGUMENT at the gRPC edge) and never reach an event.

The models are discovered, not listed: every command of every service's declaration
(services/<svc>/service.py SERVICE.commands) and every model they carry (a registration command
inside OnRegistration, a schedule entry, a required document...). A field added without a bound
makes this test fail."""

from __future__ import annotations

import importlib
import itertools
import string
import types
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from services.registration.commands import SetCalendar
from shared.names import SERVICES

HUGE = "a" * (2 * 1024 * 1024)
MANY = 5_000

# A valid item of each model that commands carry in lists: 5,000 valid items must be refused for
# their number (invalid items would be refused one by one, proving nothing about the bound).
ITEM_SAMPLES: dict[str, dict[str, Any]] = {
    "EntryInput": {"unit": "U1", "starts_at": "2026-05-12T09:00", "duration_minutes": 60, "place": "Lycée"},
    "RequirementInput": {"kind": "identity", "label": "Pièce d'identité", "rule": "R-19"},
    "CarriedInput": {"unit": "U1", "grade": "12.00", "session_obtained": 2024},
}
SCALAR_SAMPLES: tuple[object, ...] = ("U1", "identity", "a", "12.00")


def command_models() -> list[type[BaseModel]]:
    """The command types of every service's declaration."""
    found: list[type[BaseModel]] = []
    for name in SERVICES:
        service = importlib.import_module(f"services.{name}.service").SERVICE
        found.extend(spec.command for spec in service.commands)
    return found


@dataclass(frozen=True)
class Shape:
    kind: str  # "str", "sequence", "mapping", "model", "other"
    tp: Any
    item: Any = None  # a sequence's item type, a mapping's value type
    key: Any = None  # a mapping's key type


def shapes(tp: Any) -> Iterator[Shape]:
    origin = get_origin(tp)
    if origin is Annotated:
        yield from shapes(get_args(tp)[0])
    elif origin is Union or isinstance(tp, types.UnionType):
        for member in get_args(tp):
            if member is not type(None):
                yield from shapes(member)
    elif origin in (tuple, list, set, frozenset):
        yield Shape("sequence", tp, item=get_args(tp)[0])
    elif origin is dict:
        key, value = get_args(tp)
        yield Shape("mapping", tp, item=value, key=key)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        yield Shape("model", tp)
    elif isinstance(tp, type) and issubclass(tp, Enum):
        yield Shape("other", tp)  # a closed set of short values
    elif tp is SecretStr or (isinstance(tp, type) and issubclass(tp, str)):
        yield Shape("str", tp)
    else:
        yield Shape("other", tp)


def nested_models(tp: Any) -> Iterator[type[BaseModel]]:
    for shape in shapes(tp):
        if shape.kind == "model":
            yield shape.tp
        elif shape.kind in ("sequence", "mapping"):
            yield from nested_models(shape.item)
            if shape.key is not None:
                yield from nested_models(shape.key)


def reachable(models: list[type[BaseModel]]) -> list[type[BaseModel]]:
    """The models and every model their fields carry, each once."""
    seen: dict[type[BaseModel], None] = {}
    todo = list(models)
    while todo:
        model = todo.pop(0)
        if model in seen:
            continue
        seen[model] = None
        for field in model.model_fields.values():
            todo.extend(nested_models(field.annotation))
    return list(seen)


def refusals(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    try:
        model.model_validate(data)
    except ValidationError as error:
        return [(tuple(e["loc"]), e["type"]) for e in error.errors()]
    return []


def sample_of(tp: Any) -> object:
    """A valid value of an item type (a model's sample, or the first scalar sample that fits)."""
    for shape in shapes(tp):
        if shape.kind == "model":
            if shape.tp.__name__ not in ITEM_SAMPLES:
                raise LookupError(f"add a valid sample of {shape.tp.__name__} to ITEM_SAMPLES")
            return ITEM_SAMPLES[shape.tp.__name__]
    adapter: TypeAdapter[Any] = TypeAdapter(tp)
    for candidate in SCALAR_SAMPLES:
        try:
            adapter.validate_python(candidate)
        except ValidationError:
            continue
        return candidate
    raise LookupError(f"add a valid sample of {tp} to SCALAR_SAMPLES")


def distinct_keys(tp: Any) -> list[str]:
    """MANY distinct valid keys of a mapping (unit codes such as "AB1")."""
    adapter: TypeAdapter[Any] = TypeAdapter(tp)
    letters = string.ascii_uppercase
    keys = [f"{a}{b}{n}" for a, b, n in itertools.product(letters, letters, range(10))][:MANY]
    adapter.validate_python(keys[0])
    return keys


def problems(model: type[BaseModel]) -> list[str]:
    """What is unbounded in `model`: each field named with what got through."""
    found: list[str] = []

    def refused(where: str, data: dict[str, Any], loc: tuple[Any, ...], kinds: set[str]) -> None:
        if not any(at[: len(loc)] == loc and kind in kinds for at, kind in refusals(model, data)):
            found.append(f"{model.__name__}.{where}")

    for name, field in model.model_fields.items():
        for shape in shapes(field.annotation):
            if shape.kind == "str":
                refused(f"{name} (2 MB string)", {name: HUGE}, (name,), {"string_too_long", "too_long"})
            elif shape.kind == "sequence":
                refused(f"{name} ({MANY:,} items)", {name: [sample_of(shape.item)] * MANY}, (name,), {"too_long"})
                if any(s.kind == "str" for s in shapes(shape.item)):
                    refused(f"{name}[0] (2 MB string)", {name: [HUGE]}, (name, 0), {"string_too_long"})
            elif shape.kind == "mapping":
                value = sample_of(shape.item)
                many = dict.fromkeys(distinct_keys(shape.key), value)
                refused(f"{name} ({MANY:,} entries)", {name: many}, (name,), {"too_long"})
                refused(f"{name} key (2 MB string)", {name: {HUGE: value}}, (name, HUGE), {"string_too_long"})
    return found


ALL_MODELS = reachable(command_models())


def test_the_walk_finds_every_service_command_and_what_it_carries() -> None:
    names = {model.__name__ for model in ALL_MODELS}
    expected = {
        "CreateAccount",  # accounts
        "OnRegistration",  # registration, carrying a RegistrationKey and each registration command
        "RegistrationKey",
        "SetNotRegistered",
        "SetCalendar",
        "SeedCalendar",
        "SeededCalendar",
        "PublishSchedule",
        "EntryInput",
        "RecordRequirements",  # documents
        "RequirementInput",
        "RegisterUpload",
        "DeclareIncomplete",
        "NoteRegistration",  # results
        "CarriedInput",
        "RecordControle",
    }
    assert expected <= names, expected - names


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda model: model.__name__)
def test_every_string_and_list_of_every_command_is_bounded(model: type[BaseModel]) -> None:
    assert problems(model) == [], "unbounded: declare a maximum with the model (issue 13)"


def test_the_walk_reports_an_unbounded_field() -> None:
    """The check itself can fail: a model with unbounded fields is reported field by field."""

    class Unbounded(BaseModel):
        reason: str
        units: tuple[str, ...]
        grades: dict[str, str]
        secret: SecretStr | None = None

    assert problems(Unbounded) == [
        "Unbounded.reason (2 MB string)",
        "Unbounded.units (5,000 items)",
        "Unbounded.units[0] (2 MB string)",
        "Unbounded.grades (5,000 entries)",
        "Unbounded.grades key (2 MB string)",
        "Unbounded.secret (2 MB string)",
    ]


def test_a_refusal_names_the_field_and_not_the_value() -> None:
    """What the gRPC edge answers (shared.rpc maps the first error to INVALID_ARGUMENT "field: rule")."""
    with pytest.raises(ValidationError) as caught:
        SetCalendar(
            academy="lyon", session=2026, opens="2025-10-01T08:00", closes="2025-11-01T17:00", reason=HUGE, source="x"
        )
    [error] = caught.value.errors()
    assert error["loc"] == ("reason",) and "1000" in error["msg"] and HUGE not in error["msg"]
