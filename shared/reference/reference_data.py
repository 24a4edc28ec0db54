"""All the reference data of Archipel in one value: the regulations per specialty and session (R-32),
the calendars per académie and session (R-07), the rare languages (R-12). Pure data: `load_reference()`
(shared.reference.loader) builds it from the data files."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, field_validator

from shared.errors import InvalidInput
from shared.reference.calendars import Calendar
from shared.reference.regulations import Provenance, Regulation, check_languages


def first_session(regulation: Regulation) -> int:
    """The first session of a regulation of the reference data (always given there)."""
    if regulation.first_session is None:
        raise ValueError(f"the regulation of {regulation.specialty} has no first_session")
    return regulation.first_session


class ReferenceData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    regulations: tuple[Regulation, ...]
    calendars: tuple[Calendar, ...]
    rare_languages: frozenset[str]
    rare_languages_source: Provenance = Provenance.UNVERIFIED
    r408_specialties_unverified: tuple[str, ...] = ()

    @field_validator("regulations")
    @classmethod
    def _one_regulation_per_first_session(cls, regulations: tuple[Regulation, ...]) -> tuple[Regulation, ...]:
        keys = [(r.specialty, first_session(r)) for r in regulations]
        for key in keys:
            if key[0] is None:
                raise ValueError("every regulation of the reference data names its specialty")
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
        check_languages(tuple(languages))
        return languages

    def regulation(self, specialty: str, session: int) -> Regulation:
        """R-32: the regulation of `specialty` with the latest first_session <= `session`.
        Raises LookupError (an unknown specialty, or a session before the earliest regulation)."""
        known = [r for r in self.regulations if r.specialty == specialty]
        if not known:
            raise LookupError(
                f"no regulation for {specialty} in session {session}: unknown specialty "
                f"(known: {', '.join(self.specialties())})"
            )
        applicable = [r for r in known if first_session(r) <= session]
        if not applicable:
            first = min(first_session(r) for r in known)
            raise LookupError(
                f"no regulation for {specialty} in session {session}: the earliest one applies from session {first}"
            )
        return max(applicable, key=first_session)

    def specialties(self) -> list[str]:
        return sorted({r.specialty for r in self.regulations if r.specialty is not None})

    def calendar(self, academy: str, session: int) -> Calendar | None:
        return next((c for c in self.calendars if c.academy == academy and c.session == session), None)


def find_regulation(regulations: Iterable[Regulation], specialty: str, session: int) -> Regulation:
    """R-32 for a command or the deliberation: the regulation of `specialty` with the latest
    first_session <= `session`. Raises InvalidInput naming `specialty` or `session`."""
    catalogue = tuple(regulations)
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
