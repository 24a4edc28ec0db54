"""The fuzzer of the gRPC edge (issue 13): every RPC of every service, discovered from the proto
descriptors, gets hostile requests built from its message's field types (empty, 100 KB and NUL
strings, invalid UTF-8 written on the wire, negative and huge numbers, dates at and past their
limits, malformed dates, random bytes as the whole message, empty and oversized client streams),
under every kind of token (none, garbage, expired, wrong secret, candidate, staff of the académie and
of another, auditor). Seeded: the same ~1,500 calls every run, each with a deadline. No call may get
UNKNOWN, INTERNAL or DEADLINE_EXCEEDED; every error message is at most 512 characters; a refused call
writes no event in any service and logs exactly one line, never a traceback."""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from shared.auth import Role
from shared.token_keys import SigningKey
from tests.integration.fuzz_fixtures import (  # noqa: F401 (fleet_of_servers is the `fleet` fixture)
    UPLOAD_MAX_BYTES,
    Endpoint,
    Fleet,
    fleet_of_servers,
)

SEED = 13
CASES_PER_METHOD = 34
DEADLINE_S = 10.0
MAX_MESSAGE = 512
FORBIDDEN = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DEADLINE_EXCEEDED}
BIG = "x" * 100_000
STRINGS = (
    "",
    " ",
    BIG,
    "é" * 5_000,
    "a\x00b",
    "\x00",
    "0001-01-01T00:00",
    "0001-01-01",
    "9999-12-31T23:59",
    "9999-12-31",
    "1899-12-31T23:59",
    "3000-01-01T00:00",
    "2026-03-29T02:30",  # the spring gap in Paris
    "2026-13-45T25:61",
    "2026-02-30",
    "NaN",
    "sNaN",
    "-Infinity",
    "1e999999999",
    "-1",
    "20,5",
    "ABS",
    "../../etc/passwd",
    "aix-marseille",
    "lyon",
    "SIO-SISR",
    "U4",
    "fr",
    "'; DROP TABLE events; --",
    "line\nbreak\r\n",
    "\u202e\u2028\ufeff",
    "🙂" * 1_000,
)
INTS = (0, 1, -1, 2026, 1999, 2101, 9999, 2**31 - 1, -(2**31))
INTS64 = (*INTS, 2**63 - 1, -(2**63))
UINTS = (0, 1, 2026, 2**32 - 1)


def _text(rng: random.Random) -> str:
    return rng.choice((*STRINGS, str(uuid.UUID(int=rng.getrandbits(128)))))


def _scalar(field: Any, rng: random.Random) -> object:  # a FieldDescriptor (python or upb)
    match field.type:
        case FieldDescriptor.TYPE_STRING:
            return _text(rng)
        case FieldDescriptor.TYPE_BYTES:
            return rng.choice((b"", rng.randbytes(1_000), b"%PDF-1.7\n" + rng.randbytes(200), b"\x00" * 100_000))
        case FieldDescriptor.TYPE_BOOL:
            return rng.random() < 0.5
        case FieldDescriptor.TYPE_ENUM:
            return rng.choice([v.number for v in field.enum_type.values])
        case FieldDescriptor.TYPE_INT64 | FieldDescriptor.TYPE_SINT64 | FieldDescriptor.TYPE_SFIXED64:
            return rng.choice(INTS64)
        case FieldDescriptor.TYPE_UINT32 | FieldDescriptor.TYPE_FIXED32 | FieldDescriptor.TYPE_UINT64:
            return rng.choice(UINTS)
        case FieldDescriptor.TYPE_DOUBLE | FieldDescriptor.TYPE_FLOAT:
            return rng.choice((0.0, -1.0, 1e308, float("nan"), float("inf")))
        case _:
            return rng.choice(INTS)


