"""gRPC servicer of archipel.documents.v1 (uploads and downloads stream in chunks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

import grpc

from archipel.documents.v1 import documents_pb2 as pb
from archipel.documents.v1 import documents_pb2_grpc as pb_grpc
from services.documents import domain
from services.documents.commands import DeclareIncomplete, RejectDossier, ReviewDocument
from services.documents.handlers import DocumentsHandlers, Dossier, Key, notifications
from shared.auth import Principal
from shared.clock import Clock, to_paris
from shared.errors import InvalidInput
from shared.rpc import candidate_key, principal_of, refuse_nul, rpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Documents"].full_name
STATES = ("", "complete", "incomplete", "rejected", "waiting")


def _iso(moment: datetime | None) -> str:
    return to_paris(moment).isoformat() if moment else ""


def _uuid(field: str, text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput(field, "not an id (UUID)") from None


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


def dossier_view(key: Key, dossier: Dossier, fallback_deadline: datetime | None) -> pb.DossierView:
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


class DocumentsServicer(pb_grpc.DocumentsServicer):
    def __init__(self, handlers: DocumentsHandlers, secret: str, clock: Clock) -> None:
        self.handlers = handlers
        self.secret = secret
        self.clock = clock

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        return principal_of(context, self.secret, self.clock)

    def _key(self, message: pb.DossierKey, principal: Principal) -> Key:
        return Key(*candidate_key(message, principal))

    async def _dossier_view(self, principal: Principal, key: Key) -> pb.DossierView:
        dossier = await self.handlers.get(principal, key)
        fallback = await self.handlers.deadline(dossier.state.academy or principal.academy, key.session)
        return dossier_view(key, dossier, fallback)

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

        document = await self.handlers.upload(principal, key, metadata.kind, metadata.filename, chunks())
        return document_view(document, current=True)

    async def Download(
        self, request: pb.DownloadRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.DownloadChunk]:
        opened = await self._open(request, context)
        if opened is None:
            return
        document, chunks = opened
        first = True
        async for data in chunks:
            yield pb.DownloadChunk(
                data=data, content_type=document.content_type if first else "", filename=document.label if first else ""
            )
            first = False

    @rpc
    async def _open(
        self, request: pb.DownloadRequest, context: grpc.aio.ServicerContext
    ) -> tuple[domain.Document, AsyncIterator[bytes]] | None:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        return await self.handlers.download(principal, key, _uuid("document_id", request.document_id))

    @rpc
    async def GetDossier(self, request: pb.DossierKey, context: grpc.aio.ServicerContext) -> pb.DossierView:
        principal = self._principal(context)
        return await self._dossier_view(principal, self._key(request, principal))

    @rpc
    async def Review(self, request: pb.ReviewRequest, context: grpc.aio.ServicerContext) -> pb.DossierView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        command = ReviewDocument(
            document_id=_uuid("document_id", request.document_id), accept=request.accept, reason=request.reason
        )
        await self.handlers.execute(principal, key, command)
        return await self._dossier_view(principal, key)

    @rpc
    async def DeclareIncomplete(
        self, request: pb.DeclareIncompleteRequest, context: grpc.aio.ServicerContext
    ) -> pb.DossierView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        command = DeclareIncomplete(missing=tuple(request.missing), wrong=tuple(request.wrong), note=request.note)
        await self.handlers.execute(principal, key, command)
        return await self._dossier_view(principal, key)

    @rpc
    async def RejectDossier(
        self, request: pb.RejectDossierRequest, context: grpc.aio.ServicerContext
    ) -> pb.DossierView:
        principal = self._principal(context)
        key = self._key(request.key, principal)
        await self.handlers.execute(principal, key, RejectDossier(reason=request.reason))
        return await self._dossier_view(principal, key)

    @rpc
    async def ListDossiers(
        self, request: pb.ListDossiersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDossiersResponse:
        principal = self._principal(context)
        if request.state not in STATES:
            raise InvalidInput("state", f"one of {', '.join(s for s in STATES if s)} (or empty)")
        rows = await self.handlers.list_dossiers(principal, request.session or None, request.state or None)
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
