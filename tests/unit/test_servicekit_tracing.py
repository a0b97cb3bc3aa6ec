"""Tracing's switches and rules, without a broker: when it is on, what a span records."""

from __future__ import annotations

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, StatusCode, TraceFlags

from contracts.errors import PermissionDenied, ServiceUnavailable
from gateway.tracing import forget_query
from servicekit.logging import add_trace_ids
from servicekit.tracing import TracingSettings, context_from, continued_span, record_outcome, trace_headers

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(("environment", "enabled"), [
    ({}, False),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
])
def test_tracing_is_off_unless_the_standard_variables_ask_for_an_otlp_export(
        monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], enabled: bool) -> None:
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                 "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert TracingSettings().enabled is enabled


@pytest.fixture
def recorded() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def test_a_refusal_is_an_answer_but_an_unavailable_service_marks_the_span_failed(recorded) -> None:
    tracer, exporter = recorded
    with tracer.start_as_current_span("refused") as refused:
        record_outcome(refused, PermissionDenied("no"))
    with tracer.start_as_current_span("unavailable") as unavailable:
        record_outcome(unavailable, ServiceUnavailable("away"))
    with tracer.start_as_current_span("crashed") as crashed:
        record_outcome(crashed, KeyError("x"))

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["refused"].status.status_code is StatusCode.UNSET
    assert spans["refused"].attributes["portal.error_code"] == "permission_denied"
    assert spans["unavailable"].status.status_code is StatusCode.ERROR
    assert spans["crashed"].status.status_code is StatusCode.ERROR


def test_a_stored_trace_context_is_continued_even_where_tracing_is_off() -> None:
    # The test process has no SDK provider: a relay there passes the change's context on.
    with continued_span("publish", {"traceparent": TRACEPARENT}):
        assert trace_headers()["traceparent"] == TRACEPARENT
    assert trace_headers() == {}


def test_context_from_ignores_headers_that_are_not_text() -> None:
    ctx = context_from({"traceparent": b"00-junk", "x-delivery-count": 3})

    assert not trace.get_current_span(ctx).get_span_context().is_valid


def test_log_lines_carry_the_trace_and_span_ids_of_the_current_span() -> None:
    span = NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1)))
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        line = add_trace_ids(None, "info", {"event": "handled"})
    finally:
        otel_context.detach(token)

    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert line["span_id"] == "00f067aa0ba902b7"
    assert "trace_id" not in add_trace_ids(None, "info", {"event": "outside any span"})


def test_a_request_span_keeps_the_path_but_not_the_query_that_may_carry_a_token(recorded) -> None:
    tracer, exporter = recorded
    with tracer.start_as_current_span("GET /confirm-email", attributes={
            "http.url": "http://portal.example/confirm-email?token=s3cret", "url.query": "token=s3cret"}) as span:
        forget_query(span, {})

    attributes = exporter.get_finished_spans()[0].attributes
    assert attributes["http.url"] == "http://portal.example/confirm-email"
    assert "s3cret" not in str(dict(attributes))
