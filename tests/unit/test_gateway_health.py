"""GET /healthz composed from each service's health reply (fake RPC client, no broker)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from nameko.exceptions import RemoteError

from contracts.events import SERVICES
from gateway.app import create_app
from gateway.rpc import unavailable
from gateway.settings import GatewaySettings
from tests.support.fake_rpc import FakeRpcClient


def healthy(service: str) -> dict:
    return {
        "service": service,
        "status": "ok",
        "database": "postgresql",
        "schema_revision": "0001",
        "outbox_backlog": 0,
    }


def client_for(fake: FakeRpcClient, **settings) -> TestClient:
    return TestClient(create_app(GatewaySettings(**settings), rpc_client_factory=lambda _: fake))


def all_healthy() -> FakeRpcClient:
    return FakeRpcClient({(service, "health"): healthy(service) for service in SERVICES})


def test_all_services_ok_is_200():
    fake = all_healthy()

    response = client_for(fake, health_timeout_seconds=1.25).get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["gateway"] == "ok"
    assert list(body["services"]) == list(SERVICES)
    assert body["services"]["identity"] == {
        "status": "ok",
        "database": "postgresql",
        "schema_revision": "0001",
        "outbox_backlog": 0,
    }
    # one fan-out, with the health deadline, carrying the request's context
    assert [(c.call.service, c.call.method) for c in fake.calls] == [(s, "health") for s in SERVICES]
    assert {c.timeout for c in fake.calls} == {1.25}
    assert all(c.context is not None for c in fake.calls)


def test_one_service_down_is_503_and_names_why():
    fake = all_healthy()
    fake.answers[("billing", "health")] = unavailable("billing", "timeout after 1.5 s")
    del fake.answers[("notify", "health")]

    response = client_for(fake).get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["services"]["billing"] == {"status": "down", "reason": "timeout after 1.5 s"}
    assert body["services"]["notify"] == {"status": "down", "reason": "not running (no consumer)"}
    assert body["services"]["identity"]["status"] == "ok"


def test_a_crashing_or_nonsensical_health_reply_counts_as_down():
    fake = all_healthy()
    fake.answers[("audit", "health")] = RemoteError("OperationalError", "connection refused")
    fake.answers[("tenancy", "health")] = {"status": "fine"}

    body = client_for(fake).get("/healthz").json()

    assert body["services"]["audit"] == {"status": "down", "reason": "error: OperationalError"}
    assert body["services"]["tenancy"] == {"status": "down", "reason": "invalid health reply"}


def test_a_degraded_service_is_degraded_but_not_down():
    fake = all_healthy()
    fake.answers[("notify", "health")] = {**healthy("notify"), "status": "degraded"}

    response = client_for(fake).get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["services"]["notify"]["status"] == "degraded"


def test_broker_unreachable_answers_503_at_once():
    # Nothing listens on port 1: the real client must not hang or retry for long.
    app = create_app(GatewaySettings(AMQP_URI="amqp://guest:guest@127.0.0.1:1/"))
    started = time.monotonic()

    response = TestClient(app).get("/healthz")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    services = response.json()["services"]
    assert {entry["reason"] for entry in services.values()} == {"message broker unreachable"}
