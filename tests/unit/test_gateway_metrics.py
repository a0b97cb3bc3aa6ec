"""The gateway's /metrics: requests counted by route template and status, never by raw path."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from contracts.identity import Principal
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient
from tests.unit.test_gateway_tenancy_operator import AUTH, user


def http() -> TestClient:
    session = Principal(session_id=uuid.uuid4(), user=user("distributor"), password_expired=False).to_wire()
    fake = FakeRpcClient({("identity", "check_session"): session, ("tenancy", "ping"): {}})
    return TestClient(create_app(rpc_client_factory=lambda _: fake))


def count(text: str, **labels: str) -> float:
    wanted = ",".join(f'{name}="{value}"' for name, value in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        match = re.match(r"portal_http_requests_total\{(.*)\} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            total += float(match.group(2))
    return total


def test_requests_are_counted_by_route_template_and_status():
    client = http()
    before = count(client.get("/metrics").text, method="GET", route="/api/v1/accounts/{account_id}", status="401")

    client.get("/api/v1/ping", headers=AUTH)
    client.get(f"/api/v1/accounts/{uuid.uuid4()}")  # no session: 401
    client.get("/no/such/page/someone@example.com")
    text = client.get("/metrics").text

    assert count(text, method="GET", route="/api/v1/ping", status="200") >= 1
    assert count(text, method="GET", route="/api/v1/accounts/{account_id}", status="401") == before + 1
    assert count(text, method="GET", route="unmatched", status="404") >= 1
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-|@example\.com", text)
