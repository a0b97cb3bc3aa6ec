"""The dashboard through the gateway, on the demo distributor, with billing up and down."""

from __future__ import annotations

import pytest

from servicekit.testing import wait_for
from tests.e2e.identity_client import DEMO_ADMIN, signed_in

pytestmark = pytest.mark.e2e


def test_the_dashboard_lists_partners_and_direct_accounts_and_survives_billing_down(suite):
    admin = signed_in(suite.base_url, *DEMO_ADMIN)

    # Other end-to-end tests add partners to the demo distributor too: look for the demo's.
    page = admin.get("/api/v1/dashboard", params={"page_size": 200}).json()
    names = {row["name"] for row in page["items"]}
    assert {"Contoso IT Services", "Fabrikam Managed Services", "Tailspin Cloud Partners"} <= names
    assert page["total_partners"] == page["total"] == len(page["items"])
    assert page["direct_accounts"]["name"] == "Direct Accounts"
    assert page["billing_available"] is True
    assert all(row["currency"] for row in page["items"])
    searched = admin.get("/api/v1/dashboard", params={"search": "fabrikam"}).json()
    assert [row["name"] for row in searched["items"]] == ["Fabrikam Managed Services"]

    suite.stop_service("billing")
    try:
        degraded = admin.get("/api/v1/dashboard", params={"page_size": 200})
        assert degraded.status_code == 200
        assert degraded.json()["billing_available"] is False
        assert len(degraded.json()["items"]) == len(page["items"])
        assert all(row["amount"] is None for row in degraded.json()["items"])
    finally:
        suite.start_service("billing")
    wait_for(lambda: admin.get("/api/v1/dashboard").json()["billing_available"], timeout=20,
             message="billing columns back")
