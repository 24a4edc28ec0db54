"""gRPC plumbing shared by the services: the server with health and reflection, the
authentication interceptor, and the mapping of errors to status codes (DESIGN rule 9)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar
from uuid import UUID

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace
from pydantic import ValidationError

from shared.auth import Principal, Role, TokenVerifier, TokenVersions, bearer, check_version
from shared.clock import Clock
from shared.errors import (
    AlreadyExists,
    ArchipelError,
    ConcurrencyError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    RuleViolation,
    Unauthenticated,
)
from shared.rpc_guard import INTERNAL_MESSAGE, GuardInterceptor
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
    (RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
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


MAX_MESSAGE = 512  # characters of an error message: the field and the rule, never the whole value
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def bounded(message: str, limit: int = MAX_MESSAGE) -> str:
    """`message` cut to `limit` characters (the last guard: messages name fields, not values)."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def one_line(message: str, limit: int = 200) -> str:
    """`message` for a log line: control characters (newlines) blanked, cut to `limit`."""
    return bounded(_CONTROL.sub(" ", message), limit)


def rpc(method: Method[Request, Response]) -> Method[Request, Response]:
    """Wraps a servicer method: one server span, domain errors to status codes, and bad input
    (pydantic validation, NUL characters) to INVALID_ARGUMENT naming the field; never INTERNAL for
    bad input. A refused request logs one line (method, status, field and rule) and its message is
    bounded; an unexpected exception logs its traceback and answers INTERNAL (never UNKNOWN)."""
    name = method.__qualname__
    span_name = f"grpc.{name}"

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
            except grpc.aio.AbortError:
                raise
            except Exception:
                log.exception("unexpected error in %s", name)
                await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
                raise AssertionError("abort returned") from None  # pragma: no cover
            code = status_for(failure)
            if code is grpc.StatusCode.INTERNAL:
                log.error("unexpected error in %s: %s", name, one_line(failure.message), exc_info=failure)
                await context.abort(code, INTERNAL_MESSAGE)
            log.info("refused %s: %s %s", name, code.name, one_line(failure.message))
            await context.abort(code, bounded(failure.message))
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


def principal_of(context: grpc.aio.ServicerContext, verifier: TokenVerifier, clock: Clock) -> Principal:
    token = bearer(context.invocation_metadata())
    if token is None:
        raise Unauthenticated("missing bearer token (metadata 'authorization: Bearer <token>')")
    return verifier.verify(token, clock())


class Authenticated:
    """Base of every servicer: it names its caller from the bearer token (DESIGN rule 8)."""

    def __init__(self, verifier: TokenVerifier, clock: Clock) -> None:
        self.verifier = verifier
        self.clock = clock

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        return principal_of(context, self.verifier, self.clock)


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Rejects calls without a valid token for this service (signature by a published key, its
    audience naming this service, not expired, not older than its account's token version),
    except the public methods (account creation, activation, login) and health and reflection."""

    def __init__(
        self,
        verifier: TokenVerifier,
        clock: Clock,
        public_methods: Iterable[str],
        versions: TokenVersions | None = None,
    ) -> None:
        self._verifier = verifier
        self._clock = clock
        self._public = frozenset(public_methods)
        self._versions = versions

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method: str = details.method
        handler = await continuation(details)
        if (
            handler is None
            or method in self._public
            or method.startswith("/grpc.health.")
            or method.startswith("/grpc.reflection.")
        ):
            return handler
        token = bearer(details.invocation_metadata)
        try:
            if token is None:
                raise Unauthenticated("missing bearer token (metadata 'authorization: Bearer <token>')")
            principal = self._verifier.verify(token, self._clock())
            if self._versions is not None:
                await check_version(self._versions, principal)
        except Unauthenticated as error:
            log.info("refused %s: UNAUTHENTICATED %s", method, one_line(error.message))
            return _refusal(handler, grpc.StatusCode.UNAUTHENTICATED, bounded(error.message))
        return handler


def _refusal(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    """A handler refusing at once, reading no request: its request is taken as a client stream (the
    same thing on the wire as a unary request) so that a call is answered before its first message,
    even if it never sends one (an upload), or sends one too large to be received."""

    async def refuse(requests: object, context: grpc.aio.ServicerContext) -> None:
        await context.abort(code, message)

    if handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    return grpc.stream_unary_rpc_method_handler(refuse)


def build_server(
    *,
    verifier: TokenVerifier,
    clock: Clock,
    public_methods: Iterable[str],
    service_names: Iterable[str],
    register: Callable[[grpc.aio.Server], None],
    versions: TokenVersions | None = None,
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    auth = AuthInterceptor(verifier, clock, public_methods, versions)
    server = grpc.aio.server(interceptors=[GuardInterceptor(), auth])
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
