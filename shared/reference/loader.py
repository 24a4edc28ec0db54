"""Loading the reference data ONCE from ONE set of files, `data/regulations.yaml` and
`data/calendars.yaml` beside this module (values tagged `unverified` stay editable data, never code).

Nothing is read at import time. `load_reference()` reads and validates the files the first time it is
called and then returns the same value (cached); `load_reference(directory)` reads another folder, not
cached (tests, a deployment's own data). A broken file fails with a `ReferenceDataError` naming the file
and the field."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.reference.calendars import Calendar, CalendarFieldError, calendar_from_local
from shared.reference.files import ReferenceDataError, read_yaml, validate
from shared.reference.reference_data import ReferenceData, find_regulation
from shared.reference.regulations import Domain, Number, OptionalUnit, Provenance, Regulation, Unit, check_languages

DATA_DIR = Path(__file__).resolve().parent / "data"
REGULATIONS_FILE = "regulations.yaml"
CALENDARS_FILE = "calendars.yaml"


class _Written(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _UnitEntry(_Written):
    """A compulsory unit as the data file writes it: every field is required there."""

    code: str = Field(min_length=1)
    test: str = Field(min_length=1)
    title: str = Field(min_length=1)
    coefficient: Number = Field(gt=0)
    domain: Domain
    form: str
    source: Provenance


class _OptionalUnitEntry(_Written):
    code: str = Field(min_length=1)
    test: str = Field(min_length=1)
    title: str = Field(min_length=1)
    coefficient: Number = Field(gt=0)
    form: str
    source: Provenance


class _RegulationsDocument(_Written):
    specialties: dict[str, Any] = Field(min_length=1)
    rare_languages: tuple[str, ...]
    rare_languages_source: Provenance
    r408_specialties_unverified: tuple[str, ...] = ()

    @field_validator("rare_languages")
    @classmethod
    def _lower_case(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        return check_languages(languages)


class _RegulationEntry(_Written):
    """One regulation as written: either complete, or `same_as` another specialty plus overrides."""

    title: str
    text: str
    first_session: int
    requires_r408: bool
    units: tuple[_UnitEntry, ...] | None = None
    optional_units: tuple[_OptionalUnitEntry, ...] | None = None
    languages: tuple[str, ...] | None = None
    languages_source: Provenance | None = None
    same_as: str | None = None
    override_units: tuple[_UnitEntry, ...] = ()


_INHERITED = ("units", "optional_units", "languages", "languages_source")

Key = tuple[str, int]


def _entries(specialties: dict[str, Any], path: Path) -> dict[Key, tuple[str, _RegulationEntry]]:
    entries: dict[Key, tuple[str, _RegulationEntry]] = {}
    for specialty, value in specialties.items():
        items = value if isinstance(value, list) else [value]
        for index, raw in enumerate(items):
            where = f"specialties.{specialty}" + (f"[{index}]" if isinstance(value, list) else "")
            entry = validate(_RegulationEntry, raw, path, where)
            if (specialty, entry.first_session) in entries:
                raise ReferenceDataError(
                    f"{path}: {where}.first_session: a regulation of {specialty} already applies from "
                    f"session {entry.first_session}"
                )
            entries[(specialty, entry.first_session)] = (where, entry)
    return entries


def _regulations(specialties: dict[str, Any], path: Path) -> tuple[Regulation, ...]:
    entries = _entries(specialties, path)
    resolved: dict[Key, Regulation] = {}

    def resolve(key: Key, chain: tuple[Key, ...]) -> Regulation:
        if key in resolved:
            return resolved[key]
        where, entry = entries[key]
        fields: dict[str, Any] = {"specialty": key[0]}
        if entry.same_as is not None:
            base_key = (entry.same_as, entry.first_session)
            if base_key not in entries:
                raise ReferenceDataError(
                    f"{path}: {where}.same_as: no regulation of {entry.same_as} applies from session "
                    f"{entry.first_session}"
                )
            if base_key in chain or base_key == key:
                raise ReferenceDataError(f"{path}: {where}.same_as: circular same_as through {entry.same_as}")
            fields |= resolve(base_key, (*chain, key)).model_dump(include=set(_INHERITED))
        elif entry.override_units:
            raise ReferenceDataError(f"{path}: {where}.override_units: only allowed with same_as")
        fields |= entry.model_dump(exclude={"same_as", "override_units"}, exclude_none=True)
        missing = [name for name in _INHERITED if name not in fields]
        if missing:
            raise ReferenceDataError(f"{path}: {where}.{missing[0]}: Field required")
        units = [Unit.model_validate(u) for u in fields["units"]]
        for index, override in enumerate(entry.override_units):
            position = next((i for i, u in enumerate(units) if u.code == override.code), None)
            if position is None:
                raise ReferenceDataError(
                    f"{path}: {where}.override_units[{index}].code: {override.code} is not a unit of {entry.same_as}"
                )
            units[position] = Unit.model_validate(override.model_dump())
        fields["units"] = tuple(units)
        fields["optional_units"] = tuple(OptionalUnit.model_validate(u) for u in fields["optional_units"])
        resolved[key] = validate(Regulation, fields, path, where)
        return resolved[key]

    return tuple(resolve(key, ()) for key in entries)


class _CalendarsDocument(_Written):
    calendars: tuple[dict[str, Any], ...]


class _CalendarEntry(_Written):
    academy: str
    session: int
    registration_opens: str
    registration_closes: str
    documents_deadline: str | None = None
    amex_deadline: str | None = None
    convocations_from: str | None = None
    source: str

    @field_validator(
        "registration_opens",
        "registration_closes",
        "documents_deadline",
        "amex_deadline",
        "convocations_from",
        mode="before",
    )
    @classmethod
    def _yaml_timestamps(cls, value: object) -> object:
        return value.isoformat() if isinstance(value, date) else value  # unquoted YAML timestamps


def _calendars(entries: tuple[dict[str, Any], ...], path: Path) -> tuple[Calendar, ...]:
    calendars: list[Calendar] = []
    for index, raw in enumerate(entries):
        where = f"calendars[{index}]"
        entry = validate(_CalendarEntry, raw, path, where)
        try:
            calendar = calendar_from_local(
                entry.academy,
                entry.session,
                entry.registration_opens,
                entry.registration_closes,
                entry.documents_deadline,
                entry.amex_deadline,
                entry.convocations_from,
                entry.source,
            )
        except CalendarFieldError as exc:
            raise ReferenceDataError(f"{path}: {where}.{exc.field}: {exc.detail}") from None
        if any((c.academy, c.session) == (calendar.academy, calendar.session) for c in calendars):
            raise ReferenceDataError(
                f"{path}: {where}: {calendar.academy} already has a calendar for session {calendar.session}"
            )
        calendars.append(calendar)
    return tuple(calendars)


def read_reference(directory: Path) -> ReferenceData:
    """Read and validate `regulations.yaml` and `calendars.yaml` from `directory`, every time."""
    regulations_path, calendars_path = directory / REGULATIONS_FILE, directory / CALENDARS_FILE
    document = validate(_RegulationsDocument, read_yaml(regulations_path), regulations_path, "")
    regulations = _regulations(document.specialties, regulations_path)
    calendars_document = validate(_CalendarsDocument, read_yaml(calendars_path), calendars_path, "")
    calendars = _calendars(calendars_document.calendars, calendars_path)
    return ReferenceData(
        regulations=regulations,
        calendars=calendars,
        rare_languages=frozenset(document.rare_languages),
        rare_languages_source=document.rare_languages_source,
        r408_specialties_unverified=document.r408_specialties_unverified,
    )


@functools.cache
def _default_reference() -> ReferenceData:
    return read_reference(DATA_DIR)


def load_reference(directory: Path | None = None) -> ReferenceData:
    """The reference data: the package's own files read once and cached (no `directory`), or the files
    of `directory`, read at each call. Raises ReferenceDataError naming the file and the field."""
    return _default_reference() if directory is None else read_reference(directory)


def regulation_for(specialty: str, session: int, regulations: tuple[Regulation, ...] | None = None) -> Regulation:
    """R-32: the regulation of `specialty` with the latest first_session <= `session`, from the reference
    data unless `regulations` is given. Raises InvalidInput naming `specialty` or `session`."""
    return find_regulation(load_reference().regulations if regulations is None else regulations, specialty, session)
