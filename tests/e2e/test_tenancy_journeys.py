"""Tenancy end to end through the gateway, on the running suite: the guide's stories.

A fresh distributor per module (made by the operator, with its administrator), so the
demo data and other tests' accounts never count. The trial clock is the operator's
``POST /operator/jobs/trial-expiry`` with an ``as_of`` two weeks ahead, limited to this
distributor's trials.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from kombu import Connection, Queue

from servicekit.outbox import declare_events_exchange
from tests.e2e.identity_client import OPERATOR, Client, Mailbox, error_code, signed_in
from tests.support.fixtures import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "a lighthouse keeps the harbour"
SUBSCRIPTIONS = ("trial_expiring", "trial_auto_monthly", "trial_auto_annual", "subscribe_monthly", "subscribe_annual")
BEFORE_DAY_14 = {
    "trial_expiring": "trial_started",
    "trial_auto_monthly": "trial_started",
    "trial_auto_annual": "trial_started",
    "subscribe_monthly": "monthly_subscribed",
    "subscribe_annual": "annual_subscribed",
}
AFTER_DAY_14 = {
    "trial_expiring": "trial_expired",
    "trial_auto_monthly": "monthly_subscribed",
    "trial_auto_annual": "annual_subscribed",
    "subscribe_monthly": "monthly_subscribed",
    "subscribe_annual": "annual_subscribed",
}


def confirmed_user(suite: Any, mail: Mailbox, email: str, password: str | None = None) -> Client:
    """Follow the confirmation mail (choosing a password when invited without one), then sign in."""
    token = mail.new_confirmation_token(email, timeout=30)
    client = Client(suite.base_url)
    body = {"token": token} | ({"password": password} if password else {})
    assert client.post("/api/v1/auth/confirm-email", json=body).status_code == 204
    assert client.sign_in(email, PASSWORD).status_code == 200
    return client


class TenancyWorld:
    def __init__(self, suite: Any) -> None:
        self.suite = suite
        self.mail = Mailbox(suite.var_dir)
        self.operator = signed_in(suite.base_url, *OPERATOR)
        self.tag = uuid.uuid4().hex[:8]
        admin_email = f"admin-{self.tag}@tenancy-e2e.example"
        created = self.operator.post("/api/v1/operator/distributors", json={
            "name": f"Tenancy E2E {self.tag}", "email": f"dist-{self.tag}@tenancy-e2e.example", "country": "US",
            "data_center": "us-east-1", "admin_email": admin_email, "admin_password": PASSWORD})
        assert created.status_code == 201, created.text
        self.distributor = created.json()["distributor"]["id"]
        self.admin = confirmed_user(suite, self.mail, admin_email)

    def email(self, name: str) -> str:
        return f"{name}-{uuid.uuid4().hex[:6]}@{self.tag}.example"

    def partner(self, name: str) -> dict[str, Any]:
        response = self.admin.post("/api/v1/partners", json={"name": name, "email": self.email("msp"),
                                                              "country": "US", "data_center": "us-east-1"})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def account(self, name: str, partner: dict[str, Any] | None = None, subscription: str | None = None,
                caller: Client | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "email": self.email("it")}
        if partner is not None:
            body["partner_id"] = partner["id"]
        if subscription is not None:
            body["subscription"] = subscription
        response = (caller or self.admin).post("/api/v1/accounts", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def status(self, account: dict[str, Any]) -> str:
        response = self.admin.get(f"/api/v1/accounts/{account['id']}")
        assert response.status_code == 200, response.text
        return str(response.json()["account_status"])

    def clock(self, as_of: datetime) -> dict[str, Any]:
        response = self.operator.post("/api/v1/operator/jobs/trial-expiry",
                                      json={"as_of": as_of.isoformat(), "distributor_id": self.distributor})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def engine(self) -> Client:
        key = self.operator.post("/api/v1/operator/engine-keys", json={"name": f"engine {self.tag}"})
        assert key.status_code == 201, key.text
        return Client(self.suite.base_url, token=key.json()["key"])


@pytest.fixture(scope="module")
def world(suite) -> TenancyWorld:
    return TenancyWorld(suite)


@pytest.fixture
def tap(suite) -> Iterator[Any]:
    """A queue bound to tenancy.events before the action, like any outside subscriber's."""
    with Connection(suite.env["AMQP_URI"]) as connection:
        queue = Queue(f"e2e-tenancy-{uuid.uuid4().hex[:6]}", exchange=declare_events_exchange("tenancy"),
                      routing_key="#", exclusive=True, durable=False)
        bound = queue(connection.default_channel)
        bound.declare()
        received: list[dict[str, Any]] = []

        def drain() -> list[dict[str, Any]]:
            while (message := bound.get(no_ack=True)) is not None:
                received.append(message.payload)
            return received

        yield drain


