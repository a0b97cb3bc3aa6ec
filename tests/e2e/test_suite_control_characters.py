"""Names and descriptions with control characters are refused with a 422 naming the field.

``"Harbour\\x00MSP"`` and ``"\\x07\\x1b[31mHarbour"`` used to be stored as sent (and shown in
the console, mails and CSV exports). A fresh distributor for the module, so nothing here
touches the demo data.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.identity_client import Client, new_distributor_admin, signed_in
from tests.e2e.matrix_world import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

HOSTILE = ["\x07\x1b[31mHarbour MSP", "Harbour\x00MSP", "Harbour\nMSP"]


@pytest.fixture(scope="module")
def admin(suite: Any) -> Client:
    email = new_distributor_admin(suite, "Control Characters", "control-chars.example", PASSWORD)
    return signed_in(suite.base_url, email, PASSWORD)


def refused_field(response: Any) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    return str(error["details"]["fields"][0]["field"])


def test_a_partner_name_with_control_characters_is_refused_and_nothing_is_stored(admin):
    for name in HOSTILE:
        response = admin.post("/api/v1/partners", json={
            "name": name, "email": f"msp-{uuid.uuid4().hex[:8]}@control-chars.example", "country": "US",
            "data_center": "us-east-1"})
        assert refused_field(response) == "name", name
    assert admin.get("/api/v1/dashboard").json()["total_partners"] == 0


def test_a_user_name_with_control_characters_is_refused(admin):
    for name in HOSTILE:
        response = admin.post("/api/v1/users", json={"email": f"user-{uuid.uuid4().hex[:8]}@control-chars.example",
                                                     "display_name": name, "role": "custom",
                                                     "permissions": ["view_dashboard"]})
        assert refused_field(response) == "display_name", name
    users = admin.get("/api/v1/users").json()["items"]
    assert not any("Harbour" in (user["display_name"] or "") for user in users)


def test_an_ip_entry_description_with_control_characters_is_refused_when_added_or_edited(admin):
    for description in HOSTILE:
        added = admin.post("/api/v1/security/ip-restrictions/entries",
                           json={"description": description, "addresses": "203.0.113.7"})
        assert refused_field(added) == "description", description
    made = admin.post("/api/v1/security/ip-restrictions/entries",
                      json={"description": "branch\toffice", "addresses": "203.0.113.8"})
    assert made.status_code == 201, made.text
    entry = next(e for e in made.json()["entries"] if e["addresses"] == "203.0.113.8")
    assert entry["description"] == "branch\toffice"  # a tab is allowed
    edited = admin.patch(f"/api/v1/security/ip-restrictions/entries/{entry['id']}",
                         json={"description": "branch\x1b[2Joffice"})
    assert refused_field(edited) == "description"
    descriptions = [e["description"] for e in admin.get("/api/v1/security/ip-restrictions").json()["entries"]]
    assert descriptions == ["branch\toffice"]
