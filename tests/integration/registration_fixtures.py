"""The registration gRPC server on a free port, in the test's event loop, over the real PostgreSQL
(schema of `isolated_settings`), with a FixedClock inside the Aix-Marseille 2026 window.

The accounts service does not run: a candidate becomes known (and activated) to the registration
service by applying inbound AccountCreated / AccountActivated envelopes to its KnownAccounts read model
through ProjectionRunner.handle_raw, exactly as its Kafka consumer would."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from google.protobuf.message import Message
from pypdf import PdfReader

from archipel.registration.v1 import registration_pb2 as pb
from archipel.registration.v1 import registration_pb2_grpc as pb_grpc
from services.registration.service import SERVICE
from services.registration.streams import registration_stream
from shared.auth import Principal, Role
from shared.chain_check import LocalChain
from shared.clock import FixedClock
from shared.contracts.accounts import AccountActivated, AccountCreated
from shared.events import DomainEvent, Envelope
from shared.eventstore import EventStore
from shared.known_accounts import KnownAccounts
from shared.projections import ProjectionRunner
from shared.service import Runtime, build_grpc_server, open_store
from shared.settings import Settings
from tests.grpc_serving import serving
from tests.tokens import mint

CHAIN = LocalChain()  # what a relay publishes for events fed in-process (shared.chain_check)

# Inside the Aix-Marseille 2026 window (10 October 2025 08:00 to 12 November 2025 17:00, Paris).
INSIDE = datetime(2025, 10, 20, 10, 0, tzinfo=UTC)
ACADEMY = "aix-marseille"
SPECIALTY = "SIO-SISR"
SESSION = 2026
Metadata = tuple[tuple[str, str], ...]


@dataclass
class RegistrationServer:
    settings: Settings
    store: EventStore
    clock: FixedClock
    channel: grpc.aio.Channel
    stub: pb_grpc.RegistrationStub
    target: str

    async def event_count(self, event_type: str | None = None) -> int:
        count: int = await self.store.pool.fetchval(
            "SELECT count(*) FROM events WHERE $1::text IS NULL OR event_type = $1", event_type
        )
        return count

    async def event_types(self, stream: str) -> list[str]:
        return [e.event_type for e in await self.store.read_stream(stream)]

    def auth(self, principal: Principal) -> Metadata:
        """Bearer metadata; the token outlives any move of the clock a test makes."""
        token = mint(self.settings, principal, self.clock(), timedelta(days=400))
        return (("authorization", f"Bearer {token}"),)

    async def _inbound(self, stream: str, version: int, event: DomainEvent, account: uuid.UUID) -> None:
        runner = ProjectionRunner(self.store.pool, SERVICE.projection_registry, KnownAccounts("registration"))
        envelope = Envelope(
            event_id=uuid.uuid4(),
            stream_id=stream,
            stream_version=version,
            event_type=event.event_type,
            schema_version=event.schema_version,
            occurred_at=self.clock(),
            recorded_at=self.clock(),
            academy=ACADEMY,
            actor="accounts-test",
            candidate_id=str(account),
            correlation_id=uuid.uuid4(),
            causation_id=None,
            payload=event,
        )
        assert await runner.handle_raw(*CHAIN.record(envelope))

    async def candidate(
        self, *, activated: bool = True, academy: str = ACADEMY, last_name: str = "Martin"
    ) -> tuple[str, Metadata]:
        """A candidate account as the accounts topic announces it; returns (id, bearer metadata)."""
        account = uuid.uuid4()
        stream = f"account-{account}"
        created = AccountCreated(
            account_id=account,
            role=Role.CANDIDATE.value,
            last_name=last_name,
            first_names="Léa Anne",
            birth_date=date(2004, 5, 14),
            email=f"c-{account.hex[:12]}@example.fr",
            academy=academy,
        )
        await self._inbound(stream, 1, created, account)
        if activated:
            await self._inbound(
                stream, 2, AccountActivated(account_id=account, academy=academy, activated_at=self.clock()), account
            )
        principal = Principal(subject=str(account), role=Role.CANDIDATE, academy=academy)
        return str(account), self.auth(principal)

    def staff(self, academy: str = ACADEMY, role: Role = Role.STAFF) -> Metadata:
        return self.auth(Principal(subject=f"{role.value}-{uuid.uuid4().hex[:8]}", role=role, academy=academy))

    async def set_window(self, session: int, opens: str = "2025-10-01T08:00", closes: str = "2025-12-01T17:00") -> None:
        """Staff set a calendar for `session` whose window contains the clock."""
        await self.stub.SetCalendar(
            pb.SetCalendarRequest(
                academy=ACADEMY,
                session=session,
                registration_opens=opens,
                registration_closes=closes,
                documents_deadline="2025-12-15T17:00",
                reason="test calendar",
            ),
            metadata=self.staff(),
        )


def key(candidate_id: str = "", session: int = SESSION, specialty: str = SPECIALTY) -> pb.RegistrationKey:
    return pb.RegistrationKey(candidate_id=candidate_id, session=session, specialty=specialty)


def stream_of(candidate_id: str, session: int = SESSION, specialty: str = SPECIALTY) -> str:
    return registration_stream(uuid.UUID(candidate_id), session, specialty)


@pytest.fixture(name="registration")
async def registration_server(isolated_settings: Settings) -> AsyncIterator[RegistrationServer]:
    clock = FixedClock(INSIDE)
    async with open_store(isolated_settings, SERVICE, clock) as store:
        built = build_grpc_server(SERVICE, Runtime(isolated_settings, store, clock))
        async with serving(built, isolated_settings) as served:
            channel = served.channel
            yield RegistrationServer(
                isolated_settings, store, clock, channel, pb_grpc.RegistrationStub(channel), served.target
            )


async def refused(call: Awaitable[object], code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() is code, f"{caught.value.code()}: {caught.value.details()}"
    return caught.value.details() or ""


async def confirmed(r: RegistrationServer, me: Metadata, k: pb.RegistrationKey) -> pb.RegistrationView:
    """Start (distance), forme globale, language, one optional test (UF1), confirm."""
    await r.stub.StartRegistration(pb.StartRegistrationRequest(key=k, category="distance"), metadata=me)
    await r.stub.ChooseExamForm(pb.ChooseExamFormRequest(key=k, form="globale"), metadata=me)
    await r.stub.ChooseLanguage(
        pb.ChooseLanguageRequest(key=k, language="anglais", teaching_followed=True), metadata=me
    )
    await r.stub.ChooseOptionalUnits(pb.ChooseOptionalUnitsRequest(key=k, units=["UF1"]), metadata=me)
    view: pb.RegistrationView = await r.stub.ConfirmRegistration(pb.ConfirmRegistrationRequest(key=k), metadata=me)
    return view


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def every_command(k: pb.RegistrationKey, other: pb.RegistrationKey) -> list[tuple[str, Message]]:
    return [
        ("StartRegistration", pb.StartRegistrationRequest(key=other, category="individual")),
        ("ChangeCategory", pb.ChangeCategoryRequest(key=k, category="repeater")),
        ("ChooseExamForm", pb.ChooseExamFormRequest(key=k, form="progressive", units=["U1"])),
        ("ChooseLanguage", pb.ChooseLanguageRequest(key=k, language="anglais", teaching_followed=True)),
        ("ChooseOptionalUnits", pb.ChooseOptionalUnitsRequest(key=k, units=["UF2"])),
        ("DeclareBenefit", pb.DeclareBenefitRequest(key=k, unit="U3", grade="12.5", session_obtained=2024)),
        ("RenounceBenefit", pb.RenounceBenefitRequest(key=k, unit="U3", confirm=True)),
        ("DeclareExemption", pb.DeclareExemptionRequest(key=k, unit="U1", ground="diploma", detail="Licence")),
        ("WithdrawExemption", pb.WithdrawExemptionRequest(key=k, unit="U1")),
        ("DeclareSituation", pb.DeclareSituationRequest(key=k, training_shortened=True)),
        ("DeclareHandicap", pb.DeclareHandicapRequest(key=k, handicap=True, amex_reference="AMEX-1")),
        ("ConfirmRegistration", pb.ConfirmRegistrationRequest(key=k)),
    ]
