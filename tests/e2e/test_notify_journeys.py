"""Notification recipients and settings, end to end: HTTP through the gateway to the running suite."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.identity_client import DEMO_ADMIN, Client, error_code, signed_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin(suite) -> Client:
    return signed_in(suite.base_url, *DEMO_ADMIN)


def test_recipients_are_added_listed_changed_and_removed_through_the_gateway(admin):
    email = f"ops-{uuid.uuid4().hex[:8]}@northwind-backup.example"

    created = admin.post("/api/v1/notifications/recipients",
                         json={"email": email, "display_name": "Ops", "types": ["summary_report"]})
    assert created.status_code == 201, created.text
    recipient = created.json()
    duplicate = admin.post("/api/v1/notifications/recipients", json={"email": email.upper(), "types": ["summary_report"]})
    nothing = admin.post("/api/v1/notifications/recipients", json={"email": f"none-{email}", "types": []})
    listed = admin.get("/api/v1/notifications/recipients", params={"type": "summary_report", "page_size": 200})
    changed = admin.patch(f"/api/v1/notifications/recipients/{recipient['id']}",
                          json={"types": ["exceptions_notification", "trial_accounts_report"]})
    removed = admin.delete(f"/api/v1/notifications/recipients/{recipient['id']}")
    gone = admin.patch(f"/api/v1/notifications/recipients/{recipient['id']}", json={"display_name": "x"})

    assert duplicate.status_code == 409 and error_code(duplicate) == "conflict"
    assert nothing.status_code == 422 and nothing.json()["error"]["details"]["fields"][0]["field"].endswith("types")
    assert "at least one notification type" in nothing.json()["error"]["details"]["fields"][0]["reason"]
    assert listed.status_code == 200 and email in [r["email"] for r in listed.json()["items"]]
    assert changed.status_code == 200
    assert changed.json()["types"] == ["exceptions_notification", "trial_accounts_report"]
    assert changed.json()["display_name"] == "Ops"
    assert removed.status_code == 204
    assert gone.status_code == 404 and error_code(gone) == "not_found"


def test_report_settings_are_kept_and_bad_values_name_the_field(admin):
    put = admin.put("/api/v1/notifications/settings", json={"frequency": "daily", "csv_delivery": "link"})
    read = admin.get("/api/v1/notifications/settings")
    bad = admin.put("/api/v1/notifications/settings", json={"frequency": "hourly", "csv_delivery": "link"})

    assert put.status_code == 200 and read.json() == {"frequency": "daily", "csv_delivery": "link"}
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "frequency"


def test_recipients_need_a_signed_in_user(suite):
    response = Client(suite.base_url).get("/api/v1/notifications/recipients")

    assert response.status_code == 401
