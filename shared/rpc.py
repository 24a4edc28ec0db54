"""gRPC plumbing shared by the services: the server with health and reflection, the
authentication interceptor, and the mapping of errors to status codes (DESIGN rule 9)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar
from uuid import UUID

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace
from pydantic import ValidationError

from shared.auth import Principal, Role, bearer, verify_token
from shared.clock import Clock
from shared.errors import (
    AlreadyExists,
    ArchipelError,
    ConcurrencyError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleViolation,
    Unauthenticated,
)
from shared.telemetry import tracer

log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[ArchipelError], grpc.StatusCode], ...] = (
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (RuleViolation, grpc.StatusCode.FAILED_PRECONDITION),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (ConcurrencyError, grpc.StatusCode.ABORTED),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
)


def status_for(error: ArchipelError) -> grpc.StatusCode:
    for kind, code in _STATUS:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL


def invalid_input_from(error: ValidationError) -> InvalidInput:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "request"
    return InvalidInput(field, first["msg"])


def refuse_nul(message: Message, prefix: str = "") -> None:
    """PostgreSQL text and jsonb cannot hold U+0000: a string carrying it is bad input, refused at
    the door naming the field, rather than an INTERNAL error at the first INSERT or SELECT."""
    for field, value in message.ListFields():
        name = prefix + field.name
        items = value if not isinstance(value, str | bytes | Message) and isinstance(value, Iterable) else (value,)
        for item in items:
            if isinstance(item, str) and "\x00" in item:
                raise InvalidInput(name, "must not contain the NUL character")
            if isinstance(item, Message):
                refuse_nul(item, name + ".")


Request = TypeVar("Request")
Response = TypeVar("Response")
Method = Callable[[Any, Request, grpc.aio.ServicerContext], Awaitable[Response]]


def rpc(method: Method[Request, Response]) -> Method[Request, Response]:
    """Wraps a servicer method: one server span, domain errors to status codes, and bad input
    (pydantic validation, NUL characters) to INVALID_ARGUMENT naming the field; never INTERNAL for
    bad input."""
    span_name = f"grpc.{method.__qualname__}"

    @functools.wraps(method)
    async def wrapper(self: Any, request: Request, context: grpc.aio.ServicerContext) -> Response:
        with tracer("archipel.grpc").start_as_current_span(span_name, kind=trace.SpanKind.SERVER):
            try:
                if isinstance(request, Message):
                    refuse_nul(request)
                return await method(self, request, context)
            except ValidationError as error:
                failure: ArchipelError = invalid_input_from(error)
            except ArchipelError as error:
                failure = error
            await context.abort(status_for(failure), failure.message)
            raise AssertionError("abort returned")  # pragma: no cover

    return wrapper


class KeyMessage(Protocol):
    """The (candidate, session, specialty) key every candidate-facing request carries."""

    candidate_id: str
    session: int
    specialty: str


def candidate_key(message: KeyMessage, principal: Principal) -> tuple[UUID, int, str]:
    """Validates a request's key; a candidate may leave candidate_id empty (= the caller)."""
    text = message.candidate_id or (principal.subject if principal.role is Role.CANDIDATE else "")
    if not text:
        raise InvalidInput("key.candidate_id", "required for staff and auditors")
    try:
        candidate = UUID(text)
    except ValueError:
        raise InvalidInput("key.candidate_id", "not a candidate id (UUID)") from None
    if not 2000 <= message.session <= 2100:
        raise InvalidInput("key.session", "a session year such as 2026")
    if not message.specialty:
        raise InvalidInput("key.specialty", "required, e.g. SIO-SISR")
    return candidate, message.session, message.specialty


def principal_of(context: grpc.aio.ServicerContext, secret: str, clock: Clock) -> Principal:
    token = bearer(context.invocation_metadata())
    if token is None:
        raise Unauthenticated("missing bearer token (metadata 'authorization: Bearer <token>')")
    return verify_token(token, secret, clock())


class Authenticated:
    """Base of every servicer: it names its caller from the bearer token (DESIGN rule 8)."""

    def __init__(self, secret: str, clock: Clock) -> None:
        self.secret = secret
        self.clock = clock

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        return principal_of(context, self.secret, self.clock)


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Rejects calls without a valid token, except the public methods (account creation,
    activation, login) and the health and reflection services."""

    def __init__(self, secret: str, clock: Clock, public_methods: Iterable[str]) -> None:
        self._secret = secret
        self._clock = clock
        self._public = frozenset(public_methods)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = details.method
        if method in self._public or method.startswith("/grpc.health.") or method.startswith("/grpc.reflection."):
            return await continuation(details)
        token = bearer(details.invocation_metadata)
        try:
            if token is None:
                raise Unauthenticated("missing bearer token (metadata 'authorization: Bearer <token>')")
            verify_token(token, self._secret, self._clock())
        except Unauthenticated as error:
            return _refusal(grpc.StatusCode.UNAUTHENTICATED, error.message)
        return await continuation(details)


def _refusal(code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    async def refuse(request: object, context: grpc.aio.ServicerContext) -> None:
        await context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(refuse)


def build_server(
    *,
    secret: str,
    clock: Clock,
    public_methods: Iterable[str],
    service_names: Iterable[str],
    register: Callable[[grpc.aio.Server], None],
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    server = grpc.aio.server(interceptors=[AuthInterceptor(secret, clock, public_methods)])
    register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [
        *service_names,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
    ]
    reflection.enable_server_reflection(names, server)
    return server, health_servicer


async def mark_serving(health_servicer: health.aio.HealthServicer, service_names: Iterable[str]) -> None:
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
