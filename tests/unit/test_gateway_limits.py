"""Oversized bodies (413) and deeply nested JSON (422) are refused before a route runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.limits import json_depth_exceeds
from gateway.settings import GatewaySettings
from tests.support.fake_rpc import FakeRpcClient

# No per-example deadline: the machine is shared and timing is not what is tested.
PROPERTY = settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])

router = APIRouter()
seen: list[int] = []


@router.post("/echo")
def echo(body: dict[str, Any]) -> dict[str, int]:
    seen.append(len(json.dumps(body)))
    return {"keys": len(body)}


@router.post("/api/v1/ingest/backup-runs-echo")
def echo_list(body: list[Any]) -> dict[str, int]:
    return {"items": len(body)}


@pytest.fixture
def client() -> TestClient:
    settings = GatewaySettings(max_body_bytes=4096, max_ingest_body_bytes=16384, max_json_depth=8)
    app = create_app(settings, rpc_client_factory=lambda _: FakeRpcClient())
    app.include_router(router)
    seen.clear()
    return TestClient(app)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_body_within_the_limit_reaches_the_route(client):
    response = client.post("/echo", json={"name": "x" * 3000})

    assert response.status_code == 200 and response.json() == {"keys": 1}
    assert seen == [len(json.dumps({"name": "x" * 3000}))]


def test_a_declared_length_over_the_limit_is_413_and_the_route_never_runs(client):
    response = client.post("/echo", json={"name": "x" * 5000})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["details"] == {"limit_bytes": 4096}
    assert "X-Correlation-ID" in response.headers
    assert seen == []


def test_a_streamed_body_without_length_is_counted_and_cut_at_the_limit(client):
    chunks_read = []

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for index in range(1000):  # would be 100 kB; the middleware stops reading at 4 kB
            chunks_read.append(index)
            yield b"x" * 100
        yield b'"}'

    response = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert seen == []


def test_the_ingest_route_has_its_own_larger_limit(client):
    body = [{"n": "x" * 90} for _ in range(100)]  # about 10 kB: over the default, under the ingest limit

    assert client.post("/api/v1/ingest/backup-runs-echo", json=body).status_code == 413
    # The real ingest route: past the size check, it asks for the engine key (401), not 413.
    assert client.post("/api/v1/ingest/backup-runs", json=body).status_code == 401
    assert client.post("/api/v1/ingest/backup-runs", json=body * 2).status_code == 413


def test_json_nested_deeper_than_the_limit_is_422_naming_the_body(client):
    response = client.post("/echo", content=json.dumps({"a": json.loads(nested(8))}),
                           headers={"content-type": "application/json"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["fields"] == [{"field": "body", "reason": "JSON nested deeper than 8 levels"}]
    assert seen == []


def test_a_thousand_levels_of_nesting_is_refused_without_a_recursion_error(client):
    # 2,000 levels: past what the plain JSON parser takes before its recursion limit.
    for depth in (1000, 2000):
        response = client.post("/echo", content=nested(depth), headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text


def test_nesting_within_the_limit_and_brackets_inside_strings_pass(client):
    body = {"a": json.loads(nested(7)), "b": "[[[[[[[[[[[[[[[[[[{{{{{{{{{{{\\\"[[[["}

    response = client.post("/echo", json=body)

    assert response.status_code == 200


def test_a_get_without_body_is_not_touched(client):
    assert client.get("/healthz").status_code in (200, 503)


def test_a_non_numeric_content_length_is_400(client):
    response = client.post("/echo", content=b"{}", headers={"content-type": "application/json",
                                                             "content-length": "lots"})

    assert response.status_code == 400


@PROPERTY
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet="[]{}\"\\ab", max_size=5),
                    lambda children: st.lists(children, max_size=3)
                    | st.dictionaries(st.text(alphabet="[]{}\"\\ab", max_size=3), children, max_size=3),
                    max_leaves=30))
def test_the_depth_scan_agrees_with_the_parsed_document(document):
    def depth(value: Any) -> int:
        if isinstance(value, list):
            return 1 + max((depth(item) for item in value), default=0)
        if isinstance(value, dict):
            return 1 + max((depth(item) for item in value.values()), default=0)
        return 0

    text = json.dumps(document).encode()
    actual = depth(document)

    assert json_depth_exceeds(text, actual) is False
    if actual > 0:
        assert json_depth_exceeds(text, actual - 1) is True
