"""The results aggregate's state (one per candidate, session and specialty) and its evolve: a fold of
the stream's events. Nothing is overwritten: a correction is a new event naming the previous mark."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.contracts.results import (
    AbsenceRecorded,
    Carried,
    ControleResultRecorded,
    DeliberationCompleted,
    FinalResultPublished,
    GradesRecorded,
    RegistrationNoted,
    UnitOutcome,
)
from shared.events import DomainEvent


class Mark(BaseModel):
    """A unit's first-group result: a grade, or an absence (justified or not)."""

    model_config = ConfigDict(frozen=True)

    grade: Decimal | None = None
    justified_absence: bool = False

    def describe(self) -> str:
        if self.grade is not None:
            return f"{self.grade:.2f}"
        return "absent (justified)" if self.justified_absence else "absent"


class ResultsState(BaseModel):
    model_config = ConfigDict(frozen=True)

    candidate_id: UUID | None = None
    academy: str = ""
    session: int = 0
    specialty: str = ""
    form: str = ""
    units: tuple[str, ...] = ()
    optional_units: tuple[str, ...] = ()
    exempted_units: tuple[str, ...] = ()
    benefits: tuple[Carried, ...] = ()
    sources: frozenset[UUID] = frozenset()
    marks: dict[str, Mark] = {}
    outcome: str | None = None
    average: Decimal | None = None
    professional_average: Decimal | None = None
    final_average: Decimal | None = None
    retained: tuple[UnitOutcome, ...] = ()
    controle: dict[str, Decimal] = {}
    final: bool = False

    @property
    def registered(self) -> bool:
        return self.candidate_id is not None


INITIAL = ResultsState()


def evolve(state: ResultsState, event: DomainEvent) -> ResultsState:
    match event:
        case RegistrationNoted():
            return state.model_copy(
                update={
                    "candidate_id": event.candidate_id,
                    "academy": event.academy,
                    "session": event.session,
                    "specialty": event.specialty,
                    "form": event.form,
                    "units": event.units,
                    "optional_units": event.optional_units,
                    "exempted_units": event.exempted_units,
                    "benefits": event.benefits,
                    "sources": state.sources | {event.source_event_id},
                }
            )
        case GradesRecorded():
            return state.model_copy(update={"marks": {**state.marks, event.unit: Mark(grade=event.grade)}})
        case AbsenceRecorded():
            mark = Mark(justified_absence=event.justified)
            return state.model_copy(update={"marks": {**state.marks, event.unit: mark}})
        case DeliberationCompleted():
            return state.model_copy(
                update={
                    "outcome": event.outcome,
                    "average": event.average,
                    "professional_average": event.professional_average,
                    "retained": event.units,
                }
            )
        case ControleResultRecorded():
            return state.model_copy(update={"controle": {g.unit: g.grade for g in event.grades}})
        case FinalResultPublished():
            return state.model_copy(
                update={
                    "outcome": event.outcome,
                    "final": True,
                    "final_average": event.final_average,
                    "retained": event.units or state.retained,
                }
            )
    return state
