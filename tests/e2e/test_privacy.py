"""Personal data encrypted per candidate (issue 13 part 7), tried on the running system as an
attacker with the database and the broker would: a candidate's name, email, birth date and handicap
answers never reach the event store or a topic in clear; after `archipel privacy forget` (the key
store's role, a reason, an event), none of them remains in any table of any schema of the deployment
nor in any record of any topic, the file they uploaded in no file of the blob store nor of staging,
`audit verify` has no finding and `audit replay` no difference; a service's role cannot destroy a key."""

from __future__ import annotations

import asyncio
import importlib
import io
import random
import string
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import grpc
import pytest
from kafka import KafkaConsumer, TopicPartition
from pypdf import PdfWriter

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.accounts.v1 import accounts_pb2_grpc as apb_grpc
from archipel.documents.v1 import documents_pb2 as dpb
from archipel.documents.v1 import documents_pb2_grpc as dpb_grpc
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.registration.v1 import registration_pb2_grpc as rpb_grpc
from shared.auth import Principal, Role
from shared.clock import PARIS
from shared.kafka import ADMIN, consumer_config, kafka_access
from shared.settings import SERVICES, Settings
from tests.conftest import env_of
from tests.e2e.candidates import PASSWORD, activated_candidate, start_registration
from tests.e2e.conftest import Inbox, RunningSystem
from tests.e2e.topics import events_of
from tests.tokens import mint

SESSION = 2027


def aio_channel(settings: Settings, service: str) -> grpc.aio.Channel:
    """The channel the services take: mutual TLS once shared.grpc_tls is there (issue 13 part 2)."""
    if "grpc_security" not in Settings.model_fields:
        return grpc.aio.insecure_channel(settings.grpc_target(service))
    channel: grpc.aio.Channel = importlib.import_module("shared.grpc_tls").aio_channel(settings, service)
    return channel


def _token(settings: Settings, role: Role, academy: str) -> str:
    principal = Principal(subject=str(uuid.uuid4()), role=role, academy=academy)
    return mint(settings, principal, datetime.now(UTC), timedelta(hours=1))


def _word(size: int) -> str:
    return "".join(random.choice(string.ascii_lowercase) for _ in range(size))


def _cli(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archipel_cli.main", *arguments],
        env=env_of(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _schemas(settings: Settings) -> list[str]:
    return [*(settings.db_schema(service) for service in SERVICES), settings.keystore_schema]


async def _database_hits(settings: Settings, needles: list[str]) -> list[str]:
    """Every row of every table of the deployment's schemas whose text (bytea columns as bytes)
    contains one of `needles`, case-insensitively: `schema.table: needle`."""
    hits: list[str] = []
    connection = await asyncpg.connect(settings.resolved_database_url())
    try:
        tables = await connection.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE'",
            _schemas(settings),
        )
        assert len(tables) > 20, tables  # the events, the read models, the private tables, the keys
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            binary = await connection.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = $1 AND table_name = $2 AND data_type = 'bytea'",
                table["table_schema"],
                table["table_name"],
            )
            for needle in needles:
                found = await connection.fetchval(
                    f"SELECT count(*) FROM {name} t WHERE position(lower($1) in lower(t::text)) > 0"
                    + "".join(
                        f" OR position(convert_to($1, 'UTF8') in t.\"{column['column_name']}\") > 0"
                        for column in binary
                    ),
                    needle,
                )
                if found:
                    hits.append(f"{table['table_schema']}.{table['table_name']}: {needle}")
    finally:
        await connection.close()
    return hits


