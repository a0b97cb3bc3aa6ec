"""Billing end to end through the gateway, on the running suite.

The hand-checked month (October 2026) is published onto ``tenancy.events`` as tenancy would
publish it (tests/support/billing_simulation.py): tenancy only subscribes accounts "now", and a bill
needs a month that has ended. The annual account goes the real way: created, given a task
and backup runs through tenancy's HTTP API and its ingest.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from contracts.events import TenancyEvent
from contracts.tenancy import BackupService, DefaultSubscription, Plan
from servicekit.settings import normalise_database_url
from services.billing.adapters.models import Account, UsageSnapshot
from tests.e2e.identity_client import OPERATOR, Client, Mailbox, signed_in
from tests.e2e.test_suite_secrets_scan import SERVICES, database_text
from tests.support import billing_simulation as simulate
from tests.support.fixtures import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.calendar]

PASSWORD = "a quiet ledger by the harbour"
PAN = "4000056655665556"
OCTOBER_RUN = "2026-11-01"  # bills October 2026 (31 days)
OCTOBER_TOTAL = Decimal("51.97")  # 45.00 + 3.10 + 3.87, see october()
DETAILS = {"first_name": "Dana", "last_name": "Reyes", "billing_email": "ap@fabrikam.example",
           "company": "Fabrikam", "company_tax_id": "US-12-3456789", "address_line1": "1 Main St",
           "city": "Redmond", "zip": "98052", "country": "US", "phone": "+1 425 555 0100"}


def confirm(suite: Any, mail: Mailbox, email: str, password: str | None = None) -> Client:
    token = mail.new_confirmation_token(email, timeout=30)
    client = Client(suite.base_url)
    body = {"token": token, **({"password": password} if password else {})}
    assert client.post("/api/v1/auth/confirm-email", json=body).status_code == 204
    assert client.sign_in(email, password or PASSWORD).status_code == 200
    return client


class World:
    """A fresh distributor with a partner, their signed-in users, and a customer user."""

    def __init__(self, suite: Any) -> None:
        self.suite = suite
        self.mail = Mailbox(suite.var_dir)
        self.operator = signed_in(suite.base_url, *OPERATOR)
        tag = uuid.uuid4().hex[:8]
        admin_email = f"billing-admin-{tag}@fabrikam.example"
        created = self.operator.post("/api/v1/operator/distributors", json={
            "name": f"Fabrikam {tag}", "email": f"billing-{tag}@fabrikam.example", "country": "US",
            "data_center": "us-east-1", "admin_email": admin_email, "admin_password": PASSWORD})
        assert created.status_code == 201, created.text
        self.distributor = uuid.UUID(created.json()["distributor"]["id"])
        self.admin = confirm(suite, self.mail, admin_email)
        partner_email = f"msp-{tag}@tailspin.example"
        partner = self.admin.post("/api/v1/partners", json={"name": f"Tailspin {tag}", "email": partner_email,
                                                             "country": "US", "data_center": "us-east-1"})
        assert partner.status_code == 201, partner.text
        self.partner = uuid.UUID(partner.json()["id"])
        self.partner_user = confirm(suite, self.mail, partner_email, PASSWORD)
        self.customer_user = self._customer_user(tag)
        self.billing_db = sa.create_engine(normalise_database_url(suite.env["BILLING_DATABASE_URL"]))

    def _customer_user(self, tag: str) -> Client:
        email = f"it-{tag}@coho.example"
        account = self.admin.post("/api/v1/accounts", json={"name": f"Customer {tag}", "email": email,
                                                            "partner_id": str(self.partner)})
        assert account.status_code == 201, account.text
        # identity invites the account's first administrator at the account's email.
        return confirm(self.suite, self.mail, email, PASSWORD)

    def billing_accounts(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, date | None, date | None]]:
        """Billing's copy of these accounts: seats, the day subscribed and the day removed."""
        with self.billing_db.connect() as connection:
            return {row[0]: (row[1], row[2], row[3]) for row in connection.execute(
                sa.select(Account.id, Account.seats, Account.subscribed_on, Account.removed_on)
                .where(Account.id.in_(ids)))}

    def projected(self, expected: dict[uuid.UUID, tuple[int, date, date | None]], runs: int) -> bool:
        """Billing has taken in every event of the month: seats, subscription and removal days,
        and each reported run's day (events are handled concurrently, in any order)."""
        with self.billing_db.connect() as connection:
            reported = connection.execute(
                sa.select(sa.func.count()).select_from(UsageSnapshot)
                .where(UsageSnapshot.account_id.in_(list(expected)), UsageSnapshot.carried.is_(False))).scalar()
        return reported == runs and self.billing_accounts(list(expected)) == expected

    def october(self) -> dict[str, uuid.UUID]:
        """The hand-checked month, USD; prices from services/billing/adapters/price_book.yaml."""
        d, p = self.distributor, self.partner
        at = lambda day, hour=3: datetime(2026, 10, day, hour, tzinfo=UTC)  # noqa: E731
        accounts = {name: uuid.uuid4() for name in ("alpine", "birch", "dune")}
        dune_removed = at(10, 18)
        events = []
        expected: dict[uuid.UUID, tuple[int, date, date | None]] = {}
        # Alpine Dental: 10 Exchange + 10 OneDrive seats all October: 10 x 2.50 + 10 x 2.00 = 45.00
        # Birch Legal: subscribed 16 Oct, 4 Teams seats: 4 x 1.50 x 16/31 = 3.0967 -> 3.10
        # Dune Studio (direct): 3 Salesforce seats, removed 10 Oct: 3 x 4.00 x 10/31 = 3.8709 -> 3.87
        for key, name, owner, kind, subscribed, services in [
            ("alpine", "Alpine Dental", p, "partner", datetime(2026, 9, 20, tzinfo=UTC),
             {BackupService.EXCHANGE: 10, BackupService.ONEDRIVE: 10}),
            ("birch", "Birch Legal", p, "partner", at(16, 9), {BackupService.TEAMS: 4}),
            ("dune", "Dune Studio", d, "distributor", datetime(2026, 9, 20, tzinfo=UTC),
             {BackupService.SALESFORCE: 3}),
        ]:
            account = accounts[key]
            expected[account] = (sum(services.values()), subscribed.date(),
                                 dune_removed.date() if key == "dune" else None)
            events += [simulate.tenant_created(account, owner, "account", name),
                       simulate.account_created(account, owner, kind, name, DefaultSubscription.SUBSCRIBE_MONTHLY),
                       simulate.account_subscribed(account, owner, Plan.MONTHLY, subscribed)]
            for service, seats in services.items():
                task = uuid.uuid4()
                events += [simulate.task_added(task, account, service)]
                events += [simulate.run_recorded(task, account, owner, at(day), seats) for day in (1, 16, 30)]
        events.append(simulate.account_removed(accounts["dune"], d, "Dune Studio", dune_removed))
        simulate.publish(self.suite.env["AMQP_URI"], events)
        runs = sum(1 for event in events if event.type == TenancyEvent.BACKUP_RUNS_RECORDED.value)
        wait_for(lambda: self.projected(expected, runs), timeout=30, message="billing to project October")
        return accounts