def test_a_partner_email_already_in_use_is_409(world):
    partner = world.partner("Contoso")

    response = world.admin.post("/api/v1/partners", json={
        "name": "Contoso again", "email": partner["email"].upper(), "country": "US", "data_center": "us-east-1"})

    assert response.status_code == 409
    assert response.json()["error"]["details"]["fields"][0]["field"] == "email"


def test_a_direct_account_is_listed_with_the_distributors_direct_accounts(world):
    account = world.account("Blue Yonder")

    page = world.admin.get("/api/v1/direct-accounts", params={"search": "blue yonder"}).json()

    assert account["owner_id"] == world.distributor and account["partner_id"] is None
    assert [row["id"] for row in page["items"]] == [account["id"]]
    assert page["counters"]["trial"]["in_progress"] >= 1


@pytest.mark.calendar
@pytest.mark.parametrize("default", SUBSCRIPTIONS)
def test_each_default_subscription_behaves_right_at_day_14(world, default):
    settings = world.admin.put("/api/v1/settings/account", json={"default_subscription": default})
    assert settings.status_code == 200, settings.text
    account = world.account(f"Default {default}")
    assert account["subscription"] == default

    world.clock(datetime.now(UTC) + timedelta(days=13))
    before = world.status(account)
    world.clock(datetime.now(UTC) + timedelta(days=14, minutes=5))

    assert before == BEFORE_DAY_14[default]  # the clock at day 13 moved nothing
    assert world.status(account) == AFTER_DAY_14[default]


def test_subscribe_all_trials_touches_trials_only(world):
    partner = world.partner("Fabrikam")
    trials = [world.account(name, partner, "trial_expiring") for name in ("One", "Two")]
    monthly = world.account("Monthly", partner, "subscribe_monthly")

    response = world.admin.post("/api/v1/accounts/subscribe-trials",
                                json={"plan": "annual", "partner_id": partner["id"]})

    assert response.status_code == 200 and response.json() == {"changed": 2}
    assert [world.status(a) for a in trials] == ["annual_subscribed", "annual_subscribed"]
    assert world.status(monthly) == "monthly_subscribed"


def test_a_trial_is_deleted_but_a_subscribed_account_is_409(world):
    trial = world.account("Trial", subscription="trial_expiring")
    subscribed = world.account("Subscribed", subscription="subscribe_annual")

    refused = world.admin.delete(f"/api/v1/accounts/{subscribed['id']}")
    deleted = world.admin.delete(f"/api/v1/accounts/{trial['id']}")

    assert refused.status_code == 409 and error_code(refused) == "conflict"
    assert deleted.status_code == 204
    assert world.admin.get(f"/api/v1/accounts/{trial['id']}").status_code == 404
    assert world.status(subscribed) == "annual_subscribed"