def fill(message: Message, rng: random.Random, depth: int = 0) -> Message:
    """Every field of `message` set to a hostile value of its type (lists of 0, 1, 5 or many items)."""
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.15:
            continue  # left empty
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            target = getattr(message, field.name)
            key_field, value_field = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            for _ in range(rng.choice((1, 3))):
                key = _scalar(key_field, rng)
                if value_field.message_type is None:
                    target[key] = _scalar(value_field, rng)
                else:
                    fill(target[key], rng, depth + 1)
        elif field.is_repeated:
            many = 5_000 if field.message_type is None else 60  # 60 entries of up to 100 KB: over 4 MB
            count = rng.choice((0, 1, 5, many)) if depth < 2 else 1
            items = getattr(message, field.name)
            for _ in range(count):
                if field.message_type is None:
                    items.append(_scalar(field, rng) if count < 100 else _text(rng)[:10] or "x")
                else:
                    fill(items.add(), rng, depth + 1)
        elif field.message_type is not None:
            if depth < 4:
                fill(getattr(message, field.name), rng, depth + 1)
        else:
            setattr(message, field.name, _scalar(field, rng))
    return message


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def with_bad_utf8(descriptor: Descriptor, raw: bytes, rng: random.Random) -> bytes:
    """`raw` with one of the message's string fields (or an unknown field number) written as invalid UTF-8."""
    strings = [f.number for f in descriptor.fields if f.type == FieldDescriptor.TYPE_STRING]
    number = rng.choice(strings) if strings else 1
    bad = rng.choice((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"abc\x80"))
    return raw + _varint(number << 3 | 2) + _varint(len(bad)) + bad


