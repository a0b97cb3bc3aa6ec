"""The security audit end to end: actions through the gateway become entries of the right trail."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from kombu import Connection, Queue
from psycopg import sql
from psycopg.rows import dict_row

from servicekit.outbox import declare_events_exchange
from tests.e2e.identity_client import DEMO_ADMIN, OPERATOR, Client, Mailbox, error_code, signed_in
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.e2e

STRONG = "a lantern over the quiet bay"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Safari/537.36")


@pytest.fixture(scope="module")
def admin(suite) -> Client:
    return signed_in(suite.base_url, *DEMO_ADMIN)


@pytest.fixture(scope="module")
def operator(suite) -> Client:
    return signed_in(suite.base_url, *OPERATOR)


def entries(client: Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", params={"page_size": 200, **params})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def wait_for_entries(client: Client, predicate, message: str, **params: Any) -> list[dict[str, Any]]:
    return wait_for(lambda: [e for e in entries(client, **params) if predicate(e)], timeout=20, message=message)


def exactly(client: Client, predicate, message: str, marker: Callable[[], Any], **params: Any) -> list[dict[str, Any]]:
    """The entries matching ``predicate`` once they appeared *and* a later marker did too.

    ``marker`` does something that makes an entry of the same event type (the same queue,
    published after the one under test) and waits until that entry is in the trail: a late
    duplicate of the first would have been written by then, so counting after it means "once".
    """
    wait_for_entries(client, predicate, message, **params)
    marker()
    return [e for e in entries(client, **params) if predicate(e)]


def as_another_address(client: Client) -> Client:
    """The same session from a fresh address: its entries are told apart by ``ip``."""
    return Client(client.base_url, token=client.token)


def confirmed(suite, email: str, known: set[str] | None = None) -> Client:
    """Confirm the invitation mailed to ``email`` (the suite's Maildir) and sign in."""
    token = Mailbox(suite.var_dir).new_confirmation_token(email, known)
    client = Client(suite.base_url)
    assert client.post("/api/v1/auth/confirm-email", json={"token": token, "password": STRONG}).status_code == 204
    assert client.sign_in(email, STRONG).status_code == 200
    return client


def invited_user(suite, admin: Client, permissions: list[str]) -> tuple[dict[str, Any], Client]:
    email = f"auditor-{uuid.uuid4().hex[:8]}@northwind-backup.example"
    created = admin.post("/api/v1/users", json={"email": email, "role": "custom", "permissions": permissions})
    assert created.status_code == 201, created.text
    return created.json(), confirmed(suite, email)


def test_a_sign_in_appears_once_with_its_columns(suite, admin):
    client = Client(suite.base_url)
    response = client.post("/api/v1/auth/sign-in", json={"email": DEMO_ADMIN[0], "password": DEMO_ADMIN[1]},
                           headers={"User-Agent": CHROME})
    assert response.status_code == 200

    def marker() -> None:
        later = Client(suite.base_url)
        assert later.sign_in(*DEMO_ADMIN).status_code == 200
        wait_for_entries(admin, lambda e: e["ip"] == later.ip, "a later sign-in", activity="sign_in")

    [entry] = exactly(admin, lambda e: e["ip"] == client.ip, "the sign-in entry", marker,
                      activity="sign_in", performed_by=DEMO_ADMIN[0])

    assert (entry["activity"], entry["status"]) == ("sign_in", "completed")
    assert entry["description"] == f"Native sign in (OK) Chrome from ip {client.ip}"
    assert entry["performed_by"] == DEMO_ADMIN[0] and entry["user_agent"] == CHROME


def test_a_user_without_the_permission_is_refused_until_it_is_granted(suite, admin):
    user, client = invited_user(suite, admin, ["view_dashboard"])

    refused = client.get("/api/v1/audit")
    assert refused.status_code == 403 and error_code(refused) == "permission_denied"
    assert client.get("/api/v1/audit/export.csv").status_code == 403

    granted = admin.patch(f"/api/v1/users/{user['id']}",
                          json={"permissions": ["view_dashboard", "view_security_audit"]})
    assert granted.status_code == 200
    first = (f"Permissions changed: {user['email']}: role Custom; "
             "permissions: view dashboard, view security audit; all accounts")

    def marker() -> None:
        again = admin.patch(f"/api/v1/users/{user['id']}",
                            json={"permissions": ["view_dashboard", "view_security_audit", "add_accounts"]})
        assert again.status_code == 200, again.text
        wait_for_entries(admin, lambda e: user["email"] in e["description"] and "add accounts" in e["description"],
                         "a later permissions change", activity="permissions_changed")

    [entry] = exactly(admin, lambda e: e["description"] == first, "the permissions entry", marker,
                      activity="permissions_changed")
    assert entry["activity"] == "permissions_changed"
    assert (entry["status"], entry["performed_by"], entry["ip"]) == ("completed", DEMO_ADMIN[0], admin.ip)
    # The session's permissions are re-read within seconds (the gateway's session cache).
    wait_for(lambda: client.get("/api/v1/audit").status_code == 200, message="the granted permission")


def test_a_failed_sign_in_appears_once_as_failed(suite, admin):
    user, _ = invited_user(suite, admin, ["view_dashboard"])
    intruder = Client(suite.base_url)

    assert intruder.sign_in(user["email"], "not the password at all").status_code == 401

    def marker() -> None:
        later = Client(suite.base_url)
        assert later.sign_in(user["email"], "still not the password").status_code == 401
        wait_for_entries(admin, lambda e: e["ip"] == later.ip, "a later failed sign-in", activity="sign_in",
                         status="failed")

    [entry] = exactly(admin, lambda e: e["ip"] == intruder.ip, "the failed sign-in", marker,
                      activity="sign_in", status="failed")
    assert (entry["activity"], entry["status"], entry["performed_by"]) == ("sign_in", "failed", user["email"])
    assert entry["description"] == f"Native sign in (Failed: wrong email or password) e2e-tests from ip {intruder.ip}"


def test_an_ip_restriction_change_appears_once(suite, admin):
    description = f"e2e office {uuid.uuid4().hex[:6]}"
    added = admin.post("/api/v1/security/ip-restrictions/entries",
                       json={"description": description, "addresses": "198.51.100.77"})
    assert added.status_code in (200, 201), added.text

    entry_id = next(e["id"] for e in added.json()["entries"] if e["description"] == description)

    def marker() -> None:  # the same event type: taking the entry out again
        assert admin.delete(f"/api/v1/security/ip-restrictions/entries/{entry_id}").status_code in (200, 204)
        wait_for_entries(admin, lambda e: e["description"].startswith(f"IP restrictions: Entry removed: {description}"),
                         "the removal after it", activity="security_settings_changed")

    [entry] = exactly(admin, lambda e: f"Entry added: {description}" in e["description"],
                      "the IP restrictions entry", marker, activity="security_settings_changed")
    assert entry["description"].startswith(f"IP restrictions: Entry added: {description} (restrictions off, ")
    assert (entry["activity"], entry["status"], entry["performed_by"], entry["ip"]) == (
        "security_settings_changed", "completed", DEMO_ADMIN[0], admin.ip)


def test_a_distributor_sees_its_partners_sign_in_and_the_partner_not_the_distributors(suite, admin):
    email = f"partner-{uuid.uuid4().hex[:8]}@contoso-e2e.example"
    known = Mailbox(suite.var_dir).confirmation_tokens(email)
    created = admin.post("/api/v1/partners", json={"name": f"Audit Partner {email[8:14]}", "email": email,
                                                   "country": "US", "data_center": "us-east-1"})
    assert created.status_code == 201, created.text
    partner = confirmed(suite, email, known)

    def marker() -> None:
        later = Client(suite.base_url)
        assert later.sign_in(email, STRONG).status_code == 200
        wait_for_entries(admin, lambda e: e["ip"] == later.ip, "the partner's later sign-in", activity="sign_in",
                         performed_by=email)

    [seen] = exactly(admin, lambda e: e["ip"] == partner.ip, "the partner's sign-in in the distributor's trail",
                     marker, activity="sign_in", performed_by=email)
    assert seen["tenant_id"] == created.json()["id"]
    own = entries(partner)
    assert own and {e["tenant_id"] for e in own} <= {created.json()["id"]}
    assert entries(partner, performed_by=DEMO_ADMIN[0]) == []


def test_an_exported_formula_comes_out_neutralised_and_the_export_is_audited(suite, operator):
    formula = f'=HYPERLINK("http://evil.example/{uuid.uuid4().hex[:6]}","click")'
    assert Client(suite.base_url).sign_in(formula, "whatever it is").status_code == 401
    performer = formula.lower()  # identity records the address as it compares it
    wait_for_entries(operator, lambda e: True, "the failed sign-in of a formula", performed_by=performer)

    response = operator.get("/api/v1/audit/export.csv", params={"performed_by": performer, "activity": "sign_in"})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert rows[0][:5] == ["Date (UTC)", "Activity", "Status", "Account", "Performed by"]
    assert [row[4] for row in rows[1:]] == ["'" + performer]
    assert not any(cell.startswith("=") for row in rows for cell in row)
    [exported] = wait_for_entries(operator, lambda e: e["description"].startswith(
        "Notification: exported security audit (activity sign_in; performed by"), "the export's own entry",
        activity="notification", performed_by=OPERATOR[0])
    assert exported["ip"] == operator.ip


def billing_details(company: str, phone: str = "+1 206 555 0100") -> dict[str, Any]:
    return {"first_name": "Dana", "last_name": "Kim", "billing_email": "billing@northwind-backup.example",
            "company": company, "company_tax_id": "US-12-3456789", "address_line1": "1 Harbour Way",
            "city": "Seattle", "zip": "98101", "country": "US", "phone": phone}


def test_a_billing_details_change_appears_once_with_its_columns(suite, admin):
    me = as_another_address(admin)
    changed = me.put("/api/v1/billing/details", json=billing_details(f"Northwind Audit {uuid.uuid4().hex[:6]}"))
    assert changed.status_code == 200, changed.text

    def marker() -> None:
        later = as_another_address(admin)
        again = later.put("/api/v1/billing/details", json=billing_details(f"Northwind Audit {uuid.uuid4().hex[:6]}"))
        assert again.status_code == 200, again.text
        wait_for_entries(admin, lambda e: e["ip"] == later.ip, "a later billing details change",
                         activity="billing_details_changed")

    [entry] = exactly(admin, lambda e: e["ip"] == me.ip, "the billing details entry", marker,
                      activity="billing_details_changed")
    assert (entry["activity"], entry["status"], entry["performed_by"]) == (
        "billing_details_changed", "completed", DEMO_ADMIN[0])
    assert entry["description"].startswith("Billing details changed: ") and "company" in entry["description"]


def test_an_account_removal_appears_once_with_the_account(suite, admin):
    name = f"Removal Test {uuid.uuid4().hex[:6]}"
    created = admin.post("/api/v1/accounts", json={"name": name, "email": f"it-{uuid.uuid4().hex[:6]}@remove.example",
                                                   "subscription": "subscribe_monthly"})
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    removed = admin.post(f"/api/v1/accounts/{account_id}/remove", json={"approve_data_removal": True})
    assert removed.status_code == 200, removed.text

    def marker() -> None:
        later = new_account(admin, "Later Removal", "subscribe_monthly")
        assert admin.post(f"/api/v1/accounts/{later['id']}/remove", json={"approve_data_removal": True}).status_code \
            == 200
        wait_for_entries(admin, lambda e: True, "a later removal", activity="account_removed", account=later["id"])

    [entry] = exactly(admin, lambda e: True, "the removal entry", marker, activity="account_removed",
                      account=account_id)
    assert (entry["account_id"], entry["account_name"]) == (account_id, name)
    assert (entry["activity"], entry["status"], entry["performed_by"]) == ("account_removed", "completed",
                                                                           DEMO_ADMIN[0])
    assert entry["description"] == f"Account removed with all its data: {name}"


def new_account(client: Client, name: str, subscription: str = "trial_expiring") -> dict[str, Any]:
    created = client.post("/api/v1/accounts", json={"name": f"{name} {uuid.uuid4().hex[:6]}",
                                                    "email": f"it-{uuid.uuid4().hex[:8]}@audit-e2e.example",
                                                    "subscription": subscription})
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_opening_a_customer_account_appears_once_as_account_accessed(suite, admin):
    account = new_account(admin, "Opened")
    me = as_another_address(admin)
    assert me.get(f"/api/v1/accounts/{account['id']}").status_code == 200

    def marker() -> None:
        later = new_account(admin, "Opened Later")
        assert me.get(f"/api/v1/accounts/{later['id']}").status_code == 200
        wait_for_entries(admin, lambda e: True, "a later access", activity="account_accessed", account=later["id"])

    [entry] = exactly(admin, lambda e: True, "the account access entry", marker, activity="account_accessed",
                      account=account["id"])
    assert (entry["activity"], entry["status"], entry["performed_by"], entry["ip"]) == (
        "account_accessed", "completed", DEMO_ADMIN[0], me.ip)
    assert (entry["account_id"], entry["account_name"]) == (account["id"], account["name"])
    assert entry["description"] == f"Account accessed: {account['name']}"


@pytest.fixture
def identity_events(suite) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Identity's ``signed_in`` envelopes, as any outside subscriber receives them."""
    with Connection(suite.env["AMQP_URI"]) as connection:
        queue = Queue(f"e2e-audit-{uuid.uuid4().hex[:6]}", exchange=declare_events_exchange("identity"),
                      routing_key="signed_in", exclusive=True, durable=False)
        bound = queue(connection.default_channel)
        bound.declare()
        received: list[dict[str, Any]] = []

        def drain() -> list[dict[str, Any]]:
            while (message := bound.get(no_ack=True)) is not None:
                received.append(message.payload)
            return received

        yield drain


def test_a_redelivered_event_makes_no_second_entry(suite, admin, identity_events):
    client = Client(suite.base_url)
    assert client.sign_in(*DEMO_ADMIN).status_code == 200
    [envelope] = wait_for(lambda: [e for e in identity_events() if e["actor"]["ip"] == client.ip],
                          message="the sign-in's envelope on identity.events")
    wait_for_entries(admin, lambda e: e["ip"] == client.ip, "the first delivery's entry", activity="sign_in")

    with Connection(suite.env["AMQP_URI"], transport_options={"confirm_publish": True}) as connection:
        exchange = declare_events_exchange("identity")
        connection.Producer().publish(envelope, exchange=exchange, routing_key="signed_in", declare=[exchange],
                                      serializer="json", delivery_mode=2, message_id=envelope["event_id"])

    def marker() -> None:  # the same queue, after the copy
        later = Client(suite.base_url)
        assert later.sign_in(*DEMO_ADMIN).status_code == 200
        wait_for_entries(admin, lambda e: e["ip"] == later.ip, "a later sign-in", activity="sign_in")

    [entry] = exactly(admin, lambda e: e["ip"] == client.ip, "the entry", marker, activity="sign_in")
    assert entry["id"] == envelope["event_id"]


def test_verify_reports_an_entry_edited_in_the_database(suite, admin):
    url = suite.env["AUDIT_DATABASE_URL"]
    if not url.startswith("postgres"):
        pytest.skip("edits the PostgreSQL database directly")
    [victim] = entries(admin, page_size=1)
    command = [sys.executable, "-m", "services.audit.usecases.verify", "--database-url", url]
    assert subprocess.run(command, capture_output=True, text=True, timeout=120, check=False).returncode == 0

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # the owner, triggers off: behind the service's back
        conn.execute("UPDATE audit_entries SET description = 'nothing to see' WHERE event_id = %s", (victim["id"],))
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("UPDATE audit_entries SET description = %s WHERE event_id = %s",
                         (victim["description"], victim["id"]))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "hash_mismatch): entry" in result.stdout and victim["id"] in result.stdout


def test_verify_reports_an_entry_deleted_from_the_database(suite, admin):
    url = suite.env["AUDIT_DATABASE_URL"]
    if not url.startswith("postgres"):
        pytest.skip("deletes in the PostgreSQL database directly")
    [newest] = entries(admin, page_size=1)
    command = [sys.executable, "-m", "services.audit.usecases.verify", "--database-url", url]
    assert subprocess.run(command, capture_output=True, text=True, timeout=120, check=False).returncode == 0

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        head = conn.execute("SELECT max(seq) AS seq FROM audit_entries WHERE tenant_id = %s",
                            (newest["tenant_id"],)).fetchone()
        assert head is not None and head["seq"] >= 3, "the trail needs a few entries"
        victim = conn.execute("SELECT * FROM audit_entries WHERE tenant_id = %s AND seq = %s",
                              (newest["tenant_id"], head["seq"] - 1)).fetchone()
        assert victim is not None
        conn.execute("SET session_replication_role = replica")  # the owner, triggers off: behind the service's back
        conn.execute("DELETE FROM audit_entries WHERE id = %s", (victim["id"],))
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            columns = list(victim)
            conn.execute(sql.SQL("INSERT INTO audit_entries ({}) VALUES ({})").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", ").join(sql.Placeholder() * len(columns))),
                [victim[c] for c in columns])

    assert result.returncode == 1, result.stdout + result.stderr
    assert (f"BROKEN tenant {newest['tenant_id']} at entry {victim['seq']} (missing_entries)" in result.stdout), \
        result.stdout
    assert subprocess.run(command, capture_output=True, text=True, timeout=120, check=False).returncode == 0
