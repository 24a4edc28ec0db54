"""The results gRPC server on a free port, in the test's event loop, over the real PostgreSQL (schema of
`isolated_settings`), with a FixedClock in the 2026 jury period.

The other services do not run: what the results service learns from them (AccountCreated for the
candidate's name, RegistrationConfirmed for the form, units, exemptions and bénéfices) is applied as
inbound envelopes through ProjectionRunner.handle_raw, exactly as its Kafka consumers would (the
shared known accounts read model; the registration intake, which sends NoteRegistration through the
server's pipeline). The outcomes read model (OutcomesReadModel, which DeliberateSession and
ListOutcomes read) is fed the same way from the results events by `project()`."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from pypdf import PdfReader

from archipel.results.v1 import results_pb2 as pb
from archipel.results.v1 import results_pb2_grpc as pb_grpc
from archipel_cli.main import main
from services.results.projections import OutcomesReadModel
from services.results.service import REGISTRATION_INTAKE, SERVICE
from services.results.streams import results_stream
from shared.auth import Principal, Role
from shared.chain_check import LocalChain
from shared.clock import FixedClock
from shared.contracts.accounts import AccountCreated
from shared.contracts.registration import CarriedGrade, Category, RegistrationConfirmed
from shared.events import DomainEvent, Envelope
from shared.eventstore import EventStore
from shared.intake import IntakeProjection
from shared.known_accounts import KnownAccounts
from shared.pipeline import Pipeline
from shared.projections import Projection, ProjectionRunner
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from tests.grpc_serving import serving
from tests.tokens import mint

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

ACADEMY = "aix-marseille"
SESSION = 2026
SPECIALTY = "SIO-SISR"  # U1-U4 general (coefficients 2, 2, 3, 3), U5-U7 professional (4 each), UF1 optional
ALL_UNITS = ("U1", "U2", "U3", "U4", "U5", "U6", "U7")
JURY = datetime(2026, 6, 26, 8, 0, tzinfo=UTC)
Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Candidate:
    id: str
    me: Metadata
    session: int = SESSION

    def key(self, session: int | None = None) -> pb.ResultsKey:
        return pb.ResultsKey(candidate_id=self.id, session=session or self.session, specialty=SPECIALTY)

    @property
    def stream(self) -> str:
        return results_stream(uuid.UUID(self.id), self.session, SPECIALTY)


@dataclass
class ResultsServer:
    settings: Settings
    store: EventStore
    clock: FixedClock
    channel: grpc.aio.Channel
    stub: pb_grpc.ResultsStub
    target: str
    pipeline: Pipeline[Any]

    def auth(self, principal: Principal) -> Metadata:
        token = mint(self.settings, principal, self.clock(), timedelta(days=30))
        return (("authorization", f"Bearer {token}"),)

    def staff(self, academy: str = ACADEMY, role: Role = Role.STAFF) -> Metadata:
        return self.auth(Principal(subject=f"{role.value}-{uuid.uuid4().hex[:8]}", role=role, academy=academy))

    def auditor(self, academy: str = ACADEMY) -> Metadata:
        return self.staff(academy, Role.AUDITOR)

    async def event_count(self, stream: str | None = None) -> int:
        count: int = await self.store.pool.fetchval(
            "SELECT count(*) FROM events WHERE $1::text IS NULL OR stream_id = $1", stream
        )
        return count

    async def event_types(self, stream: str) -> list[str]:
        return [e.event_type for e in await self.store.read_stream(stream)]

    def envelope(self, stream: str, event: DomainEvent, candidate_id: str, academy: str) -> Envelope:
        return Envelope(
            event_id=uuid.uuid4(),
            stream_id=stream,
            stream_version=1,
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=self.clock(),
            recorded_at=self.clock(),
            academy=academy,
            actor="other-service-test",
            candidate_id=candidate_id,
            correlation_id=uuid.uuid4(),
            causation_id=None,
            payload=event,
        )

    async def deliver(self, projection: Projection, envelope: Envelope) -> bool:
        runner = ProjectionRunner(self.store.pool, SERVICE.projection_registry, projection)
        return await runner.handle_raw(*CHAIN.record(envelope))

    async def project(self) -> None:
        """Applies every results event to OutcomesReadModel, stream by stream (redeliveries are no-ops).
        Streams are read directly rather than through the global log, whose horizon (the oldest
        transaction in flight on the whole server, other tests' included) may hide recent events."""
        runner = ProjectionRunner(self.store.pool, SERVICE.projection_registry, OutcomesReadModel())
        for row in await self.store.pool.fetch("SELECT DISTINCT stream_id FROM events ORDER BY 1"):
            for envelope in await self.store.read_stream(row["stream_id"]):
                await runner.handle_raw(*CHAIN.record(envelope))

    async def candidate(
        self,
        *,
        form: str = "globale",
        units: Sequence[str] = ALL_UNITS,
        optional: Sequence[str] = (),
        exempted: Sequence[str] = (),
        benefits: Mapping[str, tuple[str, int]] | None = None,
        academy: str = ACADEMY,
        session: int = SESSION,
        last_name: str = "Martin",
    ) -> Candidate:
        """A candidate whose account and confirmed registration the results service has learnt of."""
        account = uuid.uuid4()
        created = AccountCreated(
            account_id=account,
            role="candidate",
            last_name=last_name,
            first_names="Léa",
            birth_date=None,
            email=f"{account.hex[:12]}@example.org",
            academy=academy,
        )
        known = KnownAccounts(SERVICE.name)
        assert await self.deliver(known, self.envelope(f"account-{account}", created, str(account), academy))
        confirmed = RegistrationConfirmed(
            registration_id=f"{account}-{session}-{SPECIALTY}",
            candidate_id=account,
            academy=academy,
            session=session,
            specialty=SPECIALTY,
            category=Category.INDIVIDUAL,
            form=form,
            units=tuple(units),
            optional_units=tuple(optional),
            language=None,
            exempted_units=tuple(exempted),
            benefit_units=tuple(benefits or {}),
            handicap=False,
            benefits=tuple(
                CarriedGrade(unit=unit, grade=Decimal(grade), session_obtained=obtained)
                for unit, (grade, obtained) in (benefits or {}).items()
            ),
        )
        stream = f"registration-{account}-{session}-{SPECIALTY}"
        intake = IntakeProjection(REGISTRATION_INTAKE, self.pipeline)
        assert await self.deliver(intake, self.envelope(stream, confirmed, str(account), academy))
        await self.project()
        principal = Principal(subject=str(account), role=Role.CANDIDATE, academy=academy)
        return Candidate(str(account), self.auth(principal), session)

    async def grades(self, who: Candidate, grades: Mapping[str, str], staff: Metadata | None = None) -> pb.ResultsView:
        """Records each grade ("ABS" / "ABJ": an absence, unjustified / justified)."""
        staff = staff or self.staff()
        view = pb.ResultsView()
        for unit, grade in grades.items():
            if grade in ("ABS", "ABJ"):
                request = pb.RecordAbsenceRequest(key=who.key(), unit=unit, justified=grade == "ABJ")
                view = await self.stub.RecordAbsence(request, metadata=staff)
            else:
                view = await self.stub.RecordGrade(
                    pb.RecordGradeRequest(key=who.key(), unit=unit, grade=grade), metadata=staff
                )
        return view

    async def outcomes(self, session: int = SESSION, staff: Metadata | None = None) -> pb.ListOutcomesResponse:
        await self.project()
        request = pb.ListOutcomesRequest(session=session, specialty=SPECIALTY)
        response: pb.ListOutcomesResponse = await self.stub.ListOutcomes(request, metadata=staff or self.staff())
        return response


async def cli(
    results: ResultsServer, capsys: pytest.CaptureFixture[str], me: Metadata, *argv: str
) -> tuple[int, Any, str]:
    """`archipel ARGV` in a thread (its gRPC channel is blocking); (exit code, JSON stdout, stderr)."""
    token = me[0][1].removeprefix("Bearer ")
    code = await asyncio.to_thread(main, [*argv, "--target", results.target, "--token", token])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else None, captured.err


async def refused(call: Awaitable[object], code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() is code, f"{caught.value.code()}: {caught.value.details()}"
    return caught.value.details() or ""


def lines_of(view: pb.ResultsView) -> dict[str, tuple[str, str, str]]:
    """unit -> (mark, retained, source)."""
    return {line.unit: (line.mark, line.retained, line.source) for line in view.units}


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:20]
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(name="results")
async def results_server(isolated_settings: Settings) -> AsyncIterator[ResultsServer]:
    clock = FixedClock(JURY)
    async with open_store(isolated_settings, SERVICE, clock) as store:
        built = build_grpc_server(SERVICE, Runtime(isolated_settings, store, clock))
        async with serving(built, isolated_settings) as served:
            channel = served.channel
            yield ResultsServer(
                isolated_settings, store, clock, channel, pb_grpc.ResultsStub(channel), served.target, built.pipeline
            )
