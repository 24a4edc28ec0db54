"""The outermost gRPC interceptor of every Archipel server: a request that cannot be decoded (a
malformed protobuf message, a string field of invalid UTF-8) gets INVALID_ARGUMENT, in unary and
streaming RPCs alike, instead of the UNKNOWN and the traceback grpc gives a decode error raised
before the servicer runs; and an exception that escapes a handler (one not wrapped by `rpc`, a
response stream) is logged with its traceback and answered INTERNAL, never UNKNOWN.

The handlers' deserializers are wrapped to return UNDECODABLE instead of raising; the wrapped
behaviour refuses that marker (a unary request at once, a streamed one where it is read). A unary
request is read as a client stream (the same thing on the wire) so that a call closed without any
message is refused at once, where grpc would leave it unanswered until its deadline."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

log = logging.getLogger(__name__)

NO_MESSAGE = "request: no message (the call was closed before sending its request)"
UNDECODABLE_MESSAGE = "request: not a valid message of this method (malformed protobuf or a string of invalid UTF-8)"
INTERNAL_MESSAGE = "internal error (logged on the server)"


class _Undecodable:
    """The marker a wrapped deserializer returns for bytes it cannot decode."""

    def __repr__(self) -> str:
        return "UNDECODABLE"


UNDECODABLE = _Undecodable()

Deserializer = Callable[[bytes], Any]


def lenient(deserializer: Deserializer | None) -> Deserializer | None:
    if deserializer is None:
        return None
    strict = deserializer

    def deserialize(raw: bytes) -> Any:
        try:
            return strict(raw)
        except Exception:  # DecodeError, UnicodeDecodeError, ...: the bytes are bad input
            return UNDECODABLE

    return deserialize


async def _refuse(
    method: str,
    context: grpc.aio.ServicerContext,
    message: str,
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
) -> None:
    log.info("refused %s: %s %s", method, code.name, message)
    await context.abort(code, message)


async def _checked(requests: AsyncIterator[Any], method: str, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
    async for request in requests:
        if request is UNDECODABLE:
            await _refuse(method, context, UNDECODABLE_MESSAGE)
        yield request


async def _internal(method: str, context: grpc.aio.ServicerContext) -> None:
    log.exception("unexpected error in %s", method)
    await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


def _guarded(behavior: Callable[..., Any], method: str, streamed_request: bool) -> Callable[..., Any] | None:
    """`behavior` refusing undecodable requests and answering INTERNAL for escaped exceptions;
    None for a plain function of a streamed request or response (left as it is)."""

    async def request_of(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        if streamed_request:
            return _checked(requests, method, context)
        async for request in _checked(requests, method, context):
            return request  # the one message of a unary request
        await _refuse(method, context, NO_MESSAGE)

    if inspect.iscoroutinefunction(behavior):

        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            checked = await request_of(request, context)
            try:
                return await behavior(checked, context)
            except grpc.aio.AbortError:
                raise
            except Exception:
                await _internal(method, context)
                raise AssertionError("abort returned") from None  # pragma: no cover

        return call
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            checked = await request_of(request, context)
            try:
                async for response in behavior(checked, context):
                    yield response
            except grpc.aio.AbortError:
                raise
            except Exception:
                await _internal(method, context)

        return stream
    if callable(behavior) and not streamed_request:

        async def inline(request: Any, context: grpc.aio.ServicerContext) -> Any:
            """A plain function (the generated stub of a method not implemented): run inline."""
            checked = await request_of(request, context)
            try:
                return behavior(checked, context)
            except NotImplementedError:
                await _refuse(method, context, "method not implemented", grpc.StatusCode.UNIMPLEMENTED)
            except Exception:
                await _internal(method, context)
            raise AssertionError("abort returned")  # pragma: no cover

        return inline
    return None


_FACTORIES = {
    (False, False): (grpc.unary_unary_rpc_method_handler, "unary_unary"),
    (False, True): (grpc.unary_stream_rpc_method_handler, "unary_stream"),
    (True, False): (grpc.stream_unary_rpc_method_handler, "stream_unary"),
    (True, True): (grpc.stream_stream_rpc_method_handler, "stream_stream"),
}


def guard(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    """`handler` with a lenient deserializer and a guarded behaviour reading its request as a
    client stream (same response shape, same serializer)."""
    streamed_request, streamed_response = bool(handler.request_streaming), bool(handler.response_streaming)
    behavior = getattr(handler, _FACTORIES[(streamed_request, streamed_response)][1])
    guarded = None if behavior is None else _guarded(behavior, method, streamed_request)
    if guarded is None:
        return handler
    factory = _FACTORIES[(True, streamed_response)][0]
    return factory(
        guarded,
        request_deserializer=lenient(handler.request_deserializer),
        response_serializer=handler.response_serializer,
    )


class GuardInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Put first in the server's interceptors: it wraps whatever handler the others return."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        return None if handler is None else guard(handler, details.method)
