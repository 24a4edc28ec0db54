"""The registration catalogue: exam regulations per specialty and session (R-32), session calendars per
académie (R-07, R-18, R-25), and the "rare" languages (R-12).

The data lives in YAML files beside this module (`data/regulations.yaml`, `data/calendars.yaml`) so
values tagged `unverified` stay editable data, never code. Nothing is read at import time:
`load_catalogue()` reads and validates the files; a broken file fails with a `CatalogueError` naming the
file and the field. Times are stored in UTC and shown in Europe/Paris (DESIGN rule 7)."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from shared.clock import PARIS
from shared.french import long_date_time

DATA_DIR = Path(__file__).resolve().parent / "data"
REGULATIONS_FILE = "regulations.yaml"
CALENDARS_FILE = "calendars.yaml"


class Domain(StrEnum):
    GENERAL = "general"
    PROFESSIONAL = "professional"


class Provenance(StrEnum):
    OFFICIAL = "official"
    SECONDARY = "secondary"
    UNVERIFIED = "unverified"


class CatalogueError(ValueError):
    """A catalogue data file is missing or broken; the message names the file and the field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_languages(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if not value.strip() or value != value.strip().lower():
            raise ValueError(f"language {value!r} must be a non-empty lower-case name ({value.lower()!r})")
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"language(s) listed twice: {', '.join(duplicates)}")
    return values


class Unit(_Frozen):
    code: str = Field(min_length=1)
    test: str = Field(min_length=1)
    title: str = Field(min_length=1)
    coefficient: Decimal = Field(gt=0)
    domain: Domain
    form: str
    source: Provenance


class OptionalUnit(_Frozen):
    code: str = Field(min_length=1)
    test: str = Field(min_length=1)
    title: str = Field(min_length=1)
    coefficient: Decimal = Field(gt=0)
    form: str
    source: Provenance