def test_removal_needs_approval_then_the_account_goes_and_is_announced(world, tap):
    account = world.account("Leaving", subscription="subscribe_monthly")

    refused = world.admin.post(f"/api/v1/accounts/{account['id']}/remove", json={})
    removed = world.admin.post(f"/api/v1/accounts/{account['id']}/remove", json={"approve_data_removal": True})

    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["fields"][0]["field"] == "approve_data_removal"
    assert removed.status_code == 200 and removed.json()["account_status"] == "removed"
    announced = wait_for(lambda: [e for e in tap() if e["type"] == "account_removed"
                                  and e["payload"]["account_id"] == account["id"]],
                         message="account_removed on tenancy.events")
    assert announced[0]["payload"]["data_removal_approved"] is True


def test_runs_drive_statuses_and_sizes_and_the_same_run_counts_once(world):
    partner = world.partner("Tailspin")
    account = world.account("Margie's Travel", partner, "subscribe_annual")
    task = world.admin.post(f"/api/v1/accounts/{account['id']}/backup-tasks",
                            json={"service": "exchange", "name": "Mailboxes"}).json()
    assert world.admin.post(f"/api/v1/accounts/{account['id']}/backup-tasks/{task['id']}/activate").status_code == 200
    engine = world.engine()
    finished = datetime.now(UTC)
    runs = [{"run_id": str(uuid.uuid4()), "task_id": task["id"], "status": status,
             "started_at": (finished - timedelta(hours=hours, minutes=30)).isoformat(),
             "finished_at": (finished - timedelta(hours=hours)).isoformat(), "size_bytes": size, "seats": 12}
            for status, hours, size in (("failure", 2, 100), ("success", 1, 5000))]

    first = engine.post("/api/v1/ingest/backup-runs", json=runs)
    again = engine.post("/api/v1/ingest/backup-runs", json=runs[1:])

    assert first.status_code == 200 and first.json()["accepted"] == 2
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    view = world.admin.get(f"/api/v1/accounts/{account['id']}").json()
    assert (view["backup_status"], view["size_bytes"], view["seats"]) == ("successful", 5000, 12)
    row = world.admin.get(f"/api/v1/partners/{partner['id']}/accounts").json()["items"][0]
    assert (row["backup_status"], row["size_bytes"]) == ("successful", 5000)
    assert world.admin.post("/api/v1/ingest/backup-runs", json=runs).status_code in (401, 403)


def test_a_partner_user_cannot_see_or_change_another_partners_accounts(world):
    mine_email = world.email("mine")
    mine = world.admin.post("/api/v1/partners", json={"name": "Mine", "email": mine_email, "country": "US",
                                                       "data_center": "us-east-1"})
    assert mine.status_code == 201, mine.text
    partner_user = confirmed_user(world.suite, world.mail, mine_email, PASSWORD)
    theirs = world.partner("Theirs")
    hidden = world.account("Hidden", theirs, "trial_expiring")
    own = world.account("Own", caller=partner_user)

    assert own["partner_id"] == mine.json()["id"]
    assert partner_user.get(f"/api/v1/accounts/{hidden['id']}").status_code == 404
    assert partner_user.get(f"/api/v1/partners/{theirs['id']}/accounts").status_code == 404
    assert partner_user.delete(f"/api/v1/accounts/{hidden['id']}").status_code == 404
    assert partner_user.post(f"/api/v1/accounts/{hidden['id']}/remove",
                             json={"approve_data_removal": True}).status_code == 404
    assert partner_user.post("/api/v1/accounts/subscribe-trials",
                             json={"plan": "annual", "partner_id": theirs["id"]}).status_code == 404
    assert world.status(hidden) == "trial_started"


