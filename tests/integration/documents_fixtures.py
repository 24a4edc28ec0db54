"""The documents gRPC server, built from the service's declaration, on a free port, in the test's
event loop, over the real PostgreSQL (schema of `isolated_settings`), with a FixedClock before the
Aix-Marseille 2026 documents deadline (28 November 2025, 17:00 Paris). Blobs go to the local
store under the test's home; mail to a list.

The other services do not run: what the documents service learns from them (AccountCreated,
CalendarSet, DocumentsRequired) is applied as inbound envelopes through ProjectionRunner.handle_raw,
exactly as its Kafka consumers (read models and the requirements intake) would."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from pypdf import PdfWriter

from archipel.documents.v1 import documents_pb2 as pb
from archipel.documents.v1 import documents_pb2_grpc as pb_grpc
from services.documents.projections import CalendarsReadModel, DossierListReadModel
from services.documents.service import REQUIREMENTS_INTAKE, SERVICE, DocumentsPorts, ports
from services.documents.streams import dossier_stream
from shared.auth import Principal, Role
from shared.chain_check import LocalChain
from shared.clock import FixedClock
from shared.contracts.accounts import AccountCreated
from shared.contracts.registration import CalendarSet, DocumentsRequired, RequiredDocument
from shared.events import DomainEvent, Envelope
from shared.eventstore import EventStore
from shared.intake import IntakeProjection
from shared.known_accounts import KnownAccounts
from shared.pipeline import Cause, Pipeline
from shared.projections import ProjectionRunner
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from tests.grpc_serving import serving
from tests.integration.grpc_fixtures import ListMailer
from tests.tokens import mint

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

ACADEMY = "aix-marseille"
SESSION = 2026
SPECIALTY = "SIO-SISR"
DEADLINE = datetime(2025, 11, 28, 16, 0, tzinfo=UTC)  # 17:00 in Paris
BEFORE = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
Metadata = tuple[tuple[str, str], ...]
LABELS = {"signed_summary": "Récapitulatif signé", "identity": "Pièce d'identité"}
EVERY_CANDIDATES = ("signed_summary", "identity")  # what every dossier requires


@dataclass(frozen=True)
class Candidate:
    id: str
    me: Metadata
    email: str

    def key(self, session: int = SESSION, specialty: str = SPECIALTY) -> pb.DossierKey:
        """The dossier key as staff name it (a candidate may leave candidate_id empty)."""
        return pb.DossierKey(candidate_id=self.id, session=session, specialty=specialty)

    @property
    def stream(self) -> str:
        return dossier_stream(uuid.UUID(self.id), SESSION, SPECIALTY)


@dataclass
class DocumentsServer:
    settings: Settings
    store: EventStore
    clock: FixedClock
    mailer: ListMailer
    channel: grpc.aio.Channel
    stub: pb_grpc.DocumentsStub
    target: str
    blocking: pb_grpc.DocumentsStub
    pipeline: Pipeline[DocumentsPorts]
    calendar_version: int = 0
    required_versions: dict[str, int] = field(default_factory=dict)

    @property
    def blob_root(self) -> Path:
        return self.settings.home / "blobs"

    @property
    def staging(self) -> Path:
        return self.settings.home / "staging"

    def blob_files(self) -> set[Path]:
        return {p for p in self.blob_root.rglob("*") if p.is_file()} if self.blob_root.exists() else set()

    def staged_files(self) -> list[Path]:
        return [p for p in self.staging.rglob("*") if p.is_file()] if self.staging.exists() else []

    async def event_types(self, stream: str) -> list[str]:
        return [e.event_type for e in await self.store.read_stream(stream)]

    async def event_count(self) -> int:
        count: int = await self.store.pool.fetchval("SELECT count(*) FROM events")
        return count

    def auth(self, principal: Principal) -> Metadata:
        token = mint(self.settings, principal, self.clock(), timedelta(days=400))
        return (("authorization", f"Bearer {token}"),)

    def staff(self, academy: str = ACADEMY, role: Role = Role.STAFF) -> Metadata:
        return self.auth(Principal(subject=f"{role.value}-{uuid.uuid4().hex[:8]}", role=role, academy=academy))

    def envelope(self, stream: str, version: int, event: DomainEvent, candidate_id: str | None) -> Envelope:
        academy = str(getattr(event, "academy", ACADEMY))
        return Envelope(
            event_id=uuid.uuid4(),
            stream_id=stream,
            stream_version=version,
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

    async def deliver(self, envelope: Envelope) -> bool:
        """Hands an inbound envelope to the projections that consume it; True if one applied it."""
        applied = False
        consumers = (
            KnownAccounts("documents"),
            CalendarsReadModel(),
            IntakeProjection(REQUIREMENTS_INTAKE, self.pipeline),
        )
        for projection in consumers:
            runner = ProjectionRunner(self.store.pool, SERVICE.projection_registry, projection)
            applied |= await runner.handle_raw(*CHAIN.record(envelope))
        return applied

    async def record_requirements(self, envelope: Envelope) -> None:
        """The requirements intake's command for `envelope`, sent again past the consumer's checkpoint."""
        command = REQUIREMENTS_INTAKE.command(envelope)
        await self.pipeline.execute_as_service(command, actor=REQUIREMENTS_INTAKE.actor, cause=Cause.of(envelope))

    async def set_deadline(self, deadline: datetime | None = DEADLINE, academy: str = ACADEMY) -> None:
        self.calendar_version += 1
        event = CalendarSet(
            academy=academy,
            session=SESSION,
            registration_opens=datetime(SESSION - 1, 10, 1, 6, tzinfo=UTC),
            registration_closes=datetime(SESSION - 1, 12, 1, 16, tzinfo=UTC),
            documents_deadline=deadline,
            amex_deadline=None,
            convocations_from=None,
            reason="calendrier de la session",
        )
        assert await self.deliver(self.envelope(f"calendar-{academy}-{SESSION}", self.calendar_version, event, None))

    async def candidate(self, academy: str = ACADEMY) -> Candidate:
        """A candidate account as the accounts topic announces it (the documents service keeps its email)."""
        account = uuid.uuid4()
        email = f"c-{account.hex[:12]}@example.fr"
        created = AccountCreated(
            account_id=account,
            role=Role.CANDIDATE.value,
            last_name="Martin",
            first_names="Léa",
            birth_date=None,
            email=email,
            academy=academy,
        )
        assert await self.deliver(self.envelope(f"account-{account}", 1, created, str(account)))
        principal = Principal(subject=str(account), role=Role.CANDIDATE, academy=academy)
        return Candidate(str(account), self.auth(principal), email)

    def required(
        self, who: Candidate, kinds: Sequence[str], *, version: int | None = None, academy: str = ACADEMY
    ) -> Envelope:
        """A DocumentsRequired envelope of the registration's stream (next version unless given)."""
        stream = f"registration-{who.id}-{SESSION}-{SPECIALTY}"
        if version is None:
            version = self.required_versions.get(stream, 0) + 1
        self.required_versions[stream] = max(version, self.required_versions.get(stream, 0))
        event = DocumentsRequired(
            registration_id=f"{who.id}-{SESSION}-{SPECIALTY}",
            candidate_id=uuid.UUID(who.id),
            academy=academy,
            session=SESSION,
            specialty=SPECIALTY,
            documents=tuple(RequiredDocument(kind=k, label=LABELS.get(k, k), rule="R-19") for k in kinds),
            deadline=DEADLINE,
        )
        return self.envelope(stream, version, event, who.id)

    async def require(self, who: Candidate, kinds: Sequence[str], academy: str = ACADEMY) -> None:
        assert await self.deliver(self.required(who, kinds, academy=academy))

    async def registered(self, kinds: Sequence[str] = EVERY_CANDIDATES, academy: str = ACADEMY) -> Candidate:
        """A candidate whose registration opened their dossier (SESSION, SPECIALTY) as it does in the
        running system: the accounts' AccountCreated, then the registration's DocumentsRequired through
        the requirements intake. Only then may they upload into it (R-18, issue 13)."""
        who = await self.candidate(academy)
        await self.require(who, kinds, academy)
        return who

    async def upload(
        self, who: Candidate, kind: str, data: bytes, *, filename: str = "piece.pdf", chunk: int = 64 * 1024
    ) -> pb.DocumentView:
        view: pb.DocumentView = await self.stub.Upload(
            upload_requests(pb.DossierKey(session=SESSION, specialty=SPECIALTY), kind, data, filename, chunk),
            metadata=who.me,
        )
        return view

    async def refused_upload(self, requests: Iterable[pb.UploadChunk], me: Metadata, code: grpc.StatusCode) -> str:
        """The upload fails with `code` and nothing is stored: no event, no new blob, nothing in staging.

        It goes through the blocking client, in a thread: when the server ends a client-streaming call
        before reading all of it, grpc.aio's client may report INTERNAL "Internal error from Core"
        instead of the server's status (grpc/grpc#36066); the blocking client reports the server's."""
        events, blobs = await self.event_count(), self.blob_files()
        with pytest.raises(grpc.RpcError) as caught:
            await asyncio.to_thread(self.blocking.Upload, iter(requests), metadata=me)
        error = caught.value
        assert isinstance(error, grpc.Call)
        assert error.code() is code, f"{error.code()}: {error.details()}"
        assert await self.event_count() == events
        assert self.blob_files() == blobs
        assert self.staged_files() == []
        return error.details() or ""

    async def download(self, me: Metadata, key: pb.DossierKey, document_id: str) -> bytes:
        call = self.stub.Download(pb.DownloadRequest(key=key, document_id=document_id), metadata=me)
        return b"".join([chunk.data async for chunk in call])

    async def dossier(self, who: Candidate) -> pb.DossierView:
        view: pb.DossierView = await self.stub.GetDossier(who.key(), metadata=self.staff())
        return view

    async def review(self, who: Candidate, document_id: str, accept: bool = True, reason: str = "") -> pb.DossierView:
        request = pb.ReviewRequest(key=who.key(), document_id=document_id, accept=accept, reason=reason)
        view: pb.DossierView = await self.stub.Review(request, metadata=self.staff())
        return view

    async def project(self) -> None:
        """Applies every dossier event to the staff's list (dossier_list), stream by stream."""
        runner = ProjectionRunner(self.store.pool, SERVICE.projection_registry, DossierListReadModel())
        for row in await self.store.pool.fetch("SELECT DISTINCT stream_id FROM events ORDER BY 1"):
            for envelope in await self.store.read_stream(row["stream_id"]):
                await runner.handle_raw(*CHAIN.record(envelope))