def request_bytes(descriptor: Descriptor, rng: random.Random) -> tuple[str, bytes]:
    """(what the case is, the request's bytes)."""
    cls = message_factory.GetMessageClass(descriptor)
    shape = rng.random()
    if shape < 0.12:
        return "random bytes", rng.randbytes(rng.choice((1, 7, 64, 4_096)))
    if shape < 0.17:
        return "empty message", b""
    raw = fill(cls(), rng).SerializeToString()
    if shape < 0.35:
        return "invalid utf-8", with_bad_utf8(descriptor, raw, rng)
    if shape < 0.40:
        return "truncated", raw[: max(1, len(raw) // 2)] + b"\x0a\xff\xff\xff\xff\x0f"
    return "hostile fields", raw


def metadata_of(fleet: Fleet, rng: random.Random) -> tuple[str, tuple[tuple[str, str], ...]]:
    subject = str(uuid.UUID(int=rng.getrandbits(128)))
    kind = rng.choice(
        ("none", "garbage", "basic", "expired", "wrong secret", "candidate", "staff", "staff lyon", "auditor")
    )
    token = {
        "none": None,
        "garbage": "not.a.jwt",
        "basic": None,
        "expired": fleet.expired_token(subject),
        "wrong secret": fleet.token(Role.STAFF, subject, key=SigningKey.generate()),
        "candidate": fleet.token(Role.CANDIDATE, subject),
        "staff": fleet.token(Role.STAFF, subject),
        "staff lyon": fleet.token(Role.STAFF, subject, "lyon"),
        "auditor": fleet.token(Role.AUDITOR, subject),
    }[kind]
    if kind == "basic":
        return kind, (("authorization", "Basic " + "A" * 2_000),)
    return kind, (() if token is None else (("authorization", f"Bearer {token}"),))


def upload_stream(descriptor: Descriptor, rng: random.Random) -> tuple[str, list[bytes]]:
    """A client stream for Upload: empty, metadata only, oversized, twice the metadata, bad bytes."""
    cls = message_factory.GetMessageClass(descriptor)
    first = fill(cls(), rng)
    first.ClearField("data")
    fill(getattr(first, "metadata"), rng)  # noqa: B009 (a generated message class)
    head = first.SerializeToString()
    chunk = cls(data=rng.randbytes(16 * 1024)).SerializeToString()
    match rng.randrange(6):
        case 0:
            return "empty stream", []
        case 1:
            return "metadata only", [head]
        case 2:
            return "oversized stream", [head, *[chunk] * (UPLOAD_MAX_BYTES // (16 * 1024) + 3)]
        case 3:
            return "metadata twice", [head, chunk, head]
        case 4:
            return "undecodable chunk", [head, rng.randbytes(50)]
        case _:
            return "data before metadata", [chunk, head]


@dataclass
class Finding:
    path: str
    case: str
    token: str
    code: grpc.StatusCode
    details: str

    def __str__(self) -> str:
        return f"{self.path} [{self.case}, token {self.token}] {self.code.name}: {self.details[:160]!r}"


def _identity(data: bytes) -> bytes:
    return data


async def _send(endpoint: Endpoint, requests: list[bytes], metadata: tuple[tuple[str, str], ...]) -> None:
    method, channel = endpoint.method, endpoint.channel
    kwargs = {"request_serializer": _identity, "response_deserializer": _identity}
    if method.client_streaming:

        async def stream() -> AsyncIterator[bytes]:
            for request in requests:
                yield request

        if method.server_streaming:
            call = channel.stream_stream(endpoint.path, **kwargs)(stream(), metadata=metadata, timeout=DEADLINE_S)
            async for _ in call:
                pass
        else:
            await channel.stream_unary(endpoint.path, **kwargs)(stream(), metadata=metadata, timeout=DEADLINE_S)
    elif method.server_streaming:
        async for _ in channel.unary_stream(endpoint.path, **kwargs)(
            requests[0], metadata=metadata, timeout=DEADLINE_S
        ):
            pass
    else:
        await channel.unary_unary(endpoint.path, **kwargs)(requests[0], metadata=metadata, timeout=DEADLINE_S)


REFUSAL_LOGGERS = ("shared.rpc", "shared.rpc_guard")


async def test_no_rpc_answers_unknown_internal_or_hangs(fleet: Fleet, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    rng = random.Random(SEED)
    rpcs = [e for e in fleet.endpoints if not e.path.startswith(("/grpc.health", "/grpc.reflection"))]
    assert len({e.path for e in rpcs}) >= 44, sorted(e.path for e in rpcs)
    findings: list[Finding] = []
    calls = refused = 0
    for endpoint in rpcs:
        for _ in range(CASES_PER_METHOD):
            token, metadata = metadata_of(fleet, rng)
            if endpoint.method.client_streaming:
                case, requests = upload_stream(endpoint.method.input_type, rng)
            else:
                case, raw = request_bytes(endpoint.method.input_type, rng)
                requests = [raw]
            before, logged = await fleet.event_count(), len(caplog.records)
            calls += 1
            try:
                await _send(endpoint, requests, metadata)
                continue
            except grpc.aio.AioRpcError as error:
                code, details = error.code(), error.details() or ""
            refused += 1
            records = caplog.records[logged:]
            lines = [r for r in records if r.name in REFUSAL_LOGGERS]
            problems = [
                *([f"status {code.name}"] if code in FORBIDDEN else []),
                *([f"a message of {len(details)} characters"] if len(details) > MAX_MESSAGE else []),
                *(
                    [f"{await fleet.event_count() - before} events written"]
                    if await fleet.event_count() != before
                    else []
                ),
                *([f"{len(lines)} refusal log lines"] if len(lines) != 1 else []),
                *([f"a traceback logged by {r.name}"] for r in records if r.exc_info),
            ]
            findings += [Finding(endpoint.path, f"{case}: {problem}", token, code, details) for problem in problems]
    assert calls > 1_400
    assert refused > calls // 2  # most hostile calls are refused (the assertions above are not vacuous)
    kinds = sorted({f"{f.path} {f.case.split(': ', 1)[1]} {f.code.name}" for f in findings})
    assert not findings, f"{len(findings)} findings of {len(kinds)} kinds:\n" + "\n".join(
        [*kinds[:40], "", *(str(f) for f in findings[:20])]
    )