def test_a_backup_task_is_activated_paused_and_activated_again_over_http(world):
    account = world.account("Task Switch", subscription="subscribe_monthly")
    added = world.admin.post(f"/api/v1/accounts/{account['id']}/backup-tasks",
                             json={"service": "onedrive", "name": "Files"})
    assert added.status_code == 201, added.text
    task = added.json()
    path = f"/api/v1/accounts/{account['id']}/backup-tasks/{task['id']}"

    def state_in_account_view() -> str:
        [listed] = [t for t in world.admin.get(f"/api/v1/accounts/{account['id']}").json()["tasks"]
                    if t["id"] == task["id"]]
        return str(listed["state"])

    activated = world.admin.post(f"{path}/activate")
    assert activated.status_code == 200, activated.text
    assert (activated.json()["state"], state_in_account_view()) == ("active", "active")
    assert activated.json()["activated_at"] is not None

    paused = world.admin.post(f"{path}/pause")
    assert paused.status_code == 200, paused.text
    assert (paused.json()["state"], state_in_account_view()) == ("paused", "paused")
    assert paused.json()["paused_at"] is not None

    again = world.admin.post(f"{path}/activate")
    assert again.status_code == 200, again.text
    assert (task["state"], again.json()["state"], state_in_account_view()) == ("inactive", "active", "active")


def console_form(page: str, action: str) -> dict[str, str]:
    """The hidden fields of a console page's form, as the browser posts them."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page, re.S)
    assert form is not None, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_subscribe_all_trials_on_the_direct_accounts_page_leaves_partner_trials_alone(world):
    partner = world.partner("Trial Keeper")
    partner_trial = world.account("Partner trial", partner, "trial_expiring")
    direct_trial = world.account("Direct trial", subscription="trial_expiring")
    browser = {"X-Forwarded-For": world.admin.ip, "Cookie": f"portal_session={world.admin.token}"}

    page = requests.get(world.suite.base_url + "/direct-accounts", headers=browser, timeout=15)
    assert page.status_code == 200, page.text[:300]
    posted = requests.post(world.suite.base_url + "/accounts/subscribe-trials", headers=browser, timeout=15,
                           data={**console_form(page.text, "/accounts/subscribe-trials"), "plan": "annual"},
                           allow_redirects=False)

    assert posted.status_code == 303 and "subscribed" in posted.headers["location"], posted.headers
    assert world.status(direct_trial) == "annual_subscribed"
    assert world.status(partner_trial) == "trial_started"
    bare = world.admin.post("/api/v1/accounts/subscribe-trials", json={"plan": "monthly"})
    assert bare.status_code == 422 and bare.json()["error"]["details"]["fields"][0]["field"] == "scope"
    assert world.status(partner_trial) == "trial_started"


def test_the_dashboards_direct_accounts_row_follows_the_search_and_task_status(world):
    partner = world.partner(f"Searchable {world.tag}")
    world.account("Direct row member")

    every = world.admin.get("/api/v1/dashboard", params={"page_size": 200}).json()
    status = every["direct_accounts"]["task_status"]
    other = next(s for s in ("successful", "failures", "no_tasks_yet", "no_accounts_yet") if s != status)

    def direct_row(**params: str) -> Any:
        response = world.admin.get("/api/v1/dashboard", params=params)
        assert response.status_code == 200, response.text
        return response.json()["direct_accounts"]

    searched = world.admin.get("/api/v1/dashboard", params={"search": partner["name"]}).json()
    assert [row["id"] for row in searched["items"]] == [partner["id"]] and searched["direct_accounts"] is None
    assert direct_row(search="%") is None
    assert direct_row(search="direct acc")["id"] == every["direct_accounts"]["id"]
    assert direct_row(task_status=status) is not None
    assert direct_row(task_status=other) is None
    assert direct_row(search="direct", task_status=other) is None


def test_a_user_search_of_like_wildcards_matches_no_one_else(world):
    everyone = world.admin.get("/api/v1/users").json()
    assert everyone["total"] >= 1

    for text in ("%", "_", "%%"):
        response = world.admin.get("/api/v1/users", params={"search": text})
        assert response.status_code == 200, response.text
        assert (response.json()["total"], response.json()["items"]) == (0, []), text
