"""A throwaway service, declared as a new command would be added anywhere: a decider, a facts
entry and one line of declaration. tests/e2e/test_new_command.py runs it as separate processes
(`python -m shared.launch tests.e2e.throwaway_service serve|relay|projections`) and sends its
command over the generic Commands gRPC endpoint: appended, relayed to Kafka, projected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.db import Connection, Migration
from shared.decider import Aggregate
from shared.errors import RuleViolation
from shared.events import DomainEvent, Envelope, EventRegistry
from shared.pipeline import Call, CommandSpec, Scope
from shared.projections import Projection
from shared.service import Runtime, Service

MAX_NOTES = 3


class RecordNote(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    candidate_id: UUID
    academy: Annotated[str, StringConstraints(pattern=r"^[a-z]+(-[a-z]+)*$", max_length=40)]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class NoteRecorded(DomainEvent):
    event_type: ClassVar[str] = "NoteRecorded"

    candidate_id: UUID
    academy: str
    text: str


class Notes(BaseModel):
    model_config = ConfigDict(frozen=True)

    academy: str | None = None
    count: int = 0


class NoteFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream_version: int


def evolve(state: Notes, event: DomainEvent) -> Notes:
    if isinstance(event, NoteRecorded):
        return Notes(academy=event.academy, count=state.count + 1)
    return state


def decide(command: RecordNote, state: Notes, facts: NoteFacts) -> Sequence[DomainEvent]:
    if facts.stream_version >= MAX_NOTES:
        raise RuleViolation("R-00", f"at most {MAX_NOTES} notes")
    return [NoteRecorded(candidate_id=command.candidate_id, academy=command.academy, text=command.text)]


NOTES = Aggregate("notes", Notes(), evolve, decide)


async def note_facts(ports: None, call: Call[RecordNote, Notes]) -> NoteFacts:
    return NoteFacts(stream_version=call.version)


class NotesView(Projection):
    name = "throwaway_notes"
    tables = ("notes",)
    event_types = frozenset({NoteRecorded.event_type})
    migrations = (Migration("throwaway_0001", "CREATE TABLE notes (candidate_id uuid NOT NULL, text text NOT NULL)"),)

    async def apply(self, connection: Connection, envelope: Envelope) -> None:
        event = envelope.payload
        assert isinstance(event, NoteRecorded)
        await connection.execute("INSERT INTO notes VALUES ($1, $2)", event.candidate_id, event.text)


def _no_ports(runtime: Runtime) -> None:
    return None


SERVICE: Service[None] = Service(
    name="throwaway",
    registry=EventRegistry([NoteRecorded]),
    ports=_no_ports,
    commands=(
        CommandSpec(
            RecordNote,
            NOTES,
            lambda c: f"note-{c.candidate_id}",
            note_facts,
            lambda c, s, f: Scope(s.academy or c.academy, c.candidate_id),
            rpc=True,
        ),
    ),
    projections=lambda: [NotesView()],
    projection_topics=("throwaway",),
)
