"""Session calendars per académie (R-07, R-08, R-18, R-25, R-26): when registration opens and closes,
the documents and AMEX deadlines, the first day of convocations.

Times are stored in UTC and written in Europe/Paris (DESIGN rule 7): `paris_to_utc` converts what staff
and the data files write; `calendar_from_local` builds a checked calendar from local times. The French
rendering of a window lives with the PDFs (`shared.reference.labels`)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from shared.clock import PARIS
from shared.french import long_date_time


class Calendar(BaseModel):
    """The registration calendar of one session in one académie; datetimes are aware, in UTC."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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


FIRST_YEAR, LAST_YEAR = 1900, 2999  # the years a calendar, a schedule or a data file may name


def _in_range(value: date, shown: object) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{shown!r:.40} is out of range (years {FIRST_YEAR} to {LAST_YEAR})")


def paris_to_utc(local: str | datetime) -> datetime:
    """A Europe/Paris wall-clock time ("2025-10-10T08:00" or a naive datetime) as an aware UTC datetime.
    An aware input is only converted. An ambiguous time (autumn change) is its first occurrence
    (fold=0, summer time); a nonexistent one (spring gap) or a year out of FIRST_YEAR..LAST_YEAR
    raises ValueError (its message shows at most 40 characters of the value)."""
    if isinstance(local, str):
        text = local.strip()
        try:
            if len(text) <= len("2025-10-10"):
                raise ValueError("a time is needed")
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{local!r:.40} is not a date and time like 2025-10-10T08:00 ({exc!s:.80})") from None
    else:
        moment = local
    _in_range(moment, local)
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


def error_lines(error: ValidationError) -> list[tuple[str, str]]:
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
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
        _in_range(day, value)
    except ValueError:
        raise CalendarFieldError(
            field, f"{value!r:.40} is not a date like 2026-04-15 (years {FIRST_YEAR} to {LAST_YEAR})"
        ) from None
    return day


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
        (field, detail), *_ = error_lines(exc)
        raise CalendarFieldError(field or "calendar", detail) from None