def _topic_hits(settings: Settings, needles: list[str]) -> tuple[int, list[str]]:
    """Every record (key, value, headers) of every topic of the deployment holding one of `needles`."""
    consumer = KafkaConsumer(**consumer_config(kafka_access(settings, ADMIN)))
    hits: list[str] = []
    read = 0
    try:
        topics = sorted(t for t in consumer.topics() if t.startswith(f"{settings.topic_prefix}."))
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + 60
        while any(consumer.position(p) < ends[p] for p in partitions):
            assert time.monotonic() < deadline, "the topics were not read to their end"
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    read += 1
                    raw = b"".join([record.key or b"", record.value or b"", *(v for _, v in record.headers)]).lower()
                    hits += [f"{record.topic}@{record.offset}: {n}" for n in needles if n.lower().encode() in raw]
    finally:
        consumer.close()
    return read, hits


async def _upload(settings: Settings, metadata: list[tuple[str, str]], filename: str) -> bytes:
    """An identity document whose file name names the candidate, once the requirements are known;
    its bytes (its own: a title of its own)."""
    own = dpb.DossierKey(session=SESSION, specialty="SIO-SISR")
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(120, 200)
    writer.add_metadata({"/Title": f"piece-{uuid.uuid4().hex}"})
    writer.write(out)
    data = out.getvalue()

    async def chunks() -> AsyncIterator[dpb.UploadChunk]:
        yield dpb.UploadChunk(metadata=dpb.UploadMetadata(key=own, kind="identity", filename=filename))
        yield dpb.UploadChunk(data=data)

    async with aio_channel(settings, "documents") as channel:
        documents = dpb_grpc.DocumentsStub(channel)
        deadline = time.monotonic() + 30
        while not (await documents.GetDossier(own, metadata=metadata)).requirements_known:
            assert time.monotonic() < deadline, "DocumentsRequired never reached the documents service"
            await asyncio.sleep(0.3)
        await documents.Upload(chunks(), metadata=metadata)
    return data


def _files_holding(folder: Path, data: bytes) -> list[Path]:
    """The files under `folder` (the blob store, staging) holding `data`."""
    return [p for p in folder.rglob("*") if p.is_file() and data in p.read_bytes()] if folder.exists() else []