def upload_requests(
    key: pb.DossierKey, kind: str, data: bytes, filename: str = "piece.pdf", chunk: int = 64 * 1024
) -> Iterator[pb.UploadChunk]:
    yield pb.UploadChunk(metadata=pb.UploadMetadata(key=key, kind=kind, filename=filename))
    for start in range(0, len(data), chunk):
        yield pb.UploadChunk(data=data[start : start + chunk])


async def refused(call: Awaitable[object], code: grpc.StatusCode) -> str:
    """The call fails with `code`; its details."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() is code, f"{caught.value.code()}: {caught.value.details()}"
    return caught.value.details() or ""


def pdf(title: str = "", pages: int = 1) -> bytes:
    """A small valid PDF; distinct titles give distinct bytes."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": title or uuid.uuid4().hex})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(name="documents")
async def documents_server(isolated_settings: Settings) -> AsyncIterator[DocumentsServer]:
    clock = FixedClock(BEFORE)
    mailer = ListMailer()
    async with open_store(isolated_settings, SERVICE, clock) as store:
        runtime = Runtime(isolated_settings, store, clock)
        built = build_grpc_server(SERVICE, runtime, ports(runtime, mailer))
        async with serving(built, isolated_settings) as served:
            with served.blocking_channel() as blocking:
                documents = DocumentsServer(
                    isolated_settings,
                    store,
                    clock,
                    mailer,
                    served.channel,
                    pb_grpc.DocumentsStub(served.channel),
                    served.target,
                    pb_grpc.DocumentsStub(blocking),
                    built.pipeline,
                )
                await documents.set_deadline()
                yield documents
