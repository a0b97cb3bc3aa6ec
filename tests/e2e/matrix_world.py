"""A world for the authorization matrix, built through the public HTTP API of the running suite.

Two distributors (A and B), each with two partners of two customer accounts, a direct
account, a backup task per account, an IP entry, a notification recipient and a card; B also
has an issued invoice. A has bills too: annual invoices of A/P1/1 and A/P2/1, and a
consolidated bill of last month for a monthly account under A/P2 (billing hears of that one
from tenancy's events, simulated: tenancy cannot make an account subscribed last month).
The actors are users of every role in A's tree:

| actor | tenant | role |
|---|---|---|
| ``distributor_admin`` | distributor A | administrator |
| ``distributor_custom`` | distributor A | custom: view dashboard, add accounts, view billing, manage notifications |
| ``distributor_limited`` | distributor A | custom with most permissions, but only account A/P1/1 accessible |
| ``partner_admin`` | partner A/P1 | administrator |
| ``partner_custom`` | partner A/P1 | custom: view dashboard, add accounts |
| ``account_admin`` | account A/P1/1 | administrator |
| ``account_custom`` | account A/P1/1 | custom: view dashboard, view account settings |
| ``anonymous`` | — | no token |

Every object of B's tree is foreign to every actor; inside A, what lies outside an actor's
part of the tree is foreign to it too (``Target``s per actor).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy

from contracts.context import CALLER_KEY, Caller
from contracts.tenancy import BackupService, Plan
from tests.e2e.identity_client import OPERATOR, Client, Mailbox, signed_in
from tests.support import billing_simulation as simulate
from tests.support.fixtures import wait_for

PASSWORD = "every matrix door stays shut"
DISTRIBUTOR_CUSTOM = ["view_dashboard", "add_accounts", "view_billing", "manage_notifications"]
DISTRIBUTOR_LIMITED = ["view_dashboard", "add_accounts", "subscribe_accounts", "view_billing", "view_settings",
                       "view_security_audit", "manage_notifications"]
PARTNER_CUSTOM = ["view_dashboard", "add_accounts"]
CONSOLIDATED = "consolidated"
ACCOUNT_CUSTOM = ["view_dashboard", "account_view_settings"]


@dataclass(frozen=True)
class Target:
    """Objects that are foreign to an actor; None where this target has none of that kind."""

    name: str
    distributor: str | None = None
    partner: str | None = None
    account: str | None = None
    trial: str | None = None  # a trial account (deletable)
    task: str | None = None
    user: str | None = None
    ip_entry: str | None = None
    recipient: str | None = None
    card: str | None = None
    invoice: str | None = None
    delivery: str | None = None

    def has(self, *kinds: str) -> bool:
        return all(getattr(self, kind) is not None for kind in kinds)

    def ids(self) -> set[str]:
        return {value for f in fields(self) if f.name != "name" and (value := getattr(self, f.name)) is not None}


@dataclass
class Tree:
    """One distributor's objects, as its administrator made them."""

    tag: str
    distributor: str
    admin: Client
    admin_user: str
    partners: list[str] = field(default_factory=list)
    partner_emails: list[str] = field(default_factory=list)
    accounts: dict[str, list[str]] = field(default_factory=dict)  # partner id (or "direct") -> account ids
    trials: dict[str, str] = field(default_factory=dict)  # partner id -> a trial account id
    tasks: dict[str, str] = field(default_factory=dict)  # account id -> task id
    ip_entry: str = ""
    recipient: str = ""
    card: str = ""
    invoice: str | None = None
    bills: dict[str, str] = field(default_factory=dict)  # account id (or CONSOLIDATED) -> invoice reference
    monthly_account: str | None = None  # known to billing only (simulated events)

    @property
    def all_accounts(self) -> list[str]:
        return [account for accounts in self.accounts.values() for account in accounts]

    def tenancy_ids(self) -> set[str]:
        return {self.distributor, *self.partners, *self.all_accounts, *self.trials.values(), *self.tasks.values()}


