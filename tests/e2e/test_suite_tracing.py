"""One trace across HTTP, RPC and events, rebuilt from the suite's OTLP export.

The e2e suite runs with tracing switched on by the standard OTEL_* variables, exporting to a
receiver on loopback (tests/support/otlp_receiver.py). A request that creates a customer
account sends a W3C ``traceparent`` of the test's own; everything that request causes,
across the gateway, tenancy, its ``account_created`` event, identity's invitation and
notify's mail, must come back as spans of that one trace, each linked to its cause.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Suite
from tests.e2e.identity_client import Client, Mailbox
from tests.support.fixtures import wait_for
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

Matcher = Callable[[ReceivedSpan], bool]


def span_named(service: str, kind: str, name: str, **attributes: Any) -> Matcher:
    def matches(span: ReceivedSpan) -> bool:
        return (span.service == service and span.kind == kind and span.name == name
                and all(span.attributes.get(key) == value for key, value in attributes.items()))
    return matches


# The request's path through the suite, cause first.
CHAIN: list[tuple[str, Matcher]] = [
    ("the gateway's request", span_named("gateway", "server", "POST /api/v1/accounts")),
    ("the gateway's RPC to tenancy", span_named("gateway", "client", "tenancy.create_account")),
    ("tenancy answering it", span_named("tenancy", "server", "tenancy.create_account")),
    ("tenancy publishing account_created", span_named(
        "tenancy", "producer", "tenancy.events publish",
        **{"messaging.rabbitmq.destination.routing_key": "account_created"})),
    ("identity inviting the account's administrator",
     span_named("identity", "consumer", "tenancy.account_created process")),
    ("notify queueing the invitation", span_named("notify", "server", "notify.send_mail")),
    ("notify delivering it", span_named("notify", "client", "notify.deliver_mail")),
]


def find(spans: list[ReceivedSpan], matcher: Matcher) -> ReceivedSpan | None:
    return next((span for span in spans if matcher(span)), None)


def ancestors(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[str]:
    by_id = {each.span_id: each for each in spans}
    chain, current = [], by_id.get(span.parent_span_id)
    while current is not None:
        chain.append(current.span_id)
        current = by_id.get(current.parent_span_id)
    return chain


def whole_trace(receiver: OtlpReceiver, trace_id: str, timeout: float) -> list[ReceivedSpan]:
    deadline = time.monotonic() + timeout
    while not all(find(spans := receiver.spans(trace_id), matcher) for _, matcher in CHAIN):
        if time.monotonic() > deadline:
            missing = [label for label, matcher in CHAIN if not find(spans, matcher)]
            got = sorted(f"{span.service}:{span.kind}:{span.name}" for span in spans)
            pytest.fail(f"the trace lacks {missing}; received {got}")
        time.sleep(0.2)
    return spans


def log_lines_with(suite: Suite, program: str, trace_id: str) -> list[dict[str, Any]]:
    lines = []
    for line in suite.log_path(program).read_text(errors="replace").splitlines():
        if trace_id in line:
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return [line for line in lines if line.get("trace_id") == trace_id]


def test_an_account_created_over_http_is_one_trace_through_tenancy_identity_and_notify(
        suite: Suite, admin: Client, mail: Mailbox, otlp_receiver: OtlpReceiver) -> None:
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    email = f"traced-{uuid.uuid4().hex[:8]}@tracing-e2e.example"

    response = admin.post("/api/v1/accounts", json={"name": f"Traced {email[:15]}", "email": email},
                          headers={"traceparent": f"00-{trace_id}-{caller_span}-01"})
    assert response.status_code == 201, response.text

    spans = whole_trace(otlp_receiver, trace_id, timeout=30)

    found = [(label, find(spans, matcher)) for label, matcher in CHAIN]
    request = found[0][1]
    assert request is not None and request.parent_span_id == caller_span, "the request continues the caller's trace"
    for (cause_label, cause), (label, effect) in itertools.pairwise(found):
        assert cause is not None and effect is not None
        assert cause.span_id in ancestors(effect, spans), f"{label} is not under {cause_label}"
    assert all(span.status != "error" for span in spans), [span.name for span in spans if span.status == "error"]

    # Every program's log lines of this work carry the trace id.
    for program in ("gateway", "tenancy", "identity", "notify"):
        assert log_lines_with(suite, program, trace_id), f"no {program} log line carries trace_id {trace_id}"
    mail.wait_for_text(email, "confirm")


def test_no_span_carries_the_token_of_a_link_that_was_opened(
        suite: Suite, admin: Client, mail: Mailbox, otlp_receiver: OtlpReceiver) -> None:
    email = f"link-{uuid.uuid4().hex[:8]}@tracing-e2e.example"
    response = admin.post("/api/v1/accounts", json={"name": f"Link {email[:12]}", "email": email})
    assert response.status_code == 201, response.text
    token = mail.new_confirmation_token(email)

    page = admin.get(f"/confirm-email?token={token}")
    assert page.status_code == 200, page.text

    opened = span_named("gateway", "server", "GET /confirm-email")
    wait_for(lambda: find(otlp_receiver.spans(), opened), timeout=15, message="the span of the opened link")
    leaking = [span.name for span in otlp_receiver.spans() if token in json.dumps(span.attributes) or token in span.name]
    assert not leaking, f"spans carrying a confirmation token: {leaking}"
