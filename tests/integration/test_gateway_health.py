"""The gateway against the real broker: /healthz, stopped services, expiring requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from fastapi import APIRouter
from fastapi.testclient import TestClient
from kombu import Connection

from contracts.context import Caller
from contracts.errors import ServiceUnavailable
from gateway.app import create_app
from gateway.deps import Rpc
from gateway.rpc import NamekoRpcClient, RequestContext
from gateway.settings import GatewaySettings
from servicekit.context import CallContextProvider
from servicekit.rpc import rpc
from services.audit.entrypoints import AuditService
from services.billing.entrypoints import BillingService
from services.identity.entrypoints import IdentityService
from services.notify.entrypoints import NotifyService
from services.tenancy.entrypoints import TenancyService

pytestmark = pytest.mark.integration

ALL_SERVICES = (IdentityService, TenancyService, BillingService, AuditService, NotifyService)

recorded_calls: list[dict[str, Any]] = []


class ProbeService:
    """Records every call it runs, with the context that came with it."""

    name = "gateway_probe"
    context = CallContextProvider()

    @rpc
    def record(self, token: str) -> str:
        recorded_calls.append(
            {
                "token": token,
                "correlation_id": self.context.correlation_id,
                "caller": self.context.caller,
            }
        )
        return token


probe_router = APIRouter()


@probe_router.get("/test/billing-health")
def billing_health(rpc: Rpc) -> Any:
    return rpc.call("billing", "health", timeout=1.0)


@pytest.fixture
def runners(start_services) -> dict[str, Any]:
    """Each service in its own runner, so that one can be stopped alone."""
    return {cls.name: start_services(cls) for cls in ALL_SERVICES}


@pytest.fixture
def gateway(amqp_uri: str) -> Iterator[TestClient]:
    app = create_app(GatewaySettings(AMQP_URI=amqp_uri, health_timeout_seconds=1.5))
    app.include_router(probe_router)
    with TestClient(app) as client:  # the lifespan closes the RPC connections
        yield client


@pytest.fixture
def rpc_client(amqp_uri: str) -> Iterator[NamekoRpcClient]:
    client = NamekoRpcClient(amqp_uri, default_timeout=5)
    yield client
    client.close()


def timed_get(client: TestClient, path: str) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def queue_depth(amqp_uri: str, queue: str) -> int:
    with Connection(amqp_uri) as connection:
        return connection.default_channel.queue_declare(queue, passive=True).message_count


def test_healthz_reports_all_five_services_ok(runners, gateway, postgres_admin_url):
    response, elapsed = timed_get(gateway, "/healthz")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["gateway"] == "ok"
    assert set(body["services"]) == set(runners)
    expected_db = "postgresql" if postgres_admin_url else "sqlite"
    for service, health in body["services"].items():
        assert health["status"] == "ok", service
        assert health["database"] == expected_db
        assert health["schema_revision"]
    assert elapsed < 2


def test_a_stopped_service_is_down_within_2_seconds_and_back_when_restarted(
    runners, gateway, start_services
):
    assert gateway.get("/healthz").status_code == 200
    assert gateway.get("/test/billing-health").status_code == 200

    runners["billing"].stop()

    # /healthz: billing down after its 1.5 s deadline, the others still ok.
    response, elapsed = timed_get(gateway, "/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["services"]["billing"] == {"status": "down", "reason": "timeout after 1.5 s"}
    others = {name: health["status"] for name, health in body["services"].items() if name != "billing"}
    assert set(others.values()) == {"ok"}
    assert 1.4 < elapsed < 2.0, elapsed  # the health deadline, not a hang

    # An RPC to it fails with 503 at its own 1 s deadline.
    response, elapsed = timed_get(gateway, "/test/billing-health")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["details"]["service"] == "billing"
    assert error["details"]["reason"] == "timeout after 1 s"
    assert error["details"]["correlation_id"] == response.headers["X-Correlation-ID"]
    assert 0.9 < elapsed < 1.5, elapsed

    # Back again: the same gateway (same per-thread connections) answers at once.
    start_services(BillingService)
    assert gateway.get("/test/billing-health").status_code == 200
    response, elapsed = timed_get(gateway, "/healthz")
    assert response.status_code == 200
    assert elapsed < 1, elapsed


def test_a_service_that_never_started_is_down_at_once(start_services, gateway, amqp_uri):
    start_services(IdentityService)
    with Connection(amqp_uri) as connection:  # earlier tests' services left their queues
        for cls in ALL_SERVICES[1:]:
            connection.default_channel.queue_delete(f"rpc-{cls.name}")

    response, elapsed = timed_get(gateway, "/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["services"]["identity"]["status"] == "ok"
    assert body["services"]["audit"] == {"status": "down", "reason": "not running (no consumer)"}
    assert elapsed < 1  # no queue bound: refused by the broker, no deadline to wait for


def test_context_travels_with_the_call(start_services, rpc_client):
    recorded_calls.clear()
    start_services(ProbeService)
    caller = Caller(ip="198.51.100.7", user_agent="tests/1")

    answer = rpc_client.call(
        "gateway_probe", "record", "hello", context=RequestContext("req-ctx-1", caller)
    )

    assert answer == "hello"
    assert recorded_calls == [{"token": "hello", "correlation_id": "req-ctx-1", "caller": caller}]


def test_a_request_the_caller_gave_up_on_is_never_executed(start_services, rpc_client, amqp_uri):
    recorded_calls.clear()
    start_services(ProbeService).stop()  # its queue stays, with no consumer
    context = RequestContext("req-stale", Caller())

    with pytest.raises(ServiceUnavailable):
        rpc_client.call("gateway_probe", "record", "stale", context=context, timeout=1.0)
    time.sleep(0.3)
    assert queue_depth(amqp_uri, "rpc-gateway_probe") == 0  # expired with the deadline

    start_services(ProbeService)
    assert rpc_client.call("gateway_probe", "record", "fresh", context=context) == "fresh"
    assert [entry["token"] for entry in recorded_calls] == ["fresh"]


def test_one_connection_per_thread_is_reused(start_services, rpc_client):
    start_services(ProbeService)

    for token in ("a", "b", "c"):
        assert rpc_client.call("gateway_probe", "record", token) == token

    assert len(rpc_client._connections) == 1


def test_each_thread_gets_its_own_connection_and_keeps_it(start_services, rpc_client):
    start_services(ProbeService)
    seen: dict[str, set[int]] = {}

    def worker(name: str) -> None:
        for token in ("a", "b", "c"):
            assert rpc_client.call("gateway_probe", "record", f"{name}-{token}") == f"{name}-{token}"
            seen.setdefault(name, set()).add(id(rpc_client._local.connection))

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert {name: len(ids) for name, ids in seen.items()} == {"one": 1, "two": 1}  # reused
    assert seen["one"] != seen["two"]  # never shared


def test_a_service_without_a_queue_fails_at_once_and_leaves_nothing_behind(rpc_client):
    started = time.monotonic()

    results = rpc_client.call_many({"no_such_service": ("anything",)}, timeout=5)

    assert time.monotonic() - started < 1
    error = results["no_such_service"].error
    assert isinstance(error, ServiceUnavailable)
    assert error.details["reason"] == "not running (no consumer)"
    assert rpc_client._local.connection.listener._reply_events == {}


def test_a_connection_the_broker_closed_is_replaced_before_the_next_call(
    start_services, rpc_client, amqp_uri
):
    start_services(ProbeService)
    assert rpc_client.call("gateway_probe", "record", "before") == "before"
    first = rpc_client._local.connection
    local_port = first.listener.queue_consumer.connection.connection.sock.getsockname()[1]

    close_connection_from_port(amqp_uri, local_port)  # what a broker restart or an admin does

    assert rpc_client.call("gateway_probe", "record", "after") == "after"
    assert rpc_client._local.connection is not first


def close_connection_from_port(amqp_uri: str, port: int) -> None:
    management = "http://127.0.0.1:15672"
    vhost = urlsplit(amqp_uri).path.lstrip("/")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        connections = requests.get(
            f"{management}/api/vhosts/{vhost}/connections", auth=("guest", "guest"), timeout=5
        ).json()
        names = [c["name"] for c in connections if c.get("peer_port") == port]
        if names:
            requests.delete(
                f"{management}/api/connections/{quote(names[0], safe='')}",
                auth=("guest", "guest"),
                timeout=5,
            ).raise_for_status()
            time.sleep(0.2)  # let the close frame arrive
            return
        time.sleep(0.2)
    pytest.fail(f"no broker connection from port {port}")
