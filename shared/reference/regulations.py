"""The règlements d'examen as data (R-12, R-13, R-17, R-29, R-32): units, coefficients, domains, test
forms, optional units and languages of one specialty from one session on.

The models are pure data (standard library and pydantic only): the registration and results domains
import them. Only `units` is required, so the deliberation also reads a regulation given inline to
`archipel deliberate`; the data files are checked more strictly by the loader (every unit needs its
test, title, form and provenance there)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator


class Domain(StrEnum):
    """The split that decides the professional average and the contrôle (R-29, R-30)."""

    GENERAL = "general"
    PROFESSIONAL = "professional"


class Provenance(StrEnum):
    """Where a value was read: the published arrêté, a secondary site, or nowhere yet (editable data)."""

    OFFICIAL = "official"
    SECONDARY = "secondary"
    UNVERIFIED = "unverified"


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


def check_languages(values: tuple[str, ...]) -> tuple[str, ...]:
    """Languages are non-empty lower-case names, each listed once (R-12)."""
    for value in values:
        if not value.strip() or value != value.strip().lower():
            raise ValueError(f"language {value!r} must be a non-empty lower-case name ({value.lower()!r})")
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"language(s) listed twice: {', '.join(duplicates)}")
    return values


def _unique_codes(codes: list[str]) -> None:
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValueError(f"unit codes must be unique within a regulation: {', '.join(duplicates)} twice")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(Frozen):
    """A compulsory unit; `domain` decides the professional average and the contrôle (R-29, R-30)."""

    code: str = Field(min_length=1)
    title: str = ""
    coefficient: Number = Field(gt=0)
    domain: Domain
    test: str | None = None
    form: str | None = None
    source: Provenance | None = None


class OptionalUnit(Frozen):
    """An optional unit (épreuve facultative): only the part of its grade above 10 counts (R-13)."""

    code: str = Field(min_length=1)
    title: str = ""
    coefficient: Number = Field(gt=0)
    test: str | None = None
    form: str | None = None
    source: Provenance | None = None


class Regulation(Frozen):
    """The règlement d'examen of one specialty, applicable from `first_session` until a later one (R-32).
    Given inline to the deliberation, only `units` (and `optional_units`) matter."""

    specialty: str | None = None
    title: str = ""
    text: str = ""
    first_session: int | None = Field(default=None, ge=1900, le=2999)
    requires_r408: bool = False
    units: tuple[Unit, ...] = Field(min_length=1)
    optional_units: tuple[OptionalUnit, ...] = ()
    languages: tuple[str, ...] = ()
    languages_source: Provenance | None = None

    @field_validator("units")
    @classmethod
    def _unique_units(cls, units: tuple[Unit, ...]) -> tuple[Unit, ...]:
        _unique_codes([u.code for u in units])
        return units

    @field_validator("optional_units")
    @classmethod
    def _unique_optional_units(
        cls, optional: tuple[OptionalUnit, ...], info: ValidationInfo
    ) -> tuple[OptionalUnit, ...]:
        _unique_codes([u.code for u in optional] + [u.code for u in info.data.get("units", ())])
        return optional

    @field_validator("languages")
    @classmethod
    def _lower_case_languages(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        return check_languages(languages)

    def unit(self, code: str) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

    def optional_unit(self, code: str) -> OptionalUnit | None:
        return next((u for u in self.optional_units if u.code == code), None)

    def unit_codes(self) -> frozenset[str]:
        """The codes of the compulsory units (optional units are not included)."""
        return frozenset(u.code for u in self.units)
