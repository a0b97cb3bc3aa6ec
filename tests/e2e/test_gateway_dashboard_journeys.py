"""The dashboard and its drill-downs through the gateway: tenancy's rows with the billing
facts billing announces, every filter and sort in one query, and billing stopped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.identity_client import DEMO_ADMIN, OPERATOR, Client, Mailbox, signed_in
from tests.e2e.test_billing_journeys import PASSWORD, confirm
from tests.support.fixtures import wait_for

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
    assert all(row["amount"] is not None and row["billing_status"] for row in page["items"])
    searched = admin.get("/api/v1/dashboard", params={"search": "fabrikam"}).json()
    assert [row["name"] for row in searched["items"]] == ["Fabrikam Managed Services"]
    contoso = next(row["id"] for row in page["items"] if row["name"] == "Contoso IT Services")
    drill_down = admin.get(f"/api/v1/partners/{contoso}/accounts").json()
    assert drill_down["billing_available"] is True and drill_down["items"]
    assert all(row["billing_status"] and row["amount"] is not None for row in drill_down["items"])

    # Billing away changes nothing: tenancy keeps the facts billing announced, filters included.
    suite.stop_service("billing")
    try:
        degraded = admin.get("/api/v1/dashboard", params={"page_size": 200})
        assert degraded.status_code == 200
        assert degraded.json()["items"] == page["items"] and degraded.json()["billing_available"] is True
        filtered = admin.get("/api/v1/dashboard", params={"billing_status": "on_track", "sort": "-amount"})
        assert filtered.status_code == 200, filtered.text
        accounts = admin.get(f"/api/v1/partners/{contoso}/accounts", params={"sort": "-amount"})
        assert accounts.status_code == 200, accounts.text
        assert {row["id"] for row in accounts.json()["items"]} == {row["id"] for row in drill_down["items"]}
    finally:
        suite.start_service("billing")


class Billed:
    """A fresh distributor whose partner "Zephyr" owes an annual invoice; "Alder" owes nothing."""

    def __init__(self, suite: Any) -> None:
        self.operator = signed_in(suite.base_url, *OPERATOR)
        tag = uuid.uuid4().hex[:8]
        admin_email = f"dash-admin-{tag}@wingtip.example"
        created = self.operator.post("/api/v1/operator/distributors", json={
            "name": f"Wingtip {tag}", "email": f"dash-{tag}@wingtip.example", "country": "US",
            "data_center": "us-east-1", "admin_email": admin_email, "admin_password": PASSWORD})
        assert created.status_code == 201, created.text
        self.distributor = created.json()["distributor"]["id"]
        self.admin = confirm(suite, Mailbox(suite.var_dir), admin_email)
        self.zephyr = self.partner(f"Zephyr {tag}", f"zephyr-{tag}@msp.example")
        self.alder = self.partner(f"Alder {tag}", f"alder-{tag}@msp.example")
        self.annual = self.account("Big Annual", f"annual-{tag}@coho.example", self.zephyr, "subscribe_annual")
        self.trial = self.account("Small Trial", f"trial-{tag}@coho.example", self.zephyr, "trial_expiring")
        self.account("Alder Trial", f"alder-trial-{tag}@coho.example", self.alder, "trial_expiring")
        self.bill_annual(suite)

    def partner(self, name: str, email: str) -> str:
        response = self.admin.post("/api/v1/partners", json={"name": name, "email": email, "country": "US",
                                                             "data_center": "us-east-1"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def account(self, name: str, email: str, partner: str, subscription: str) -> str:
        response = self.admin.post("/api/v1/accounts", json={"name": name, "email": email, "partner_id": partner,
                                                             "subscription": subscription})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def bill_annual(self, suite: Any) -> None:
        task = self.admin.post(f"/api/v1/accounts/{self.annual}/backup-tasks",
                               json={"service": "exchange", "name": "Mailboxes"}).json()
        assert self.admin.post(f"/api/v1/accounts/{self.annual}/backup-tasks/{task['id']}/activate").status_code == 200
        key = self.operator.post("/api/v1/operator/engine-keys", json={"name": "dashboard e2e"}).json()["key"]
        now = datetime.now(UTC)
        ingest = Client(suite.base_url, token=key).post("/api/v1/ingest/backup-runs", json=[{
            "run_id": str(uuid.uuid4()), "task_id": task["id"], "status": "success",
            "started_at": (now - timedelta(minutes=5)).isoformat(), "finished_at": now.isoformat(),
            "size_bytes": 2**30, "seats": 12}])
        assert ingest.status_code == 200 and ingest.json()["accepted"] == 1, ingest.text
        # Nothing is billed before the distributor has chosen how it pays.
        assert self.admin.put("/api/v1/billing/method", json={"method": "invoice"}).status_code == 200

        def billed() -> bool:
            # Billing learns the seats from tenancy's events; the run is idempotent, so run until it bills.
            run = self.operator.post("/api/v1/operator/billing-runs", json={
                "as_of": now.date().isoformat(), "distributor_id": self.distributor})
            assert run.status_code == 200, run.text
            return bool(run.json()["annual_invoices"] or run.json().get("already_billed"))

        wait_for(billed, timeout=30, message="the annual invoice")

        def announced() -> bool:
            # Tenancy keeps billing's facts from its announcements (account_billing_changed).
            rows = self.admin.get("/api/v1/dashboard").json()["items"]
            return any(row["id"] == self.zephyr and row["amount"] == "324.00" for row in rows)

        wait_for(announced, timeout=30, message="the invoice's facts on the dashboard")


@pytest.fixture(scope="module")
def billed(suite) -> Billed:
    return Billed(suite)


@pytest.mark.calendar
def test_the_dashboard_sorts_by_amount_in_billings_order(billed):
    most = billed.admin.get("/api/v1/dashboard", params={"sort": "-amount"}).json()
    least = billed.admin.get("/api/v1/dashboard", params={"sort": "amount"}).json()
    by_name = billed.admin.get("/api/v1/dashboard").json()

    assert [row["id"] for row in most["items"]] == [billed.zephyr, billed.alder]
    assert [row["id"] for row in least["items"]] == [billed.alder, billed.zephyr]
    assert [row["id"] for row in by_name["items"]] == [billed.alder, billed.zephyr]
    assert most["items"][0]["amount"] == "324.00" and most["items"][1]["amount"] == "0.00"
    assert (most["total"], most["total_partners"], most["sort"]) == (2, 2, "-amount")
    assert most["direct_accounts"]["amount"] == "0.00"


@pytest.mark.calendar
def test_a_partner_owing_a_bill_that_is_due_but_not_overdue_is_with_exceptions(billed):
    page = billed.admin.get("/api/v1/dashboard").json()
    flagged = billed.admin.get("/api/v1/dashboard", params={"billing_status": "with_exceptions"}).json()
    on_track = billed.admin.get("/api/v1/dashboard", params={"billing_status": "on_track"}).json()

    rows = {row["id"]: (row["amount"], row["billing_status"]) for row in page["items"]}
    assert rows == {billed.zephyr: ("324.00", "with_exceptions"), billed.alder: ("0.00", "on_track")}
    assert (page["direct_accounts"]["amount"], page["direct_accounts"]["billing_status"]) == ("0.00", "on_track")
    assert [row["id"] for row in flagged["items"]] == [billed.zephyr] and flagged["direct_accounts"] is None
    assert [row["id"] for row in on_track["items"]] == [billed.alder]


@pytest.mark.calendar
def test_a_drill_down_filters_by_billing_status_and_sorts_by_amount(billed):
    path = f"/api/v1/partners/{billed.zephyr}/accounts"

    due = billed.admin.get(path, params={"billing_status": "due"}).json()
    none = billed.admin.get(path, params={"billing_status": "none"}).json()
    by_amount = billed.admin.get(path, params={"sort": "-amount"}).json()

    assert [(r["id"], r["billing_status"], r["amount"]) for r in due["items"]] == [(billed.annual, "due", "324.00")]
    assert (due["total"], due["total_accounts"]) == (1, 2)
    assert [r["id"] for r in none["items"]] == [billed.trial]
    assert [r["id"] for r in by_amount["items"]] == [billed.annual, billed.trial]


@pytest.mark.calendar
def test_billing_status_names_accounts_and_partners_from_tenancy(billed):
    page = billed.admin.get("/api/v1/billing/status", params={"partner_id": billed.zephyr}).json()

    names = {(row["account_name"], row["partner_name"]) for row in page["items"]}
    zephyr = next(row["name"] for row in billed.admin.get("/api/v1/dashboard").json()["items"]
                  if row["id"] == billed.zephyr)
    assert names == {("Big Annual", zephyr), ("Small Trial", zephyr)}


def test_billing_status_as_of_outside_2000_to_2100_is_422_naming_as_of(billed):
    for as_of in ("0001-01-01", "9999-12-31", "0"):
        response = billed.admin.get("/api/v1/billing/status", params={"as_of": as_of})

        assert response.status_code == 422, (as_of, response.text)
        assert [f["field"] for f in response.json()["error"]["details"]["fields"]] == ["query.as_of"]
    assert billed.admin.get("/api/v1/billing/status", params={"as_of": "2100-12-31"}).status_code == 200
