"""Every date and date-time a request may carry is ISO 8601 text within 2000-01-01..2100-12-31:
anything else is 422 naming the parameter, before any service is asked (year 1 and year
9999 had overflowed into a 500; a bare number had been read as seconds since 1970)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contracts.dates import EARLIEST_DAY, LATEST_DAY, SaneDate, SaneDatetime
from contracts.identity import Principal, UserView
from gateway.app import create_app
from tests.support.fake_rpc import FakeRpcClient

AUTH = {"Authorization": "Bearer " + "t" * 43}
ENGINE = {"Authorization": "Bearer bre_" + "k" * 40}

OUT_OF_RANGE_DAYS = ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31", "0", "1700000000", "-1"]
OUT_OF_RANGE_MOMENTS = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1999-12-31T23:59:59Z", "0",
                        "1700000000"]


def principal(kind: str) -> dict:
    user = UserView(id=uuid.uuid4(), tenant_id=uuid.uuid4(), tenant_kind=kind, email="u@example.com",
                    credential_type="password", role="administrator", permissions=[], accessible_accounts="all",
                    email_confirmed=True, two_factor_enabled=False, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return Principal(session_id=uuid.uuid4(), user=user, password_expired=False).to_wire()


def http(kind: str) -> tuple[TestClient, FakeRpcClient]:
    fake = FakeRpcClient({("identity", "check_session"): principal(kind),
                          ("identity", "check_engine_key"): {"key_id": str(uuid.uuid4()), "name": "engine"}})
    return TestClient(create_app(rpc_client_factory=lambda _: fake)), fake


def run(value: str) -> dict[str, Any]:
    return {"run_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "status": "success",
            "started_at": value, "finished_at": "2026-11-30T10:00:00Z", "size_bytes": 1, "seats": 1}


# (who, method, path, how the value is sent, the parameter named in the answer)
DAY_PARAMETERS = [
    ("distributor", "GET", "/api/v1/billing/status", lambda v: {"params": {"as_of": v}}, "as_of"),
    ("distributor", "GET", "/api/v1/audit", lambda v: {"params": {"from": v}}, "from"),
    ("distributor", "GET", "/api/v1/audit", lambda v: {"params": {"to": v}}, "to"),
    ("distributor", "GET", "/api/v1/audit/export.csv", lambda v: {"params": {"to": v}}, "to"),
    ("operator", "POST", "/api/v1/operator/billing-runs", lambda v: {"json": {"as_of": v}}, "as_of"),
    ("operator", "POST", "/api/v1/operator/billing/payments", lambda v: {"json": {
        "reference": "INV-2026-000001", "method": "paypal", "amount": "1.00", "currency": "USD", "paid_on": v}},
     "paid_on"),
]
MOMENT_PARAMETERS = [
    ("distributor", "GET", "/api/v1/audit", lambda v: {"params": {"from": v}}, "from"),
    ("distributor", "GET", "/api/v1/audit", lambda v: {"params": {"to": v}}, "to"),
    ("operator", "POST", "/api/v1/operator/jobs/trial-expiry", lambda v: {"json": {"as_of": v}}, "as_of"),
    ("engine", "POST", "/api/v1/ingest/backup-runs", lambda v: {"json": [run(v)]}, "started_at"),
]


def refused(kind: str, method: str, path: str, sent: dict[str, Any]) -> tuple[Any, list]:
    client, fake = http("distributor" if kind == "engine" else kind)
    response = client.request(method, path, headers=ENGINE if kind == "engine" else AUTH, **sent)
    asked = [c.call for c in fake.calls if c.call.service != "identity"]
    return response, asked


@pytest.mark.parametrize("value", OUT_OF_RANGE_DAYS)
@pytest.mark.parametrize(("kind", "method", "path", "send", "field"), DAY_PARAMETERS,
                         ids=[f"{p[1]} {p[2]} {p[4]}" for p in DAY_PARAMETERS])
def test_a_day_outside_2000_to_2100_is_422_naming_the_parameter(kind, method, path, send, field, value):
    response, asked = refused(kind, method, path, send(value))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert [f["field"].split(".")[-1] for f in error["details"]["fields"]] == [field], error
    assert asked == []


@pytest.mark.parametrize("value", OUT_OF_RANGE_MOMENTS)
@pytest.mark.parametrize(("kind", "method", "path", "send", "field"), MOMENT_PARAMETERS,
                         ids=[f"{p[1]} {p[2]} {p[4]}" for p in MOMENT_PARAMETERS])
def test_a_moment_outside_2000_to_2100_is_422_naming_the_parameter(kind, method, path, send, field, value):
    response, asked = refused(kind, method, path, send(value))

    assert response.status_code == 422, response.text
    assert [f["field"].split(".")[-1] for f in response.json()["error"]["details"]["fields"]] == [field]
    assert asked == []


def test_the_bounds_themselves_are_sane_days_and_moments():
    from pydantic import TypeAdapter

    days, moments = TypeAdapter(SaneDate), TypeAdapter(SaneDatetime)
    assert days.validate_python("2000-01-01") == EARLIEST_DAY == date(2000, 1, 1)
    assert days.validate_python("2100-12-31") == LATEST_DAY == date(2100, 12, 31)
    assert days.validate_python(date(2026, 12, 2)) == date(2026, 12, 2)
    assert moments.validate_python("2100-12-31T23:59:59Z") == datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert moments.validate_python("2000-01-01T00:00:00Z") == datetime(2000, 1, 1, tzinfo=UTC)


def test_a_sane_as_of_still_reaches_billing():
    client, fake = http("distributor")
    fake.answers[("billing", "billing_status")] = {"items": [], "page": 1, "page_size": 25, "total": 0}

    response = client.get("/api/v1/billing/status", params={"as_of": "2026-12-02"}, headers=AUTH)

    assert response.status_code == 200, response.text
    [call] = [c.call for c in fake.calls if c.call.service == "billing"]
    assert call.args[0]["as_of"] == "2026-12-02"