def _local(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


async def test_personal_data_is_sealed_and_forgetting_a_candidate_leaves_no_clear_trace(
    system: RunningSystem, inbox: Inbox
) -> None:
    settings = system.settings
    staff = _token(settings, Role.STAFF, "aix-marseille")
    last_name, first_names = f"Oubli{_word(10)}", f"Prenom{_word(8)}"
    email = f"{_word(12)}@example.org"
    birth = f"19{random.randint(60, 89)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}"
    amex = f"AMEX-{_word(10).upper()}"
    needles = [last_name, first_names, email, email.split("@", maxsplit=1)[0], birth, amex]

    async with (
        aio_channel(settings, "accounts") as accounts_channel,
        aio_channel(settings, "registration") as registration_channel,
    ):
        accounts = apb_grpc.AccountsStub(accounts_channel)
        registration = rpb_grpc.RegistrationStub(registration_channel)
        now = datetime.now(PARIS)
        await registration.SetCalendar(
            rpb.SetCalendarRequest(
                academy="aix-marseille",
                session=SESSION,
                registration_opens=_local(now - timedelta(days=1)),
                registration_closes=_local(now + timedelta(days=30)),
                documents_deadline=_local(now + timedelta(days=45)),
                reason="ouverture de la session",
            ),
            metadata=[("authorization", f"Bearer {staff}")],
        )
        candidate_id, token = await activated_candidate(
            accounts, inbox, last_name=last_name, first_names=first_names, birth_date=birth, email=email
        )
        metadata = [("authorization", f"Bearer {token}")]
        key = rpb.RegistrationKey(session=SESSION, specialty="SIO-SISR")
        await start_registration(registration, key, metadata)
        await registration.ChooseExamForm(rpb.ChooseExamFormRequest(key=key, form="globale"), metadata=metadata)
        await registration.ChooseLanguage(
            rpb.ChooseLanguageRequest(key=key, language="anglais", teaching_followed=True), metadata=metadata
        )
        await registration.DeclareHandicap(
            rpb.DeclareHandicapRequest(key=key, handicap=True, amex_reference=amex, existing_decision=True),
            metadata=metadata,
        )
        # The registration decides from its sealed events: the handicap is carried to the confirmation.
        view = await registration.ConfirmRegistration(rpb.ConfirmRegistrationRequest(key=key), metadata=metadata)
        assert view.confirmed and view.handicap == "oui"
    uploaded = await _upload(settings, metadata, f"piece-identite-{last_name}-{first_names}.pdf")
    assert len(_files_holding(settings.home / "blobs", uploaded)) == 1

    # Sealed: the store and the topics hold none of it; the read models do (they show the candidate).
    deadline = time.monotonic() + 30
    while not any("known_accounts" in hit for hit in await _database_hits(settings, needles)):
        assert time.monotonic() < deadline, "the candidate never reached the read models"
        await asyncio.sleep(0.5)
    before = await _database_hits(settings, needles)
    assert not [hit for hit in before if ".events:" in hit], before
    assert any(hit.startswith(f"{settings.db_schema('accounts')}.account_emails: {email}") for hit in before), before
    read, on_topics = await asyncio.to_thread(_topic_hits, settings, needles)
    assert read > 10 and on_topics == [], on_topics
    answers = await asyncio.to_thread(
        events_of, settings, settings.topic("registration"), candidate_id, {"HandicapDeclared", "RegistrationConfirmed"}
    )
    for record in answers:  # the handicap answers themselves (booleans) travel sealed only
        payload = record["payload"]
        assert isinstance(payload, dict)
        if record["event_type"] in ("HandicapDeclared", "RegistrationConfirmed"):
            assert "sealed" in payload and not {"handicap", "amex_reference", "existing_decision"} & set(payload)

    # A service's role may read keys, never destroy one.
    service_role = await asyncpg.connect(settings.database_url_for("registration"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await service_role.execute(f"SELECT {settings.keystore_schema}.destroy($1)", candidate_id)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await service_role.execute(f"DELETE FROM {settings.keystore_schema}.data_keys")
    finally:
        await service_role.close()

    forgotten = _cli(
        settings,
        *("privacy", "forget", candidate_id, "--reason", "demande RGPD n° 42", "--operator", "dpo.rectorat"),
    )
    assert forgotten.returncode == 0, forgotten.stderr
    assert '"already": false' in forgotten.stdout

    deadline = time.monotonic() + 60
    while hits := await _database_hits(settings, needles):
        assert time.monotonic() < deadline, f"clear personal data left after forget: {hits}"
        await asyncio.sleep(0.5)
    read, on_topics = await asyncio.to_thread(_topic_hits, settings, needles)
    assert on_topics == [], on_topics
    while files := _files_holding(settings.home / "blobs", uploaded) + _files_holding(
        settings.home / "staging", uploaded
    ):
        assert time.monotonic() < deadline, f"the uploaded file left after forget: {files}"
        await asyncio.sleep(0.5)

    national = _token(settings, Role.NATIONAL_AUDITOR, "national")
    # The e2e systems share the real topics (tests/e2e/conftest.py): the records of earlier runs, whose
    # stores are gone, are findings of their own streams; none may concern this run's store or candidate
    # (tests/integration/test_personal_data.py checks a deployment of its own: 0 findings).
    verify = _cli(settings, "audit", "verify", "--token", national)
    findings = [line for line in verify.stdout.splitlines() if line.split(" ", 1)[0].isupper()]
    assert verify.stdout.strip(), verify.stderr
    assert not [line for line in findings if candidate_id in line or line.split()[1].startswith("store")], findings
    replay = _cli(settings, "audit", "replay", "--wait", "60", "--token", national)
    assert replay.returncode == 0, replay.stdout + replay.stderr

    # The account reads as erased; the registration still decides (the handicap now reads as none).
    async with aio_channel(settings, "accounts") as accounts_channel:
        accounts = apb_grpc.AccountsStub(accounts_channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await accounts.Login(apb.LoginRequest(email=email, password=PASSWORD))
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
