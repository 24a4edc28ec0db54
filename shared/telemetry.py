"""OpenTelemetry set-up. One trace follows a command from the gRPC call through the append, the
relay's publish and a projection's handling: the context is stored with the event and carried in
Kafka headers (W3C trace context). The exporter is chosen by the standard OTEL_* variables."""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter


def _exporter_from_environment() -> SpanExporter | None:
    """OTEL_TRACES_EXPORTER: otlp, console or none (the default here, so that a machine without a
    collector does not log export errors)."""
    choice = os.environ.get("OTEL_TRACES_EXPORTER", "none").split(",")[0].strip().lower()
    if choice == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()
    if choice == "console":
        return ConsoleSpanExporter()
    if choice in ("none", ""):
        return None
    raise RuntimeError(f"OTEL_TRACES_EXPORTER={choice!r} is not supported (otlp, console or none)")


def setup_tracing(service_name: str, processor: SpanProcessor | None = None) -> TracerProvider:
    """Installs the global tracer provider once per process; `processor` is for tests."""
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service_name)})
    )
    if processor is not None:
        provider.add_span_processor(processor)
    else:
        exporter = _exporter_from_environment()
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_context_carrier() -> dict[str, str]:
    """The current span's context as W3C headers (traceparent, tracestate)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, str]) -> Context:
    return propagate.extract(dict(carrier))
