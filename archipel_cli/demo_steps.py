"""The gRPC steps of `archipel demo`, one candidate or one staff action each, against the running
services. Each step that depends on an event crossing a topic retries until it has arrived."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

import grpc
from pypdf import PdfWriter

from archipel.accounts.v1 import accounts_pb2 as apb
from archipel.accounts.v1 import accounts_pb2_grpc as apb_grpc
from archipel.documents.v1 import documents_pb2 as dpb
from archipel.documents.v1 import documents_pb2_grpc as dpb_grpc
from archipel.dossier.v1 import dossier_pb2_grpc as opb_grpc
from archipel.registration.v1 import registration_pb2 as rpb
from archipel.registration.v1 import registration_pb2_grpc as rpb_grpc
from archipel.results.v1 import results_pb2_grpc as spb_grpc
from shared.grpc_tls import aio_channel
from shared.settings import Settings

T = TypeVar("T")
SPECIALTY = "SIO-SISR"
PASSWORD = "demo-mot-de-passe"
_TOKEN = re.compile(r"jeton=([A-Za-z0-9_\-.]+)")


@dataclass
class Stubs:
    accounts: apb_grpc.AccountsStub
    registration: rpb_grpc.RegistrationStub
    documents: dpb_grpc.DocumentsStub
    results: spb_grpc.ResultsStub
    dossier: opb_grpc.DossierStub
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @classmethod
    def open(cls, settings: Settings) -> Stubs:
        names = ("accounts", "registration", "documents", "results", "dossier")
        channels = [aio_channel(settings, name) for name in names]
        return cls(
            apb_grpc.AccountsStub(channels[0]),
            rpb_grpc.RegistrationStub(channels[1]),
            dpb_grpc.DocumentsStub(channels[2]),
            spb_grpc.ResultsStub(channels[3]),
            opb_grpc.DossierStub(channels[4]),
            channels,
        )

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


async def retry(action: Callable[[], Awaitable[T]], codes: tuple[grpc.StatusCode, ...], what: str) -> T:
    """`action` until it stops failing with one of `codes` (an event still on its way), 60 s at most."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return await action()
        except grpc.aio.AioRpcError as error:
            if error.code() not in codes or time.monotonic() > deadline:
                raise RuntimeError(f"{what}: {error.code().name}: {error.details()}") from error
            await asyncio.sleep(0.3)


async def activation_token(mail: Path, recipient: str) -> str:
    """The token of the newest .eml addressed to `recipient` in the services' mail folder."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        token = await asyncio.to_thread(_newest_token, mail, recipient)
        if token is not None:
            return token
        await asyncio.sleep(0.3)
    raise RuntimeError(f"no activation mail for {recipient} in {mail} (are the services sending by SMTP?)")


def _newest_token(mail: Path, recipient: str) -> str | None:
    files = sorted(mail.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True) if mail.exists() else []
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if isinstance(message, EmailMessage) and message["To"] == recipient:
            body = message.get_body(preferencelist=("plain",))
            found = _TOKEN.search(body.get_content() if body is not None else "")
            if found:
                return found.group(1)
    return None


async def create_candidate(stubs: Stubs, mail: Path, email: str, name: tuple[str, str], academy: str) -> str:
    """Creates and activates the account, logs in; returns the candidate's bearer token."""
    await stubs.accounts.CreateAccount(
        apb.CreateAccountRequest(
            last_name=name[0], first_names=name[1], birth_date="2004-05-14", email=email, password=PASSWORD,
            academy=academy,
        )
    )  # fmt: skip
    token = await activation_token(mail, email)
    await stubs.accounts.ActivateAccount(apb.ActivateAccountRequest(token=token, password=PASSWORD))
    session = await stubs.accounts.Login(apb.LoginRequest(email=email, password=PASSWORD))
    return str(session.token)


async def register(stubs: Stubs, token: str, session: int, category: str) -> rpb.RegistrationView:
    """Starts (once the activation reached registration), chooses form, language and an option, confirms."""
    key = rpb.RegistrationKey(session=session, specialty=SPECIALTY)
    md = bearer(token)
    await retry(
        lambda: stubs.registration.StartRegistration(
            rpb.StartRegistrationRequest(key=key, category=category), metadata=md
        ),
        (grpc.StatusCode.FAILED_PRECONDITION,),
        "start registration",
    )
    await stubs.registration.ChooseExamForm(rpb.ChooseExamFormRequest(key=key, form="globale"), metadata=md)
    await stubs.registration.ChooseLanguage(
        rpb.ChooseLanguageRequest(key=key, language="anglais", teaching_followed=True), metadata=md
    )
    await stubs.registration.ChooseOptionalUnits(rpb.ChooseOptionalUnitsRequest(key=key, units=["UF2"]), metadata=md)
    view: rpb.RegistrationView = await stubs.registration.ConfirmRegistration(
        rpb.ConfirmRegistrationRequest(key=key), metadata=md
    )
    return view


def pdf(width: int) -> bytes:
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width, 200)
    writer.write(out)
    return out.getvalue()


async def upload(stubs: Stubs, token: str, session: int, kind: str, width: int) -> dpb.DocumentView:
    key = dpb.DossierKey(session=session, specialty=SPECIALTY)
    data = pdf(width)

    async def chunks() -> AsyncIterator[dpb.UploadChunk]:
        yield dpb.UploadChunk(metadata=dpb.UploadMetadata(key=key, kind=kind, filename=f"{kind}.pdf"))
        for start in range(0, len(data), 512):
            yield dpb.UploadChunk(data=data[start : start + 512])

    view: dpb.DocumentView = await stubs.documents.Upload(chunks(), metadata=bearer(token))
    return view


async def documents(stubs: Stubs, token: str, staff: str, candidate_id: str, *, session: int, reject: bool) -> None:
    """Uploads every required document; staff accepts them (rejecting the first one when `reject`,
    which the candidate then replaces)."""
    own = dpb.DossierKey(session=session, specialty=SPECIALTY)
    theirs = dpb.DossierKey(candidate_id=candidate_id, session=session, specialty=SPECIALTY)
    deadline = time.monotonic() + 60
    while not (dossier := await stubs.documents.GetDossier(own, metadata=bearer(token))).requirements_known:
        if time.monotonic() > deadline:
            raise RuntimeError("the documents service never learnt the requirements")
        await asyncio.sleep(0.3)
    kinds = [requirement.kind for requirement in dossier.required]
    for width, kind in enumerate(kinds, start=100):
        document = await upload(stubs, token, session, kind, width)
        if reject and width == 100:
            await stubs.documents.Review(
                dpb.ReviewRequest(key=theirs, document_id=document.document_id, accept=False, reason="illisible"),
                metadata=bearer(staff),
            )
            document = await upload(stubs, token, session, kind, 300)
        await stubs.documents.Review(
            dpb.ReviewRequest(key=theirs, document_id=document.document_id, accept=True), metadata=bearer(staff)
        )
