"""French wording shared by the documents Archipel prints (summaries, score sheets, messages):
dates in Europe/Paris without any locale dependency, académie labels (the labels of the reference
data, such as the exam form, are in shared.reference.labels)."""

from __future__ import annotations

from datetime import datetime

from shared.clock import PARIS

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüÿœæ")


def paris(moment: datetime) -> datetime:
    """An aware datetime in Paris time; a naive one is refused (times are stored in UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: an aware datetime is needed")
    return moment.astimezone(PARIS)


def long_date_time(moment: datetime) -> str:
    """vendredi 28 novembre 2025 à 17:00 (the first of a month is "1er")."""
    local = paris(moment)
    day = "1er" if local.day == 1 else str(local.day)
    return f"{WEEKDAYS[local.weekday()]} {day} {MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"


def short_date_time(moment: datetime) -> str:
    """27/11/2025 à 14:05, in Paris time."""
    local = paris(moment)
    return f"{local:%d/%m/%Y} à {local:%H:%M}"


def short_date(moment: datetime) -> str:
    """27/11/2025, the day in Paris time."""
    return f"{paris(moment):%d/%m/%Y}"


def academy_label(slug: str) -> str:
    """Slug to label: aix-marseille -> Académie d'Aix-Marseille, lille -> Académie de Lille."""
    name = "-".join(word[:1].upper() + word[1:] for word in slug.strip().lower().split("-") if word)
    if not name:
        return "Académie non renseignée"
    article = "d'" if name[0].lower() in _VOWELS else "de "
    return f"Académie {article}{name}"
