"""gRPC servicer of archipel.documents.v1 (uploads and downloads stream in chunks): proto ->
command -> pipeline; reads through the queries port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

import grpc

from archipel.documents.v1 import documents_pb2 as pb
from archipel.documents.v1 import documents_pb2_grpc as pb_grpc
from services.documents import domain
from services.documents.commands import DeclareIncomplete, RejectDossier, ReviewDocument
from services.documents.queries import StoredDossier
from services.documents.service import DocumentsPorts
from services.documents.streams import DossierKey
from services.documents.upload import upload
from shared.auth import Principal, Role, TokenVerifier
from shared.clock import Clock, to_paris
from shared.errors import InvalidInput, NotFound, PermissionDenied
from shared.events import Envelope
from shared.pipeline import Pipeline
from shared.rpc import Authenticated, candidate_key, refuse_nul, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Documents"].full_name
STATES = ("", "complete", "incomplete", "rejected", "waiting")


def _iso(moment: datetime | None) -> str:
    return to_paris(moment).isoformat() if moment else ""


def _uuid(field: str, text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput(field, "not an id (UUID)") from None


def _on(key: DossierKey) -> dict[str, Any]:
    """A command's dossier fields."""
    return {"candidate_id": key.candidate_id, "session": key.session, "specialty": key.specialty}


def notifications(history: list[Envelope]) -> list[tuple[datetime, str, str]]:
    """What the candidate space shows, in French, from the dossier's events (R-24)."""
    shown: list[tuple[datetime, str, str]] = []
    for envelope in history:
        event = envelope.payload
        at = envelope.occurred_at
        text = None
        if event.event_type == "DocumentRejected":
            text = f"Pièce refusée ({getattr(event, 'kind', '')}) : {getattr(event, 'reason', '')}"
        elif event.event_type == "DossierIncomplete":
            missing = ", ".join(getattr(event, "missing", ())) or "aucune"
            wrong = ", ".join(getattr(event, "wrong", ())) or "aucune"
            note = getattr(event, "note", "")
            text = f"Dossier incomplet ou irrégulier. Pièces manquantes : {missing}. Non conformes : {wrong}. {note}"
        elif event.event_type == "DossierRejected":
            text = f"Dossier rejeté : {getattr(event, 'reason', '')}"
        elif event.event_type == "DossierComplete":
            text = "Dossier complet : toutes les pièces sont acceptées."
        if text:
            shown.append((at, event.event_type, text.strip()))
    return shown


def document_view(document: domain.Document, current: bool) -> pb.DocumentView:
    return pb.DocumentView(
        document_id=str(document.document_id),
        kind=document.kind,
        sha256=document.sha256,
        size=document.size,
        content_type=document.content_type,
        label=document.label,
        uploaded_at=_iso(document.uploaded_at),
        review=document.review.value,
        reason=document.reason,
        current=current,
    )


def dossier_view(key: DossierKey, dossier: StoredDossier, fallback_deadline: datetime | None) -> pb.DossierView:
    state = dossier.state
    current = set(state.latest.values())

    def status(kind: str) -> str:
        document_id = state.latest.get(kind)
        return state.documents[document_id].review.value if document_id else "missing"

    return pb.DossierView(
        candidate_id=str(key.candidate_id),
        session=key.session,
        specialty=key.specialty,
        required=[
            pb.Requirement(kind=r.kind, label=r.label, rule=r.rule, status=status(r.kind))
            for r in state.requirements or ()
        ],
        documents=[document_view(d, d.document_id in current) for d in state.documents.values()],
        complete=state.is_complete(),
        rejected=state.rejected,
        missing=list(state.missing()),
        notifications=[
            pb.Notification(at=_iso(at), kind=kind, text=text) for at, kind, text in notifications(dossier.history)
        ],
        deadline=_iso(state.deadline or fallback_deadline),
        requirements_known=state.requirements is not None,
        stream_version=dossier.version,
    )


ERASED = "this document's file was erased (its candidate was forgotten)"


