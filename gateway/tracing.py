"""The gateway's traces: a span per request, and one client span per RPC it makes.

The request's own span comes from OpenTelemetry's FastAPI instrumentation
(:func:`instrument_tracing`, which ``create_app`` calls when tracing is on); each RPC of
a fan-out gets a child span, and its W3C context travels as nameko context data (the
``nameko.traceparent`` header), which the service's worker continues (servicekit.tracing).
With tracing off nothing is made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from servicekit.tracing import record_outcome, trace_headers, tracer, tracing_enabled


class _Call(Protocol):
    @property
    def service(self) -> str: ...

    @property
    def method(self) -> str: ...


class ClientSpans:
    def __init__(self, spans: Mapping[str, Span]) -> None:
        self._spans = dict(spans)

    def headers(self, key: str) -> dict[str, str]:
        span = self._spans.get(key)
        return trace_headers(trace.set_span_in_context(span)) if span is not None else {}

    def finish(self, key: str, error: BaseException | None) -> None:
        span = self._spans.pop(key, None)
        if span is not None:
            record_outcome(span, error)
            span.end()

    def finish_all(self) -> None:
        for key in list(self._spans):
            self.finish(key, None)


@contextmanager
def client_spans(calls: Mapping[str, _Call]) -> Iterator[ClientSpans]:
    """Spans for the calls of one fan-out, started together; any left open are ended on exit."""
    spans: dict[str, Span] = {}
    if tracing_enabled():
        for key, call in calls.items():
            spans[key] = tracer().start_span(f"{call.service}.{call.method}", kind=SpanKind.CLIENT,
                                             attributes=_rpc_attributes(call))
    running = ClientSpans(spans)
    try:
        yield running
    finally:
        running.finish_all()


def _rpc_attributes(call: _Call) -> dict[str, Any]:
    return {"rpc.system": "nameko", "rpc.service": call.service, "rpc.method": call.method}


def instrument_tracing(app: FastAPI) -> None:
    """A trace for each request (OpenTelemetry's FastAPI instrumentation), continued by every
    RPC the request makes (gateway.rpc) and by the events and mail that follow."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, excluded_urls="/healthz,/metrics,/static/",
                                       exclude_spans=["receive", "send"], server_request_hook=forget_query)


def forget_query(span: Any, scope: dict[str, Any]) -> None:
    """A query string may carry a token (``/confirm-email?token=…``): spans keep the path only."""
    attributes = getattr(span, "attributes", None) or {}
    url = attributes.get("http.url")
    if isinstance(url, str) and "?" in url:
        span.set_attribute("http.url", url.split("?", 1)[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "[removed]")