@pytest.fixture(scope="module")
def world(suite) -> Any:
    world = World(suite)
    yield world
    world.billing_db.dispose()


@pytest.fixture(scope="module")
def october(world) -> dict[str, Any]:
    """October's usage; a run before the distributor's first visit to Billing, the visit (it
    chooses the invoice method), and the run after it."""
    accounts = world.october()

    def run() -> dict[str, Any]:
        response = world.operator.post("/api/v1/operator/billing-runs",
                                        json={"as_of": OCTOBER_RUN, "distributor_id": str(world.distributor)})
        assert response.status_code == 200, response.text
        return dict(response.json())

    unchosen = run()
    history_unchosen = history(world.admin)
    first_visit = world.admin.get("/api/v1/billing/method").json()
    chosen = world.admin.put("/api/v1/billing/method", json={"method": "invoice"})
    assert chosen.status_code == 200, chosen.text
    return {"accounts": accounts, "unchosen_run": unchosen, "history_unchosen": history_unchosen,
            "first_visit": first_visit, "run": run()}


def history(client: Client) -> list[dict[str, Any]]:
    response = client.get("/api/v1/billing/history")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def consolidated(client: Client) -> dict[str, Any]:
    [bill] = [row for row in history(client) if row["consolidated"]]
    return bill


