"""The exam regulations the results service deliberates on (R-13, R-17, R-29, R-32): units, coefficients,
domains and optional units per specialty and session.

The data is the service's OWN copy, `data/regulations.yaml` beside this module: it mirrors the
registration service's file, because a service never imports another service nor reads its data
(DESIGN, "Layout"). Nothing is read at import time: `load_regulations()` reads and validates the file
(cached); a broken file fails with a `RegulationError` naming the file and the field.
`regulation_for(specialty, session)` picks the regulation with the latest first_session <= session.

The same `Regulation` model also validates a regulation given inline to `archipel deliberate`
(only `units` is required there; the catalogue's metadata is optional)."""

from __future__ import annotations

import functools
from collections.abc import Hashable
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from shared.errors import InvalidInput

DATA_DIR = Path(__file__).resolve().parent / "data"
REGULATIONS_FILE = "regulations.yaml"


class Domain(StrEnum):
    GENERAL = "general"
    PROFESSIONAL = "professional"


class Provenance(StrEnum):
    OFFICIAL = "official"
    SECONDARY = "secondary"
    UNVERIFIED = "unverified"


class RegulationError(ValueError):
    """The regulation data file is missing or broken; the message names the file and the field."""


def exact_number(value: object) -> object:
    """A JSON/YAML number as an exact Decimal: ints and Decimals as they are, floats through their
    shortest repr (never their binary value); booleans, strings, NaN and infinities are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError("must be a finite number")
    return number


Number = Annotated[Decimal, BeforeValidator(exact_number)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(_Frozen):
    """A compulsory unit; `domain` decides the professional average and the contrôle (R-29, R-30)."""

    code: str = Field(min_length=1)
    title: str = ""
    coefficient: Number = Field(gt=0)
    domain: Domain
    test: str | None = None
    form: str | None = None
    source: Provenance | None = None


class OptionalUnit(_Frozen):
    """An optional unit (épreuve facultative): only the part of its grade above 10 counts (R-13)."""

    code: str = Field(min_length=1)
    title: str = ""
    coefficient: Number = Field(gt=0)
    test: str | None = None
    form: str | None = None
    source: Provenance | None = None


class Regulation(_Frozen):
    """The règlement d'examen of one specialty, applicable from `first_session` until a later one.
    Given inline, only `units` (and `optional_units`) matter."""

    specialty: str | None = None
    title: str = ""
    text: str = ""
    first_session: int | None = Field(default=None, ge=1900, le=2999)
    units: tuple[Unit, ...] = Field(min_length=1)
    optional_units: tuple[OptionalUnit, ...] = ()

    @field_validator("units")
    @classmethod
    def _unique_units(cls, units: tuple[Unit, ...]) -> tuple[Unit, ...]:
        codes = [u.code for u in units]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"unit codes must be unique within a regulation: {', '.join(duplicates)} twice")
        return units

    @field_validator("optional_units")
    @classmethod
    def _unique_optional_units(
        cls, optional: tuple[OptionalUnit, ...], info: ValidationInfo
    ) -> tuple[OptionalUnit, ...]:
        codes = [u.code for u in optional] + [u.code for u in info.data.get("units", ())]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"unit codes must be unique within a regulation: {', '.join(duplicates)} twice")
        return optional

    def unit(self, code: str) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

    def optional_unit(self, code: str) -> OptionalUnit | None:
        return next((u for u in self.optional_units if u.code == code), None)


# --- loading -------------------------------------------------------------------------------------


class _YamlLoader(yaml.SafeLoader):
    """Safe YAML where floats are Decimals (coefficients) and a repeated key is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | float:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return loader.construct_yaml_float(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:float", _decimal)

M = TypeVar("M", bound=BaseModel)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=_YamlLoader)
    except OSError as exc:
        raise RegulationError(f"{path}: cannot read the file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise RegulationError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise RegulationError(f"{path}: expected a mapping at the top level, found {type(document).__name__}")
    return document


def _validate(model: type[M], data: object, path: Path, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(part) for part in error["loc"])
        field = f"{where}.{loc}".strip(".") or "top level"
        raise RegulationError(f"{path}: {field}: {error['msg']}") from None


class _Document(_Frozen):
    specialties: dict[str, Any] = Field(min_length=1)


class _Entry(_Frozen):
    """One regulation as written: either complete, or `same_as` another specialty plus overrides.
    `requires_r408`, `languages` and `languages_source` are the registration service's concern: accepted
    so the file stays a verbatim mirror, then ignored."""

    title: str
    text: str
    first_session: int
    requires_r408: bool | None = None
    languages: tuple[str, ...] | None = None
    languages_source: Provenance | None = None
    units: tuple[Unit, ...] | None = None
    optional_units: tuple[OptionalUnit, ...] | None = None
    same_as: str | None = None
    override_units: tuple[Unit, ...] = ()


def _regulations(specialties: dict[str, Any], path: Path) -> tuple[Regulation, ...]:
    entries: dict[tuple[str, int], tuple[str, _Entry]] = {}
    for specialty, value in specialties.items():
        items = value if isinstance(value, list) else [value]
        for index, raw in enumerate(items):
            where = f"specialties.{specialty}" + (f"[{index}]" if isinstance(value, list) else "")
            entry = _validate(_Entry, raw, path, where)
            if (specialty, entry.first_session) in entries:
                raise RegulationError(
                    f"{path}: {where}.first_session: a regulation of {specialty} already applies from "
                    f"session {entry.first_session}"
                )
            entries[(specialty, entry.first_session)] = (where, entry)

    resolved: dict[tuple[str, int], Regulation] = {}

    def resolve(key: tuple[str, int], chain: tuple[tuple[str, int], ...]) -> Regulation:
        if key in resolved:
            return resolved[key]
        where, entry = entries[key]
        units: tuple[Unit, ...] | None = entry.units
        optional: tuple[OptionalUnit, ...] | None = entry.optional_units
        if entry.same_as is not None:
            base_key = (entry.same_as, entry.first_session)
            if base_key not in entries:
                raise RegulationError(
                    f"{path}: {where}.same_as: no regulation of {entry.same_as} applies from session "
                    f"{entry.first_session}"
                )
            if base_key in chain or base_key == key:
                raise RegulationError(f"{path}: {where}.same_as: circular same_as through {entry.same_as}")
            base = resolve(base_key, (*chain, key))
            units = base.units if units is None else units
            optional = base.optional_units if optional is None else optional
        elif entry.override_units:
            raise RegulationError(f"{path}: {where}.override_units: only allowed with same_as")
        replaced = list(units or ())
        for index, override in enumerate(entry.override_units):
            position = next((i for i, u in enumerate(replaced) if u.code == override.code), None)
            if position is None:
                raise RegulationError(
                    f"{path}: {where}.override_units[{index}].code: {override.code} is not a unit of {entry.same_as}"
                )
            replaced[position] = override
        fields = {
            "specialty": key[0],
            "title": entry.title,
            "text": entry.text,
            "first_session": entry.first_session,
            "units": tuple(replaced),
            "optional_units": optional or (),
        }
        resolved[key] = _validate(Regulation, fields, path, where)
        return resolved[key]

    return tuple(resolve(key, ()) for key in entries)


def load_regulations(directory: Path | None = None) -> tuple[Regulation, ...]:
    """Read and validate `regulations.yaml` from `directory` (default: the data folder beside this module).
    Raises RegulationError naming the file and the field. The default file is read once (cached)."""
    if directory is None:
        return _default_regulations()
    path = directory / REGULATIONS_FILE
    document = _validate(_Document, _read(path), path, "")
    return _regulations(document.specialties, path)


@functools.cache
def _default_regulations() -> tuple[Regulation, ...]:
    return load_regulations(DATA_DIR)


def regulation_for(specialty: str, session: int, regulations: tuple[Regulation, ...] | None = None) -> Regulation:
    """R-32: the regulation of `specialty` with the latest first_session <= `session` (from the service's
    own data unless `regulations` is given). Raises InvalidInput naming `specialty` or `session`."""
    catalogue = load_regulations() if regulations is None else regulations
    known = [r for r in catalogue if r.specialty == specialty]
    if not known:
        names = ", ".join(sorted({r.specialty for r in catalogue if r.specialty is not None}))
        raise InvalidInput("specialty", f"unknown specialty {specialty!r} (known: {names}); give the regulation")
    applicable = [r for r in known if r.first_session is not None and r.first_session <= session]
    if not applicable:
        first = min(r.first_session or 0 for r in known)
        raise InvalidInput(
            "session", f"no regulation of {specialty} applies to session {session}: the earliest applies from {first}"
        )
    return max(applicable, key=lambda r: r.first_session or 0)
