"""French labels of the reference data, for what Archipel prints and shows (PDFs, API views, refusals):
the exam form, a registration window. Rendering stays here, out of the data models and the domains;
dates are shown in Europe/Paris (shared.french)."""

from __future__ import annotations

from shared.french import long_date_time
from shared.reference.calendars import Calendar
from shared.reference.forms import ExamForm

_FORMS = {ExamForm.GLOBALE: "Forme globale", ExamForm.PROGRESSIVE: "Forme progressive"}


def form_label(form: str) -> str:
    """globale -> Forme globale; an unknown form is refused (ValueError)."""
    try:
        return _FORMS[ExamForm(form)]
    except ValueError:
        raise ValueError(f"unknown form of the exam {form!r}: expected 'globale' or 'progressive'") from None


def window_label(calendar: Calendar) -> str:
    """du vendredi 10 octobre 2025 à 08:00 au mercredi 12 novembre 2025 à 17:00 (heure de Paris)."""
    opens, closes = long_date_time(calendar.registration_opens), long_date_time(calendar.registration_closes)
    return f"du {opens} au {closes} (heure de Paris)"