class MatrixWorld:
    def __init__(self, suite: Any) -> None:
        self.suite = suite
        self.mail = Mailbox(suite.var_dir)
        self.operator = signed_in(suite.base_url, *OPERATOR)
        self.engine = self._engine_key()
        with ThreadPoolExecutor(2) as pool:
            a, b = pool.map(self._tree, ("a", "b"))
        self.a: Tree = a
        self.b: Tree = b
        self._invoice(self.b)
        self._bills_of_a()
        self.actors = self._actors()

    # ---- building --------------------------------------------------------------------------

    def _engine_key(self) -> Client:
        key = self.operator.post("/api/v1/operator/engine-keys", json={"name": "matrix engine"})
        assert key.status_code == 201, key.text
        return Client(self.suite.base_url, token=key.json()["key"])

    def _confirm(self, email: str, password: str | None = None) -> Client:
        token = self.mail.new_confirmation_token(email, timeout=30)
        client = Client(self.suite.base_url)
        body = {"token": token} | ({"password": password} if password else {})
        response = client.post("/api/v1/auth/confirm-email", json=body)
        assert response.status_code == 204, response.text
        assert client.sign_in(email, PASSWORD).status_code == 200
        return client

    def _ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, (response.request.method, response.request.url, response.text)
        return response.json() if response.content else None

    def _tree(self, letter: str) -> Tree:
        tag = f"{letter}{uuid.uuid4().hex[:6]}"
        admin_email = f"admin@{tag}.matrix.example"
        created = self._ok(self.operator.post("/api/v1/operator/distributors", json={
            "name": f"Matrix {tag}", "email": f"billing@{tag}.matrix.example", "country": "US",
            "data_center": "us-east-1", "admin_email": admin_email, "admin_password": PASSWORD}), 201)
        admin = self._confirm(admin_email)
        tree = Tree(tag, created["distributor"]["id"], admin, created["administrator"]["id"])
        for index in (1, 2):
            email = f"msp{index}@{tag}.matrix.example"
            partner = self._ok(admin.post("/api/v1/partners", json={
                "name": f"Partner {tag}-{index}", "email": email, "country": "US", "data_center": "us-east-1"}), 201)
            tree.partners.append(partner["id"])
            tree.partner_emails.append(email)
            tree.accounts[partner["id"]] = [self._account(tree, f"{index}-{n}", partner["id"]) for n in (1, 2)]
            tree.trials[partner["id"]] = self._account(tree, f"{index}-trial", partner["id"], "trial_expiring",
                                                       task=False)
        tree.accounts["direct"] = [self._account(tree, "direct", None)]
        tree.ip_entry = self._ok(admin.post("/api/v1/security/ip-restrictions/entries", json={
            "description": "office", "addresses": "192.0.2.10"}), 201)["entries"][0]["id"]
        tree.recipient = self._ok(admin.post("/api/v1/notifications/recipients", json={
            "email": f"ops@{tag}.matrix.example", "types": ["summary_report"]}), 201)["id"]
        tree.card = self._ok(admin.post("/api/v1/billing/cards", json={"token": "tok_visa"}), 201)["id"]
        return tree

    def _account(self, tree: Tree, name: str, partner: str | None, subscription: str = "subscribe_annual",
                 task: bool = True) -> str:
        body: dict[str, Any] = {"name": f"Account {tree.tag}-{name}", "email": f"it-{name}@{tree.tag}.matrix.example",
                                "subscription": subscription}
        if partner:
            body["partner_id"] = partner
        account = self._ok(tree.admin.post("/api/v1/accounts", json=body), 201)["id"]
        if task:
            made = self._ok(tree.admin.post(f"/api/v1/accounts/{account}/backup-tasks",
                                            json={"service": "exchange", "name": "Mailboxes"}), 201)
            self._ok(tree.admin.post(f"/api/v1/accounts/{account}/backup-tasks/{made['id']}/activate"))
            tree.tasks[account] = made["id"]
        return account

    def _invoice(self, tree: Tree) -> None:
        """One issued annual invoice of B's first account."""
        account = tree.accounts[tree.partners[0]][0]
        tree.invoice = self._bill(tree, [account], consolidated=False)[account]

    def _bills_of_a(self) -> None:
        """Annual invoices of A/P1/1 and A/P2/1, and last month's consolidated bill of a monthly
        account under A/P2."""
        a = self.a
        p2 = uuid.UUID(a.partners[1])
        account, task = uuid.uuid4(), uuid.uuid4()
        today = datetime.now(UTC)
        last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1, hour=3, minute=0)
        name = f"Account {a.tag}-monthly"
        simulate.publish(self.suite.env["AMQP_URI"], [
            simulate.tenant_created(account, p2, "account", name),
            simulate.account_created(account, p2, "partner", name, at=last_month),
            simulate.account_subscribed(account, p2, Plan.MONTHLY, last_month),
            simulate.task_added(task, account, BackupService.EXCHANGE),
            simulate.run_recorded(task, account, p2, last_month + timedelta(days=1), 3)])
        a.monthly_account = str(account)
        a.bills = self._bill(a, [a.accounts[a.partners[0]][0], a.accounts[a.partners[1]][0]], consolidated=True)

    def _bill(self, tree: Tree, accounts: list[str], consolidated: bool) -> dict[str, str]:
        """Runs with seats for ``accounts``, then the operator's billing run as of today until
        each has its annual invoice (and, when asked, the consolidated bill of last month is
        issued): the references by account id (CONSOLIDATED for that bill)."""
        self._ok(tree.admin.put("/api/v1/billing/method", json={"method": "invoice"}))
        now = datetime.now(UTC)
        runs = [{"run_id": str(uuid.uuid4()), "task_id": tree.tasks[account], "status": "success",
                 "started_at": (now - timedelta(minutes=30)).isoformat(), "finished_at": now.isoformat(),
                 "size_bytes": 1000, "seats": 5} for account in accounts]
        self._ok(self.engine.post("/api/v1/ingest/backup-runs", json=runs))
        wanted = {*accounts, *([CONSOLIDATED] if consolidated else [])}

        def issued() -> dict[str, str] | None:
            self._ok(self.operator.post("/api/v1/operator/billing-runs", json={
                "as_of": datetime.now(UTC).date().isoformat(), "distributor_id": tree.distributor}))
            items = self._ok(tree.admin.get("/api/v1/billing/history", params={"page_size": 200}))["items"]
            bills = {CONSOLIDATED if row["consolidated"] else row["account_id"]: row["reference"] for row in items}
            return bills if wanted <= set(bills) else None

        return dict(wait_for(issued, timeout=60, interval=1, message=f"the bills of distributor {tree.tag}"))

    def _user(self, admin: Client, email: str, permissions: list[str], accessible: Any = "all") -> Client:
        self._ok(admin.post("/api/v1/users", json={"email": email, "password": PASSWORD, "role": "custom",
                                                   "permissions": permissions, "accessible_accounts": accessible}), 201)
        return self._confirm(email)

    def _account_user(self, account: str, email: str, role: str, permissions: list[str]) -> Client:
        # No HTTP route makes users of a customer account: identity's RPC, as the system (like test_billing).
        with ClusterRpcProxy({"AMQP_URI": self.suite.env["AMQP_URI"]},
                             context_data={CALLER_KEY: Caller(is_system=True).to_wire()}, timeout=30) as proxy:
            proxy.identity.create_user({"email": email, "role": role, "permissions": permissions,
                                        "tenant_id": account, "tenant_kind": "account"})
        return self._confirm(email, PASSWORD)

    def _actors(self) -> dict[str, Client]:
        a = self.a
        p1 = a.partners[0]
        account = a.accounts[p1][0]
        partner_admin = self._confirm(a.partner_emails[0], PASSWORD)
        jobs = {
            "distributor_custom": lambda: self._user(a.admin, f"custom@{a.tag}.matrix.example", DISTRIBUTOR_CUSTOM),
            "distributor_limited": lambda: self._user(a.admin, f"limited@{a.tag}.matrix.example",
                                                      DISTRIBUTOR_LIMITED, [account]),
            "partner_custom": lambda: self._user(partner_admin, f"custom@p1.{a.tag}.matrix.example", PARTNER_CUSTOM),
            "account_admin": lambda: self._account_user(account, f"admin@acct.{a.tag}.matrix.example",
                                                        "administrator", []),
            "account_custom": lambda: self._account_user(account, f"custom@acct.{a.tag}.matrix.example", "custom",
                                                         ACCOUNT_CUSTOM),
        }
        with ThreadPoolExecutor(3) as pool:
            futures = {name: pool.submit(job) for name, job in jobs.items()}
            made = {name: future.result() for name, future in futures.items()}
        return {"anonymous": Client(self.suite.base_url), "distributor_admin": a.admin,
                "distributor_custom": made["distributor_custom"], "distributor_limited": made["distributor_limited"],
                "partner_admin": partner_admin, "partner_custom": made["partner_custom"],
                "account_admin": made["account_admin"], "account_custom": made["account_custom"]}

    # ---- what is foreign to whom -------------------------------------------------------------

    def b_target(self) -> Target:
        b = self.b
        p1 = b.partners[0]
        account = b.accounts[p1][0]
        return Target("distributor B", distributor=b.distributor, partner=p1, account=account,
                      trial=b.trials[p1], task=b.tasks[account], user=b.admin_user, ip_entry=b.ip_entry,
                      recipient=b.recipient, card=b.card, invoice=b.invoice, delivery=str(uuid.uuid4()))

    def targets(self, actor: str) -> list[Target]:
        """B's objects for everyone; inside A, those outside the actor's part of the tree."""
        a = self.a
        p1, p2 = a.partners
        outside_p1 = Target("sibling partner A/P2", partner=p2, account=a.accounts[p2][0], trial=a.trials[p2],
                            task=a.tasks[a.accounts[p2][0]])
        sibling_account = a.accounts[p1][1]
        inside: dict[str, list[Target]] = {
            "distributor_limited": [Target("inaccessible account A/P2/1", account=a.accounts[p2][0],
                                           trial=a.trials[p2], task=a.tasks[a.accounts[p2][0]],
                                           invoice=a.bills[a.accounts[p2][0]]),
                                    # It covers accounts outside the user's list: not shown to it at all.
                                    Target("consolidated bill of distributor A", invoice=a.bills[CONSOLIDATED])],
            "partner_admin": [outside_p1, Target("parent distributor A", distributor=a.distributor,
                                                 user=a.admin_user, ip_entry=a.ip_entry, recipient=a.recipient,
                                                 card=a.card, account=a.accounts["direct"][0],
                                                 task=a.tasks[a.accounts["direct"][0]])],
            "account_admin": [replace(outside_p1, name="sibling account A/P1/2", partner=None,
                                      account=sibling_account, trial=a.trials[p1], task=a.tasks[sibling_account]),
                              Target("parent partner A/P1 and distributor A", distributor=a.distributor,
                                     partner=p1, user=a.admin_user, ip_entry=a.ip_entry, recipient=a.recipient,
                                     card=a.card)],
        }
        inside["partner_custom"] = inside["partner_admin"]
        inside["account_custom"] = inside["account_admin"]
        return [self.b_target(), *inside.get(actor, [])]

    def hidden_ids(self, actor: str) -> set[str]:
        """Tenancy ids that must never appear in anything this actor is shown."""
        hidden = set(self.b.tenancy_ids())
        a = self.a
        p1, p2 = a.partners
        if actor in ("partner_admin", "partner_custom"):
            hidden |= {p2, *a.accounts[p2], a.trials[p2], *a.accounts["direct"]}
        elif actor in ("account_admin", "account_custom"):
            hidden |= {p2, *a.accounts[p2], a.accounts[p1][1], a.trials[p1], *a.accounts["direct"]}
        elif actor == "distributor_limited":
            hidden |= {*a.accounts[p2], a.accounts[p1][1], a.trials[p1], a.trials[p2], *a.accounts["direct"],
                       str(a.monthly_account), a.bills[a.accounts[p2][0]], a.bills[CONSOLIDATED]}
        return hidden

    def caller(self, actor: str) -> Caller:
        """The caller context the gateway would send for ``actor`` (from its own /me)."""
        me = self.actors[actor].get("/api/v1/me").json()
        accessible = None if me["accessible_accounts"] == "all" else me["accessible_accounts"]
        return Caller(user_id=me["id"], tenant_id=me["tenant_id"], email=me["email"], role=me["role"],
                      tenant_kind=me["tenant_kind"], permissions=me["permissions"],
                      accessible_accounts=accessible, ip="192.0.2.77")

    # ---- state, read by each tree's administrator ------------------------------------------------

    def state(self, tree: Tree) -> dict[str, Any]:
        """Everything the matrix could change, as the tree's administrator reads it."""
        paths = ["/api/v1/settings/account", "/api/v1/security/password-policy", "/api/v1/security/ip-restrictions",
                 "/api/v1/users?page_size=200", "/api/v1/notifications/recipients?page_size=200",
                 "/api/v1/notifications/settings", "/api/v1/billing/method", "/api/v1/billing/details",
                 "/api/v1/billing/cards", "/api/v1/billing/history?page_size=200",
                 "/api/v1/billing/status?page_size=200", "/api/v1/integrations/backup-radar",
                 "/api/v1/direct-accounts?page_size=200"]
        paths += [f"/api/v1/partners/{p}" for p in tree.partners]
        paths += [f"/api/v1/partners/{p}/accounts?page_size=200" for p in tree.partners]
        paths += [f"/api/v1/accounts/{a}" for a in tree.all_accounts + list(tree.trials.values())]

        def read(path: str) -> tuple[str, Any]:
            response = tree.admin.get(path)
            return path, (response.status_code, response.json())

        with ThreadPoolExecutor(4) as pool:
            return dict(pool.map(read, paths))