class Regulation(_Frozen):
    """The règlement d'examen of one specialty, applicable from `first_session` until a later one."""

    specialty: str = Field(min_length=1)
    title: str
    text: str
    first_session: int = Field(ge=1900, le=2999)
    requires_r408: bool
    units: tuple[Unit, ...] = Field(min_length=1)
    optional_units: tuple[OptionalUnit, ...]
    languages: tuple[str, ...]
    languages_source: Provenance

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

    @field_validator("languages")
    @classmethod
    def _lower_case_languages(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        return _check_languages(languages)

    def unit(self, code: str) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

    def optional_unit(self, code: str) -> OptionalUnit | None:
        return next((u for u in self.optional_units if u.code == code), None)

    def unit_codes(self) -> frozenset[str]:
        """The codes of the compulsory units (optional units are not included)."""
        return frozenset(u.code for u in self.units)


class Calendar(_Frozen):
    """The registration calendar of one session in one académie; datetimes are aware, in UTC."""

    academy: str = Field(min_length=1)
    session: int = Field(ge=1900, le=2999)
    registration_opens: AwareDatetime
    registration_closes: AwareDatetime
    documents_deadline: AwareDatetime | None
    amex_deadline: AwareDatetime | None
    convocations_from: date | None
    source: str

    @field_validator("registration_opens", "registration_closes", "documents_deadline", "amex_deadline")
    @classmethod
    def _in_utc(cls, moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(UTC)

    @field_validator("registration_closes")
    @classmethod
    def _closes_after_opening(cls, closes: datetime, info: ValidationInfo) -> datetime:
        opens = info.data.get("registration_opens")
        if opens is not None and not opens < closes:
            raise ValueError(f"the window must close after it opens ({long_date_time(opens)}, heure de Paris)")
        return closes

    @field_validator("documents_deadline")
    @classmethod
    def _documents_after_close(cls, deadline: datetime | None, info: ValidationInfo) -> datetime | None:
        closes = info.data.get("registration_closes")
        if deadline is not None and closes is not None and deadline < closes:
            raise ValueError(
                "the documents deadline cannot be before the registration closes "
                f"({long_date_time(closes)}, heure de Paris)"
            )
        return deadline

    def registration_open(self, now: datetime) -> bool:
        """R-07: open from `registration_opens` (included) to `registration_closes` (excluded)."""
        if now.tzinfo is None:
            raise ValueError("registration_open needs an aware datetime")
        return self.registration_opens <= now < self.registration_closes

    def describe_window(self) -> str:
        opens, closes = long_date_time(self.registration_opens), long_date_time(self.registration_closes)
        return f"du {opens} au {closes} (heure de Paris)"


class Catalogue(_Frozen):
    regulations: tuple[Regulation, ...]
    calendars: tuple[Calendar, ...]
    rare_languages: frozenset[str]
    rare_languages_source: Provenance = Provenance.UNVERIFIED
    r408_specialties_unverified: tuple[str, ...] = ()

    @field_validator("regulations")
    @classmethod
    def _one_regulation_per_first_session(cls, regulations: tuple[Regulation, ...]) -> tuple[Regulation, ...]:
        keys = [(r.specialty, r.first_session) for r in regulations]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"two regulations of {key[0]} apply from session {key[1]}")
        return regulations

    @field_validator("calendars")
    @classmethod
    def _one_calendar_per_session(cls, calendars: tuple[Calendar, ...]) -> tuple[Calendar, ...]:
        keys = [(c.academy, c.session) for c in calendars]
        for key in keys:
            if keys.count(key) > 1:
                raise ValueError(f"two calendars for {key[0]} session {key[1]}")
        return calendars

    @field_validator("rare_languages")
    @classmethod
    def _lower_case_rare_languages(cls, languages: frozenset[str]) -> frozenset[str]:
        _check_languages(tuple(languages))
        return languages

    def regulation(self, specialty: str, session: int) -> Regulation:
        """R-32: the regulation of `specialty` with the latest first_session <= `session`."""
        known = [r for r in self.regulations if r.specialty == specialty]
        if not known:
            raise LookupError(
                f"no regulation for {specialty} in session {session}: unknown specialty "
                f"(known: {', '.join(self.specialties())})"
            )
        applicable = [r for r in known if r.first_session <= session]
        if not applicable:
            first = min(r.first_session for r in known)
            raise LookupError(
                f"no regulation for {specialty} in session {session}: the earliest one applies from session {first}"
            )
        return max(applicable, key=lambda r: r.first_session)

    def specialties(self) -> list[str]:
        return sorted({r.specialty for r in self.regulations})

    def calendar(self, academy: str, session: int) -> Calendar | None:
        return next((c for c in self.calendars if c.academy == academy and c.session == session), None)


def paris_to_utc(local: str | datetime) -> datetime:
    """A Europe/Paris wall-clock time ("2025-10-10T08:00" or a naive datetime) as an aware UTC datetime.
    An aware input is only converted. An ambiguous time (autumn change) is its first occurrence
    (fold=0, summer time); a nonexistent one (spring gap) raises ValueError."""
    if isinstance(local, str):
        text = local.strip()
        try:
            if len(text) <= len("2025-10-10"):
                raise ValueError("a time is needed")
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{local!r} is not a date and time like 2025-10-10T08:00 ({exc})") from None
    else:
        moment = local
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    in_paris = moment.replace(tzinfo=PARIS, fold=0)
    converted = in_paris.astimezone(UTC)
    if converted.astimezone(PARIS).replace(tzinfo=None) != moment:
        raise ValueError(f"{moment:%Y-%m-%d %H:%M} does not exist in Europe/Paris (the clocks jump forward an hour)")
    return converted


class CalendarFieldError(ValueError):
    """A calendar given in local times is wrong; `field` names the field, the message is one line."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def _error_lines(error: ValidationError) -> list[tuple[str, str]]:
    """(field path, "message (got value)") for each error; aware datetimes shown in Paris time."""
    lines = []
    for item in error.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"]).lstrip(".")
        got = item["input"]
        if isinstance(got, datetime) and got.tzinfo is not None:
            got = f"{got.astimezone(PARIS):%Y-%m-%dT%H:%M} heure de Paris"
        got = "" if item["type"] == "missing" else f" (got {got!r:.80})"
        lines.append((loc, f"{item['msg'].removeprefix('Value error, ')}{got}"))
    return lines


def _local_times(**values: str | None) -> dict[str, datetime | None]:
    converted: dict[str, datetime | None] = {}
    for field, value in values.items():
        try:
            converted[field] = None if value is None else paris_to_utc(value)
        except ValueError as exc:
            raise CalendarFieldError(field, str(exc)) from None
    return converted


def _local_date(field: str, value: str | None) -> date | None:
    try:
        return None if value is None else date.fromisoformat(value)
    except ValueError:
        raise CalendarFieldError(field, f"{value!r} is not a date like 2026-04-15") from None


def calendar_from_local(  # noqa: PLR0917 (the staff command passes them in order)
    academy: str,
    session: int,
    opens: str,
    closes: str,
    documents_deadline: str | None = None,
    amex_deadline: str | None = None,
    convocations_from: str | None = None,
    source: str = "staff",
) -> Calendar:
    """A calendar from Europe/Paris local times, as staff and the data files write them.
    Raises CalendarFieldError (a ValueError) naming the first wrong field, in one line."""
    times = _local_times(
        registration_opens=opens,
        registration_closes=closes,
        documents_deadline=documents_deadline,
        amex_deadline=amex_deadline,
    )
    try:
        return Calendar(
            academy=academy,
            session=session,
            convocations_from=_local_date("convocations_from", convocations_from),
            source=source,
            **times,
        )
    except ValidationError as exc:
        (field, detail), *_ = _error_lines(exc)
        raise CalendarFieldError(field or "calendar", detail) from None


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
                        "while reading a mapping",
                        node.start_mark,
                        f"duplicate key {key!r}",
                        key_node.start_mark,
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
        with path.open(encoding="utf-8") as stream:  # the stream's name goes into YAML error marks
            document = yaml.load(stream, Loader=_YamlLoader)
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read the file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise CatalogueError(f"{path}: expected a mapping at the top level, found {type(document).__name__}")
    return document


def _describe(error: ValidationError, path: Path, where: str) -> CatalogueError:
    lines = [f"{path}: {f'{where}.{loc}'.strip('.') or 'top level'}: {detail}" for loc, detail in _error_lines(error)]
    return CatalogueError("\n".join(lines))


def _validate(model: type[M], data: object, path: Path, where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _describe(exc, path, where) from None


class _RegulationsDocument(_Frozen):
    specialties: dict[str, Any] = Field(min_length=1)
    rare_languages: tuple[str, ...]
    rare_languages_source: Provenance
    r408_specialties_unverified: tuple[str, ...] = ()

    @field_validator("rare_languages")
    @classmethod
    def _lower_case(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        return _check_languages(languages)


class _RegulationEntry(_Frozen):
    """One regulation as written: either complete, or `same_as` another specialty plus overrides."""

    title: str
    text: str
    first_session: int
    requires_r408: bool
    units: tuple[Unit, ...] | None = None
    optional_units: tuple[OptionalUnit, ...] | None = None
    languages: tuple[str, ...] | None = None
    languages_source: Provenance | None = None
    same_as: str | None = None
    override_units: tuple[Unit, ...] = ()


def _regulations(specialties: dict[str, Any], path: Path) -> tuple[Regulation, ...]:
    entries: dict[tuple[str, int], tuple[str, _RegulationEntry]] = {}
    for specialty, value in specialties.items():
        items = value if isinstance(value, list) else [value]
        for index, raw in enumerate(items):
            where = f"specialties.{specialty}" + (f"[{index}]" if isinstance(value, list) else "")
            entry = _validate(_RegulationEntry, raw, path, where)
            if (specialty, entry.first_session) in entries:
                raise CatalogueError(
                    f"{path}: {where}.first_session: a regulation of {specialty} already applies from "
                    f"session {entry.first_session}"
                )
            entries[(specialty, entry.first_session)] = (where, entry)

    resolved: dict[tuple[str, int], Regulation] = {}

    def resolve(key: tuple[str, int], chain: tuple[tuple[str, int], ...]) -> Regulation:
        if key in resolved:
            return resolved[key]
        where, entry = entries[key]
        fields: dict[str, Any] = {"specialty": key[0]}
        if entry.same_as is not None:
            base_key = (entry.same_as, entry.first_session)
            if base_key not in entries:
                raise CatalogueError(
                    f"{path}: {where}.same_as: no regulation of {entry.same_as} applies from session "
                    f"{entry.first_session}"
                )
            if base_key in chain:
                raise CatalogueError(f"{path}: {where}.same_as: circular same_as through {entry.same_as}")
            fields |= resolve(base_key, (*chain, key)).model_dump(
                include={"units", "optional_units", "languages", "languages_source"}
            )
        elif entry.override_units:
            raise CatalogueError(f"{path}: {where}.override_units: only allowed with same_as")
        fields |= entry.model_dump(exclude={"same_as", "override_units"}, exclude_none=True)
        units = [Unit.model_validate(u) for u in fields.get("units", ())]
        for index, override in enumerate(entry.override_units):
            position = next((i for i, u in enumerate(units) if u.code == override.code), None)
            if position is None:
                raise CatalogueError(
                    f"{path}: {where}.override_units[{index}].code: {override.code} is not a unit of {entry.same_as}"
                )
            units[position] = override
        if "units" in fields:
            fields["units"] = tuple(units)
        resolved[key] = _validate(Regulation, fields, path, where)
        return resolved[key]

    return tuple(resolve(key, ()) for key in entries)


class _CalendarsDocument(_Frozen):
    calendars: tuple[dict[str, Any], ...]


class _CalendarEntry(_Frozen):
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
        entry = _validate(_CalendarEntry, raw, path, where)
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
            raise CatalogueError(f"{path}: {where}.{exc.field}: {exc.detail}") from None
        if any((c.academy, c.session) == (calendar.academy, calendar.session) for c in calendars):
            raise CatalogueError(
                f"{path}: {where}: {calendar.academy} already has a calendar for session {calendar.session}"
            )
        calendars.append(calendar)
    return tuple(calendars)


def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Read and validate `regulations.yaml` and `calendars.yaml` from `directory` (default: the data
    folder beside this module). Raises CatalogueError naming the file and the field."""
    folder = DATA_DIR if directory is None else directory
    regulations_path, calendars_path = folder / REGULATIONS_FILE, folder / CALENDARS_FILE
    document = _validate(_RegulationsDocument, _read(regulations_path), regulations_path, "")
    regulations = _regulations(document.specialties, regulations_path)
    calendars_document = _validate(_CalendarsDocument, _read(calendars_path), calendars_path, "")
    calendars = _calendars(calendars_document.calendars, calendars_path)
    return Catalogue(
        regulations=regulations,
        calendars=calendars,
        rare_languages=frozenset(document.rare_languages),
        rare_languages_source=document.rare_languages_source,
        r408_specialties_unverified=document.r408_specialties_unverified,
    )
