"""The form of the exam (R-10, R-11): one enum for registration, results and the PDFs."""

from __future__ import annotations

from enum import StrEnum


# forme globale (every test in one session) or forme progressive (units spread over sessions);
# the choice is definitive from the first registration for a specialty. No docstring: the enum
# is part of the registration events' JSON schemas (docs/events), which must not change.
class ExamForm(StrEnum):
    GLOBALE = "globale"
    PROGRESSIVE = "progressive"