def test_the_method_is_chosen_once(world, october):
    assert (october["first_visit"]["method"], october["first_visit"]["can_change"]) == (None, True)
    again = world.admin.put("/api/v1/billing/method", json={"method": "credit_card"})
    assert again.status_code == 409
    assert world.admin.get("/api/v1/billing/method").json() | {"chosen_at": None} == {
        "distributor_id": str(world.distributor), "method": "invoice", "chosen_at": None, "can_change": False}


def test_a_run_bills_nothing_until_the_distributor_has_chosen_its_method(world, october):
    before, after = october["unchosen_run"], october["run"]

    assert (before["consolidated_invoices"], before["annual_invoices"], before["already_billed"]) == (0, 0, 0)
    assert before["distributors_skipped"] == {"billing_method_not_chosen": 1}
    assert october["history_unchosen"] == []
    assert (after["consolidated_invoices"], after["already_billed"], after["distributors_skipped"]) == (1, 0, {})

    def logged() -> list[dict[str, Any]]:
        lines = world.suite.log_path("billing").read_text(errors="replace").splitlines()
        return [entry for line in lines if str(world.distributor) in line and "billing method not chosen" in line
                for entry in [json.loads(line)]]

    lines = wait_for(logged, timeout=10, message="the skip in billing's log")  # (the clock's runs may skip it too)
    assert {(line["level"], line["reason"]) for line in lines} == {("warning", "billing_method_not_chosen")}
    assert lines[0]["distributor_ids"] == [str(world.distributor)]


def test_a_month_of_usage_yields_the_expected_consolidated_invoice_to_the_cent(world, october):
    assert (october["run"]["consolidated_invoices"], october["run"]["accounts_billed"]) == (1, 3)
    bill = consolidated(world.admin)

    assert (bill["account_name"], Decimal(bill["amount"]), bill["currency"]) == ("Consolidated bill", OCTOBER_TOTAL,
                                                                                 "USD")
    assert (bill["issue_date"], bill["due_date"], bill["period_start"], bill["period_end"]) == (
        "2026-11-01", "2026-12-01", "2026-10-01", "2026-10-31")
    assert re.fullmatch(r"INV-2026-\d{6}", bill["reference"])


def test_the_pdf_opens_and_shows_the_reference_and_the_total(world, october):
    bill = consolidated(world.admin)
    response = world.admin.get(f"/api/v1/billing/invoices/{bill['reference']}.pdf")

    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert bill["reference"] in text and "USD 51.97" in text


def test_the_csv_parses_and_sums_to_the_invoice_total(world, october):
    bill = consolidated(world.admin)
    response = world.admin.get(f"/api/v1/billing/invoices/{bill['reference']}.csv")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline="")))
    assert sum(Decimal(row["amount"]) for row in rows) == OCTOBER_TOTAL
    by_account: dict[str, Decimal] = {}
    for row in rows:
        by_account[row["account_name"]] = by_account.get(row["account_name"], Decimal(0)) + Decimal(row["amount"])
    assert by_account == {"Alpine Dental": Decimal("45.00"), "Birch Legal": Decimal("3.10"),
                          "Dune Studio": Decimal("3.87")}


