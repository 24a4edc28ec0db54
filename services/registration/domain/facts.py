"""What a registration decision needs from outside its stream (gathered by the service's facts
port, services.registration.facts): the clock's `now`, the calendar (with its window in French for
the R-07/R-08 refusals: rendering is not the domain's job), the regulation of the specialty and
session, the rare languages, the candidate's account (R-04), the candidate's first confirmed exam
form for the specialty (R-11), the bénéfices granted at earlier sessions and whether staff act."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shared.reference.calendars import Calendar
from shared.reference.forms import ExamForm
from shared.reference.regulations import Regulation


class FirstForm(BaseModel):
    """The form of the candidate's first confirmed registration for the specialty (R-11)."""

    model_config = ConfigDict(frozen=True)

    form: ExamForm
    session: int


class GrantedBenefit(BaseModel):
    """A carried grade granted by an earlier deliberation (results service's BenefitGranted)."""

    model_config = ConfigDict(frozen=True)

    unit: str
    grade: Decimal
    session_obtained: int
    valid_through_session: int


class KnownCandidate(BaseModel):
    """The candidate's account as the accounts topic made it known (R-04). `role` is empty while
    only the activation has arrived."""

    model_config = ConfigDict(frozen=True)

    academy: str
    role: str = "candidate"
    activated: bool = False


class Facts(BaseModel):
    model_config = ConfigDict(frozen=True)

    now: datetime
    calendar: Calendar | None
    window: str = ""  # the calendar's window in French, for the refusals (rendered by the caller)
    regulation: Regulation
    rare_languages: frozenset[str] = frozenset()
    candidate: KnownCandidate | None = None  # looked up while the registration does not exist yet
    first_form: FirstForm | None = None
    staff: bool = False
    granted: tuple[GrantedBenefit, ...] = ()
