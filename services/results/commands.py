"""Commands of the results service: validated on construction, so bad input never reaches the
domain (a pydantic error names the field). Each names its stream: the candidate, the session and
the specialty (services.results.streams)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.results import Carried

UnitCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}[0-9]{1,2}(\.[0-9])?$")]
Grade = Annotated[
    Decimal, Field(ge=0, le=20, max_digits=4, decimal_places=2), AfterValidator(lambda d: d.quantize(Decimal("0.01")))
]  # out of 20, two decimals at most, always written with two ("12.50")
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoteRegistration(_Command):
    """From the registration topic's RegistrationConfirmed (the latest version counts)."""

    candidate_id: UUID
    academy: str
    session: int
    specialty: str
    form: str
    units: tuple[str, ...]
    optional_units: tuple[str, ...]
    exempted_units: tuple[str, ...]
    benefits: tuple[Carried, ...]
    source_event_id: UUID


class RecordGrade(_Command):
    unit: UnitCode
    grade: Grade
    reason: Reason = ""
    candidate_id: UUID
    session: int
    specialty: str


class RecordAbsence(_Command):
    unit: UnitCode
    justified: bool = False
    reason: Reason = ""
    candidate_id: UUID
    session: int
    specialty: str


class Deliberate(_Command):
    candidate_id: UUID
    session: int
    specialty: str


class RecordControle(_Command):
    grades: dict[UnitCode, Grade]
    candidate_id: UUID
    session: int
    specialty: str


Command = NoteRegistration | RecordGrade | RecordAbsence | Deliberate | RecordControle
StaffCommand = RecordGrade | RecordAbsence | Deliberate | RecordControle