def test_running_the_same_period_twice_issues_nothing_new(world, october):
    before = history(world.admin)
    again = world.operator.post("/api/v1/operator/billing-runs",
                                json={"as_of": "2026-11-02", "distributor_id": str(world.distributor)})

    assert again.status_code == 200
    assert (again.json()["consolidated_invoices"], again.json()["already_billed"]) == (0, 1)
    assert history(world.admin) == before


def alpine_status(world: World, accounts: dict[str, uuid.UUID], as_of: str) -> dict[str, Any]:
    response = world.admin.get(f"/api/v1/billing/status?partner_id={world.partner}&as_of={as_of}")
    assert response.status_code == 200, response.text
    return next(r for r in response.json()["items"] if r["account_id"] == str(accounts["alpine"]))


def test_an_unpaid_bill_is_due_overdue_the_day_after_and_current_once_paid(world, october):
    accounts, bill = october["accounts"], consolidated(world.admin)

    due = alpine_status(world, accounts, "2026-12-01")
    assert (due["billing_status"], due["amount_due"], due["subscription"]) == ("due", "45.00", "monthly")
    assert alpine_status(world, accounts, "2026-12-02")["billing_status"] == "overdue"

    small = world.operator.post("/api/v1/operator/billing/payments", json={
        "reference": bill["reference"], "method": "bank_transfer", "amount": bill["amount"], "currency": "USD"})
    assert small.status_code == 422  # bank transfer is for invoices over USD 1,000
    paid = world.operator.post("/api/v1/operator/billing/payments", json={
        "reference": bill["reference"], "method": "paypal", "amount": bill["amount"], "currency": "USD",
        "external_reference": "PAYPAL-8XK2"})
    assert paid.status_code == 201, paid.text

    current = alpine_status(world, accounts, "2026-12-02")
    assert (current["billing_status"], current["amount_due"]) == ("current", "0.00")
    summary = world.admin.get(f"/api/v1/billing/accounts/{accounts['alpine']}", params={"as_of": "2026-12-02"})
    assert summary.status_code == 200 and summary.json() == current  # the account's billing summary
    assert world.admin.get(f"/api/v1/billing/accounts/{uuid.uuid4()}").status_code == 404
    page = world.admin.get(f"/billing/accounts/{accounts['alpine']}",
                           headers={"Cookie": f"portal_session={world.admin.token}"})
    assert page.status_code == 200 and 'data-billing-status>Current<' in page.text
    listing = world.admin.get("/billing", headers={"Cookie": f"portal_session={world.admin.token}"})
    assert f'href="/billing/accounts/{accounts["alpine"]}"' in listing.text  # the name opens the summary
    assert consolidated(world.admin)["paid"] is True


def test_an_operator_switches_the_method_and_a_distributor_cannot(world, october):
    path = f"/api/v1/operator/distributors/{world.distributor}/billing/method"

    refused = world.admin.put(path, json={"method": "credit_card"})
    unchanged = world.admin.get("/api/v1/billing/method").json()
    switched = world.operator.put(path, json={"method": "credit_card"})
    seen = world.admin.get("/api/v1/billing/method").json()
    still_once = world.admin.put("/api/v1/billing/method", json={"method": "invoice"})
    back = world.operator.put(path, json={"method": "invoice"})  # as the other tests here expect it

    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert unchanged["method"] == "invoice"
    assert switched.status_code == 200, switched.text
    assert (seen["distributor_id"], seen["method"], seen["can_change"]) == (
        str(world.distributor), "credit_card", False)
    assert still_once.status_code == 409  # switching stays Support's job
    assert back.status_code == 200 and world.admin.get("/api/v1/billing/method").json()["method"] == "invoice"


@pytest.fixture(scope="module")
def annual_world(suite) -> Any:
    """A distributor of its own, invoiced, for the account subscribed today: a run as of today
    also bills the month before it, which for October's distributor is a second consolidated
    bill once the real date has passed the 1st of December 2026."""
    world = World(suite)
    chosen = world.admin.put("/api/v1/billing/method", json={"method": "invoice"})
    assert chosen.status_code == 200, chosen.text
    yield world
    world.billing_db.dispose()


