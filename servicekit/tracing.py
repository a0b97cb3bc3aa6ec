"""OpenTelemetry traces across HTTP, RPC and events: off unless the standard ``OTEL_*`` say so.

Tracing is on when ``OTEL_TRACES_EXPORTER=otlp``, or when an OTLP endpoint is set
(``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), and
``OTEL_SDK_DISABLED`` is not true. Export is OTLP over HTTP (protobuf); the exporter reads
its own ``OTEL_EXPORTER_OTLP_*`` settings (endpoint, headers, timeout, compression).
``service.name`` is the program's own name: one environment serves six programs under
``make run``, so ``OTEL_SERVICE_NAME`` would name them all alike and is not used;
``OTEL_RESOURCE_ATTRIBUTES`` is.

How the trace context travels (W3C Trace Context, ``traceparent`` / ``tracestate``):

- **RPC**: as nameko context data, so the AMQP header is ``nameko.traceparent`` (nameko's
  prefix for context data; nested calls of a worker forward it).
- **Events**: the trace context of the state change is stored on its outbox row, and the
  relay publishes it as plain ``traceparent`` / ``tracestate`` headers, the names any
  subscriber's OpenTelemetry propagator reads. An event handled an hour later is still a
  child of the request that caused it.
- Each nameko worker continues the trace of its message (:class:`Tracing`, on every service)
  and hands its own span on to the RPCs and events it makes.

With tracing off nothing is created or exported, and a context that arrives is passed on
unchanged.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.errors import PortalError
from servicekit.events import ReliableEventHandler

TRACER_NAME = "backup-portal"

_lock = threading.Lock()
_enabled: bool | None = None


class TracingSettings(BaseSettings):
    """The standard OpenTelemetry variables that decide whether traces are made."""

    model_config = SettingsConfigDict(extra="ignore")

    otel_sdk_disabled: bool = False
    otel_traces_exporter: str = ""
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_traces_endpoint: str = ""

    @property
    def enabled(self) -> bool:
        exporter = self.otel_traces_exporter.strip().lower()
        if self.otel_sdk_disabled or exporter == "none":
            return False
        return exporter == "otlp" or bool(self.otel_exporter_otlp_endpoint or self.otel_exporter_otlp_traces_endpoint)


def configure_tracing(service: str, settings: TracingSettings | None = None) -> bool:
    """Install the SDK's tracer provider with an OTLP exporter, once per process; says
    whether tracing is on."""
    global _enabled
    with _lock:
        if _enabled is not None:
            return _enabled
        settings = settings or TracingSettings()
        _enabled = settings.enabled
        if _enabled:
            # Imported only when on: the SDK and exporter cost nothing to a process without traces.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            resource = Resource.create({"service.namespace": "backup-portal"}).merge(
                Resource({"service.name": service}))
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            trace.set_tracer_provider(provider)
        return _enabled


def tracing_enabled() -> bool:
    return bool(_enabled)


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def trace_headers(ctx: otel_context.Context | None = None) -> dict[str, str]:
    """The current (or given) trace context as W3C headers; empty when there is none."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    return carrier


def context_from(carrier: Mapping[str, Any] | None) -> otel_context.Context:
    """The trace context carried by message headers or stored with a row (W3C names)."""
    found = {key: value for key, value in (carrier or {}).items() if isinstance(value, str)}
    return propagate.extract(found)


def stored_trace_context() -> dict[str, str] | None:
    """What to keep with a row whose work continues later (an outbox event, a queued mail)."""
    return trace_headers() or None


@contextmanager
def continued_span(name: str, carrier: Mapping[str, Any] | None, kind: SpanKind = SpanKind.INTERNAL,
                   attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A span continuing the trace of ``carrier`` (headers or a stored context), current
    inside the block; a no-op span when tracing is off."""
    with tracer().start_as_current_span(name, context=context_from(carrier), kind=kind,
                                        attributes=dict(attributes or {})) as span:
        yield span


def record_outcome(span: Span, error: BaseException | None) -> None:
    """A refusal (a boundary error below 500: bad input, no permission) is an answer, not a
    fault: the span keeps its code as an attribute; anything else marks the span failed."""
    if error is None:
        return
    if isinstance(error, PortalError):
        span.set_attribute("portal.error_code", error.code)
        if error.status < 500:
            return
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))


def _worker_span_shape(service: str, entrypoint: Any) -> tuple[str, SpanKind, dict[str, str]]:
    method = entrypoint.method_name
    if isinstance(entrypoint, Rpc):
        return (f"{service}.{method}", SpanKind.SERVER,
                {"rpc.system": "nameko", "rpc.service": service, "rpc.method": method})
    if isinstance(entrypoint, ReliableEventHandler):
        event = f"{entrypoint.source_service}.{entrypoint.event_type}"
        return (f"{event} process", SpanKind.CONSUMER,
                {"messaging.system": "rabbitmq", "messaging.operation.type": "process",
                 "messaging.destination.name": f"{entrypoint.source_service}.events",
                 "messaging.rabbitmq.destination.routing_key": entrypoint.event_type,
                 "code.function": method})
    return f"{service}.{method}", SpanKind.INTERNAL, {"code.function": method}


class Tracing(DependencyProvider):
    """Gives every worker a span that continues its message's trace.

    The worker's own context is written back into its context data, so the RPCs it makes
    carry its span as their parent; events it records take it from the current context.
    With tracing off no span is made, but a context that arrived is made current all the
    same, so the events and RPCs of the worker pass it on.
    """

    def setup(self) -> None:
        self.enabled = configure_tracing(self.container.service_name)
        self._spans: weakref.WeakKeyDictionary[Any, tuple[Span | None, object]] = weakref.WeakKeyDictionary()

    def worker_setup(self, worker_ctx: Any) -> None:
        if not self.enabled:
            if "traceparent" in worker_ctx.data:
                self._spans[worker_ctx] = (None, otel_context.attach(context_from(worker_ctx.data)))
            return
        name, kind, attributes = _worker_span_shape(self.container.service_name, worker_ctx.entrypoint)
        span = tracer().start_span(name, context=context_from(worker_ctx.data), kind=kind, attributes=attributes)
        token = otel_context.attach(trace.set_span_in_context(span))
        worker_ctx.data.update(trace_headers())
        self._spans[worker_ctx] = (span, token)

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        span = self._spans.get(worker_ctx, (None, None))[0]
        if span is not None and exc_info is not None:
            record_outcome(span, exc_info[1])

    def worker_teardown(self, worker_ctx: Any) -> None:
        entry = self._spans.pop(worker_ctx, None)
        if entry is not None:
            span, token = entry
            if span is not None:
                span.end()
            otel_context.detach(token)  # type: ignore[arg-type]