class DocumentsServicer(Authenticated, pb_grpc.DocumentsServicer):
    def __init__(
        self, pipeline: Pipeline[DocumentsPorts], ports: DocumentsPorts, verifier: TokenVerifier, clock: Clock
    ) -> None:
        self.pipeline = pipeline
        self.queries = ports.queries
        self.blobs = ports.blobs
        super().__init__(verifier, clock)

    def _key(self, message: pb.DossierKey, principal: Principal) -> DossierKey:
        return DossierKey(*candidate_key(message, principal))

    async def _dossier(self, principal: Principal, key: DossierKey) -> StoredDossier:
        """The dossier, if the principal may see it (a candidate sees their own even when empty)."""
        dossier = await self.queries.dossier(key)
        academy = dossier.state.academy or principal.academy
        if not principal.may_read(str(key.candidate_id), academy) or (
            principal.role is not Role.CANDIDATE and not dossier.history
        ):
            raise NotFound("no such dossier (or not yours to see)")
        return dossier

    async def _dossier_view(self, principal: Principal, key: DossierKey) -> pb.DossierView:
        dossier = await self._dossier(principal, key)
        academy = dossier.state.academy or principal.academy
        return dossier_view(key, dossier, await self.queries.documents_deadline(academy, key.session))

    @rpc
    async def Upload(
        self, request_iterator: AsyncIterator[pb.UploadChunk], context: grpc.aio.ServicerContext
    ) -> pb.DocumentView:
        principal = self._principal(context)
        first = await anext(aiter(request_iterator), None)
        if first is None or not first.HasField("metadata"):
            raise InvalidInput("metadata", "the first message of an upload carries the metadata (key, kind, filename)")
        refuse_nul(first)
        metadata = first.metadata
        key = self._key(metadata.key, principal)

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in request_iterator:
                if chunk.HasField("metadata"):
                    raise InvalidInput("metadata", "sent twice: only the first message carries it")
                yield chunk.data

        document = await upload(
            self.pipeline, principal, key, kind=metadata.kind, filename=metadata.filename, chunks=chunks()
        )
        return document_view(document, current=True)

    async def Download(
        self, request: pb.DownloadRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.DownloadChunk]:
        opened = await self._open(request, context)
        if opened is None:
            return
        document, chunks = opened
        first = True
        try:
            async for data in chunks:
                yield pb.DownloadChunk(
                    data=data,
                    content_type=document.content_type if first else "",
                    filename=document.label if first else "",
                )
                first = False
        except KeyError:  # erased between the check and the read (a forget meanwhile)
            await context.abort(grpc.StatusCode.NOT_FOUND, ERASED)

    @rpc
    async def _open(
        self, request: pb.DownloadRequest, context: grpc.aio.ServicerContext
    ) -> tuple[domain.Document, AsyncIterator[bytes]] | None:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        document_id = _uuid("document_id", request.document_id)
        document = (await self._dossier(principal, key)).state.documents.get(document_id)
        if document is None:
            raise NotFound("no such document in this dossier")
        if not await self.blobs.exists(document.sha256):  # issue 13 part 7: its candidate was forgotten
            raise NotFound(ERASED)
        return document, self.blobs.open(document.sha256)

    @rpc
    async def GetDossier(self, request: pb.DossierKey, context: grpc.aio.ServicerContext) -> pb.DossierView:
        principal = self._principal(context)
        return await self._dossier_view(principal, self._key(request, principal))

    @rpc
    async def Review(self, request: pb.ReviewRequest, context: grpc.aio.ServicerContext) -> pb.DossierView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        command = ReviewDocument(
            **_on(key),
            document_id=_uuid("document_id", request.document_id),
            accept=request.accept,
            reason=request.reason,
        )
        await self.pipeline.execute(principal, command)
        return await self._dossier_view(principal, key)

    @rpc
    async def DeclareIncomplete(
        self, request: pb.DeclareIncompleteRequest, context: grpc.aio.ServicerContext
    ) -> pb.DossierView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        command = DeclareIncomplete(
            **_on(key), missing=tuple(request.missing), wrong=tuple(request.wrong), note=request.note
        )
        await self.pipeline.execute(principal, command)
        return await self._dossier_view(principal, key)

    @rpc
    async def RejectDossier(
        self, request: pb.RejectDossierRequest, context: grpc.aio.ServicerContext
    ) -> pb.DossierView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        await self.pipeline.execute(principal, RejectDossier(**_on(key), reason=request.reason))
        return await self._dossier_view(principal, key)

    @rpc
    async def ListDossiers(
        self, request: pb.ListDossiersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDossiersResponse:
        principal = self._principal(context)
        if request.state not in STATES:
            raise InvalidInput("state", f"one of {', '.join(s for s in STATES if s)} (or empty)")
        if principal.role is Role.CANDIDATE:
            raise PermissionDenied("staff and auditors list dossiers")
        rows = await self.queries.dossiers(principal.read_scope, request.session or None, request.state or None)
        return pb.ListDossiersResponse(
            dossiers=[
                pb.DossierLine(
                    candidate_id=str(r["candidate_id"]),
                    session=r["session"],
                    specialty=r["specialty"],
                    state=r["state"],
                    missing=r["missing"],
                    pending_review=r["pending_review"],
                )
                for r in rows
            ]
        )