def test_an_annual_account_gets_its_own_invoice_due_in_thirty_days(annual_world):
    world = annual_world
    created = world.admin.post("/api/v1/accounts", json={
        "name": "Wingtip Toys", "email": "it@wingtip.example", "partner_id": str(world.partner),
        "subscription": "subscribe_annual"})
    assert created.status_code == 201, created.text
    account = created.json()["id"]
    task = world.admin.post(f"/api/v1/accounts/{account}/backup-tasks", json={"service": "exchange",
                                                                              "name": "Mailboxes"}).json()
    assert world.admin.post(f"/api/v1/accounts/{account}/backup-tasks/{task['id']}/activate").status_code == 200
    key = world.operator.post("/api/v1/operator/engine-keys", json={"name": "billing e2e"}).json()["key"]
    now = datetime.now(UTC)
    ingest = Client(world.suite.base_url, token=key).post("/api/v1/ingest/backup-runs", json=[{
        "run_id": str(uuid.uuid4()), "task_id": task["id"], "status": "success",
        "started_at": (now - timedelta(minutes=5)).isoformat(), "finished_at": now.isoformat(),
        "size_bytes": 2**30, "seats": 12}])
    assert ingest.status_code == 200 and ingest.json()["accepted"] == 1, ingest.text
    def subscribed_with_seats() -> bool:
        seats, subscribed_on, _ = world.billing_accounts([uuid.UUID(account)]).get(uuid.UUID(account), (0, None, None))
        return seats == 12 and subscribed_on is not None

    wait_for(subscribed_with_seats, timeout=30, message="billing to see the subscription and the seats")

    run = world.operator.post("/api/v1/operator/billing-runs",
                              json={"as_of": now.date().isoformat(), "distributor_id": str(world.distributor)})

    assert run.status_code == 200, run.text
    # Today's run bills this account's year and nothing else, whatever today is.
    assert (run.json()["annual_invoices"], run.json()["consolidated_invoices"]) == (1, 0), run.text
    [bill] = [row for row in history(world.admin) if row["account_id"] == account]
    assert (bill["account_name"], bill["consolidated"], bill["amount"]) == ("Wingtip Toys", False, "324.00")
    assert date.fromisoformat(bill["due_date"]) == now.date() + timedelta(days=30)


