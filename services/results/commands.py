"""Commands of the results service: validated on construction, so bad input never reaches the
domain (a pydantic error names the field). Each names its stream: the candidate, the session and
the specialty (services.results.streams)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.results import Carried

# Every string and list a command carries is bounded here, once (issue 13): a command over a bound
# is refused at the gRPC edge with INVALID_ARGUMENT naming the field, and no event can outgrow a
# Kafka record. tests/unit/test_command_bounds.py walks every command and fails on an unbounded one.
UnitCode = Annotated[str, StringConstraints(max_length=7, pattern=r"^[A-Z]{1,3}[0-9]{1,2}(\.[0-9])?$")]
Grade = Annotated[
    Decimal, Field(ge=0, le=20, max_digits=4, decimal_places=2), AfterValidator(lambda d: d.quantize(Decimal("0.01")))
]  # out of 20, two decimals at most, always written with two ("12.50")
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Academy = Annotated[str, StringConstraints(max_length=60)]
Specialty = Annotated[str, StringConstraints(max_length=60)]
Unit = Annotated[str, StringConstraints(max_length=10)]  # a unit of the reference data, as registered
MAX_UNITS = 30  # more than the units of any specialty (shared.reference)


class CarriedInput(Carried):
    """A kept bénéfice as NoteRegistration carries it: the contract's Carried, bounded."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    unit: Unit


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoteRegistration(_Command):
    """From the registration topic's RegistrationConfirmed (the latest version counts)."""

    candidate_id: UUID
    academy: Academy
    session: int
    specialty: Specialty
    form: Annotated[str, StringConstraints(max_length=20)]
    units: tuple[Unit, ...] = Field(max_length=MAX_UNITS)
    optional_units: tuple[Unit, ...] = Field(max_length=MAX_UNITS)
    exempted_units: tuple[Unit, ...] = Field(max_length=MAX_UNITS)
    benefits: tuple[CarriedInput, ...] = Field(max_length=MAX_UNITS)
    source_event_id: UUID


class RecordGrade(_Command):
    unit: UnitCode
    grade: Grade
    reason: Reason = ""
    candidate_id: UUID
    session: int
    specialty: Specialty


class RecordAbsence(_Command):
    unit: UnitCode
    justified: bool = False
    reason: Reason = ""
    candidate_id: UUID
    session: int
    specialty: Specialty


class Deliberate(_Command):
    candidate_id: UUID
    session: int
    specialty: Specialty


class RecordControle(_Command):
    grades: dict[UnitCode, Grade] = Field(max_length=MAX_UNITS)
    candidate_id: UUID
    session: int
    specialty: Specialty


Command = NoteRegistration | RecordGrade | RecordAbsence | Deliberate | RecordControle
StaffCommand = RecordGrade | RecordAbsence | Deliberate | RecordControle
