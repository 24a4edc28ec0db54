"""Archipel's reference data, in one package (DESIGN, "reference data"): specialties, units,
coefficients, test forms, optional units, languages and rare languages (R-12), regulation versions per
session (R-32), calendars per académie and session (R-07), and the rule constants (`rules`).

- data models (pure, imported by the domains): `regulations`, `calendars`, `forms`, `reference_data`;
- the rule constants, each with its rule id: `rules`;
- the loader (`load_reference()`, read once and cached; `load_reference(directory)` for other files);
- French labels for what is printed or shown: `labels` (not imported here: the domains never need it).

Importing the package reads nothing: the files are read at the first `load_reference()`."""

from shared.reference.calendars import Calendar, CalendarFieldError, calendar_from_local, paris_to_utc
from shared.reference.files import ReferenceDataError
from shared.reference.forms import ExamForm
from shared.reference.loader import DATA_DIR, load_reference, regulation_for
from shared.reference.reference_data import ReferenceData, find_regulation
from shared.reference.regulations import Domain, Number, OptionalUnit, Provenance, Regulation, Unit, exact_number
from shared.reference.rules import (
    BENEFIT_SESSIONS,
    CONTROLE_FLOOR,
    DEFAULT_CONVOCATIONS_FROM,
    MAX_CONTROLE_UNITS,
    MAX_GRADE,
    MAX_OPTIONAL_UNITS,
    PASS_GRADE,
)

__all__ = [
    "BENEFIT_SESSIONS",
    "CONTROLE_FLOOR",
    "DATA_DIR",
    "DEFAULT_CONVOCATIONS_FROM",
    "MAX_CONTROLE_UNITS",
    "MAX_GRADE",
    "MAX_OPTIONAL_UNITS",
    "PASS_GRADE",
    "Calendar",
    "CalendarFieldError",
    "Domain",
    "ExamForm",
    "Number",
    "OptionalUnit",
    "Provenance",
    "ReferenceData",
    "ReferenceDataError",
    "Regulation",
    "Unit",
    "calendar_from_local",
    "exact_number",
    "find_regulation",
    "load_reference",
    "paris_to_utc",
    "regulation_for",
]