# Every billing route of the API, with a request its rightful caller could send. The test
# below compares this with the routes the running gateway describes: a billing route
# without an entry here fails it.
BILLING_ROUTES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", "/api/v1/billing/method"): None,
    ("PUT", "/api/v1/billing/method"): {"method": "invoice"},
    ("GET", "/api/v1/billing/status"): None,
    ("GET", "/api/v1/billing/accounts/{account_id}"): None,
    ("GET", "/api/v1/billing/history"): None,
    ("GET", "/api/v1/billing/invoices/{reference}.pdf"): None,
    ("GET", "/api/v1/billing/invoices/{reference}.csv"): None,
    ("POST", "/api/v1/billing/invoices/{reference}/pay"): {},
    ("GET", "/api/v1/billing/details"): None,
    ("PUT", "/api/v1/billing/details"): DETAILS,
    ("GET", "/api/v1/billing/cards"): None,
    ("POST", "/api/v1/billing/cards"): {"token": "tok_visa"},
    ("POST", "/api/v1/billing/cards/{card_id}/activate"): None,
    ("DELETE", "/api/v1/billing/cards/{card_id}"): None,
    ("POST", "/api/v1/operator/billing-runs"): {"as_of": "2026-11-01"},
    ("POST", "/api/v1/operator/jobs/billing-facts"): {},
    ("POST", "/api/v1/operator/billing/payments"): {"reference": "{reference}", "method": "paypal",
                                                    "amount": "1.00", "currency": "USD"},
    ("PUT", "/api/v1/operator/distributors/{distributor_id}/billing/method"): {"method": "credit_card"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def described_billing_routes(client: Client) -> set[tuple[str, str]]:
    """The gateway's billing routes, as its OpenAPI document has them: tagged billing, or about billing."""
    spec = client.get("/openapi.json").json()
    return {(method.upper(), path) for path, operations in spec["paths"].items()
            for method, operation in operations.items()
            if method in HTTP_METHODS and ("billing" in operation.get("tags", []) or "billing" in path)}


def billing_routes(world: World, reference: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    values = {"reference": reference, "card_id": str(uuid.uuid4()), "distributor_id": str(world.distributor),
              "account_id": str(uuid.uuid4())}
    fill = lambda text: text.format(**values) if isinstance(text, str) else text  # noqa: E731
    return [(method, fill(path), {key: fill(value) for key, value in body.items()} if body is not None else None)
            for (method, path), body in BILLING_ROUTES.items()]


def test_the_route_list_is_every_billing_route_of_the_api(world):
    assert described_billing_routes(world.operator) == set(BILLING_ROUTES)


@pytest.mark.parametrize("who", ["partner_user", "customer_user"])
def test_partner_and_customer_users_get_403_or_404_on_every_billing_route(world, october, who):
    client: Client = getattr(world, who)
    reference = consolidated(world.admin)["reference"]

    answers = {f"{method} {path}": client.request(method, path, json=body).status_code
               for method, path, body in billing_routes(world, reference)}

    assert described_billing_routes(client) == set(BILLING_ROUTES)  # every one of them was tried
    assert {route: code for route, code in answers.items() if code not in (403, 404)} == {}
    assert sorted(set(answers.values())) == [403]  # refused, not merely missing
    assert world.admin.get("/api/v1/billing/method").json()["method"] == "invoice"  # nothing was switched


def processor_store(suite: Any) -> Path:
    """The local payment processor's own database (services/billing/settings.py)."""
    return Path(suite.env.get("BILLING_PROCESSOR_STORE") or suite.var_dir / "billing-processor.db")


def test_no_card_number_or_cvc_is_stored_or_logged(world):
    details = DETAILS
    refused = [
        world.admin.put("/api/v1/billing/details", json={**details, "address_line2": f"card {PAN}"}),
        world.admin.put("/api/v1/billing/details", json={**details, "company": "4000 0566 5566 5556"}),
        world.admin.post("/api/v1/billing/cards", json={"token": "tok_visa", "cvc": "123"}),
        world.admin.post("/api/v1/billing/cards", json={"token": "tok_visa", "card_number": PAN, "cvv": "321"}),
        world.admin.post("/api/v1/billing/cards", json={"token": PAN}),
    ]
    assert [r.status_code for r in refused] == [422] * len(refused)
    assert all(PAN[-8:] not in r.text for r in refused)
    assert world.admin.put("/api/v1/billing/details", json=details).status_code == 200
    card = world.admin.post("/api/v1/billing/cards", json={"token": "tok_visa_debit"})
    assert card.status_code == 201 and card.json()["last4"] == "5556"
    assert world.admin.get("/api/v1/billing/cards").json()["items"][0]["brand"] == "Visa"

    places = {f"{s} database": database_text(world.suite.env[f"{s.upper()}_DATABASE_URL"]) for s in SERVICES}
    places.update({f"{name} log": path.read_text(errors="replace") for name, path in world.suite.log_paths.items()})
    store = processor_store(world.suite)
    assert store.is_file(), f"the processor's database is not at {store}"
    places["the processor's database"] = database_text(f"sqlite:///{store}")
    places.update({f"the processor's file {path.name}": path.read_bytes().decode("latin-1")
                   for path in store.parent.glob(store.name + "*")})  # the file itself, and any journal
    spellings = [PAN, "4000 0566 5566 5556", "4000-0566-5566-5556"]
    found = [f"{spelling} in {place}" for place, text in places.items() for spelling in spellings if spelling in text]
    found += [f"a CVC field in {place}" for place, text in places.items()
              if re.search(r"\b(cvc|cvv)\b", text, re.IGNORECASE)]
    assert found == []
