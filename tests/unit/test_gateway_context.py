"""Correlation id, caller context and the access log of every request."""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi import APIRouter
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.deps import Rpc
from gateway.middleware import client_ip, correlation_id_from
from gateway.settings import GatewaySettings
from tests.support.fake_rpc import FakeRpcClient

router = APIRouter()


@router.get("/echo")
def echo(rpc: Rpc) -> Any:
    structlog.stdlib.get_logger("test.endpoint").info("inside_endpoint")
    return rpc.call("tenancy", "echo")


@pytest.fixture
def fake() -> FakeRpcClient:
    return FakeRpcClient({("tenancy", "echo"): {"ok": True}})


def make_client(fake: FakeRpcClient, peer: str = "203.0.113.9", **settings: Any) -> TestClient:
    app = create_app(GatewaySettings(**settings), rpc_client_factory=lambda _: fake)
    app.include_router(router)
    return TestClient(app, client=(peer, 50000))


@pytest.fixture
def client(fake: FakeRpcClient) -> TestClient:
    return make_client(fake)


class Records(logging.Handler):
    """Collects the structlog event dicts that reach stdlib logging."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            self.events.append(dict(record.msg))


@pytest.fixture
def log_events() -> Iterator[list[dict[str, Any]]]:
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.events
    finally:
        root.removeHandler(handler)


def test_a_sane_correlation_id_is_echoed_and_sent_with_the_rpc(client, fake):
    response = client.get("/echo", headers={"X-Correlation-ID": "req-42.a_B"})

    assert response.status_code == 200
    assert response.headers["X-Correlation-ID"] == "req-42.a_B"
    assert fake.calls[-1].context is not None
    assert fake.calls[-1].context.correlation_id == "req-42.a_B"
    assert fake.calls[-1].context.as_context_data()["correlation_id"] == "req-42.a_B"


def test_without_a_correlation_id_a_uuid_is_generated(client, fake):
    response = client.get("/echo")

    generated = response.headers["X-Correlation-ID"]
    assert uuid.UUID(generated)
    assert fake.calls[-1].context.correlation_id == generated


@pytest.mark.parametrize(
    "junk",
    ["a" * 101, "has space", "semi;colon", "<script>", "ünïcode", "slash/path", ""],
    ids=["too-long", "space", "semicolon", "markup", "non-ascii", "slash", "empty"],
)
def test_junk_correlation_ids_are_replaced(junk):
    replaced = correlation_id_from(junk)

    assert replaced != junk
    assert uuid.UUID(replaced)


def test_junk_correlation_id_header_is_not_echoed(client):
    response = client.get("/echo", headers={"X-Correlation-ID": "x" * 101})

    assert uuid.UUID(response.headers["X-Correlation-ID"])


def test_correlation_id_of_100_characters_is_accepted():
    assert correlation_id_from("a" * 100) == "a" * 100


def test_errors_carry_the_correlation_header_too(client):
    response = client.get("/nowhere", headers={"X-Correlation-ID": "req-404"})

    assert response.status_code == 404
    assert response.headers["X-Correlation-ID"] == "req-404"


def test_the_caller_context_has_peer_address_and_user_agent(client, fake):
    client.get("/echo", headers={"User-Agent": "portal-tests/1.0", "X-Forwarded-For": "198.51.100.1"})

    caller = fake.calls[-1].context.caller
    assert caller.ip == "203.0.113.9"  # the peer is no trusted proxy: X-Forwarded-For ignored
    assert caller.user_agent == "portal-tests/1.0"
    wire = fake.calls[-1].context.as_context_data()["caller"]
    assert wire["ip"] == "203.0.113.9"


def test_x_forwarded_for_is_believed_from_a_trusted_proxy(fake):
    client = make_client(fake, peer="10.0.0.5", trusted_proxies="10.0.0.0/8")

    client.get("/echo", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.7, 10.0.0.9"})

    assert fake.calls[-1].context.caller.ip == "198.51.100.7"


def test_trusted_proxies_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1")
    monkeypatch.setenv("AMQP_URI", "amqp://u:p@rabbit:5672/portal")

    settings = GatewaySettings()

    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
    )
    assert settings.amqp_uri == "amqp://u:p@rabbit:5672/portal"
    assert settings.rpc_timeout_seconds == 10
    assert settings.health_timeout_seconds == 1.5


TRUSTED = (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", "1.1.1.1", "203.0.113.9"),  # untrusted peer: its header is ignored
        ("10.0.0.5", None, "10.0.0.5"),  # trusted proxy without header
        ("10.0.0.5", "1.1.1.1", "1.1.1.1"),
        ("10.0.0.5", "6.6.6.6, 1.1.1.1, 10.0.0.7", "1.1.1.1"),  # left of the client: its say
        ("10.0.0.5", "10.0.0.8, 10.0.0.7", "10.0.0.8"),  # all trusted: the farthest
        ("10.0.0.5", "1.1.1.1, not-an-ip", "10.0.0.5"),  # junk from the nearest hop
        ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
        (None, "1.1.1.1", None),
    ],
)
def test_client_ip_reads_x_forwarded_for_from_the_right(peer, forwarded, expected):
    assert client_ip(peer, forwarded, TRUSTED) == expected


def test_one_access_line_per_request_without_query_string_or_authorization(client, log_events):
    client.get(
        "/echo?token=s3cr3t-query",
        headers={"Authorization": "Bearer s3cr3t-bearer", "X-Correlation-ID": "req-log"},
    )

    access = [event for event in log_events if event.get("logger") == "gateway.access"]
    assert len(access) == 1
    line = access[0]
    assert line["method"] == "GET"
    assert line["path"] == "/echo"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["service"] == "gateway"
    assert line["correlation_id"] == "req-log"
    assert not any("s3cr3t" in repr(event) for event in log_events)


def test_log_lines_inside_the_endpoint_carry_the_correlation_id(client, log_events):
    client.get("/echo", headers={"X-Correlation-ID": "req-inside"})

    inside = [event for event in log_events if event.get("event") == "inside_endpoint"]
    assert inside and inside[0]["correlation_id"] == "req-inside"
    assert inside[0]["service"] == "gateway"


def test_a_crash_still_gets_its_access_line_with_status_500(fake, log_events):
    app = create_app(GatewaySettings(), rpc_client_factory=lambda _: fake)

    @app.get("/crash")
    def crash() -> None:
        raise ValueError("no")

    TestClient(app).get("/crash")

    access = [event for event in log_events if event.get("logger") == "gateway.access"]
    assert [line["status"] for line in access] == [500]
    errors = [event for event in log_events if event.get("event") == "unhandled_error"]
    assert len(errors) == 1 and errors[0]["error"] == "ValueError"
