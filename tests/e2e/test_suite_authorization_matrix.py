"""The authorization matrix: every HTTP route by every role, against objects foreign to the role.

The routes come from the gateway's own ``/openapi.json``: each (method, path) needs an entry
in ``ROUTES`` below, so a new route without one fails ``test_every_route_has_an_entry``.

An entry is a list of probes:
- ``foreign(...)``: the route named with a foreign object (in its path, query or body) must
  answer 403 or 404 to every signed-in role (401 to anonymous) and change nothing;
- ``own(reason)``: the route is not object-scoped for the caller (its own profile, its own
  tenant's lists): it is called by every role, must not fail (no 5xx) and must show none of
  the foreign tenants' objects;
- ``untried(reason)``: the route only changes the caller's own state (its session,
  password, 2FA, its tenant's settings) and names nothing foreign: listed, not called.

"Change nothing" is checked by reading both trees (every partner, account, user, IP entry,
recipient, card, bill, setting) as their administrators before and after, and by the
audit trail of B holding no entry performed by A's users. The same foreign objects are then
asked for over RPC, straight to the services, with the caller context of A's users.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

import servicekit.rpc  # noqa: F401  (registers the boundary errors: refusals arrive typed, not as RemoteError)
from contracts.context import CALLER_KEY, CORRELATION_ID_KEY
from contracts.errors import BOUNDARY_ERRORS, NotAuthenticated, NotFound, PermissionDenied
from tests.e2e.identity_client import Client
from tests.e2e.matrix_world import MatrixWorld, Target

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

Fill = Callable[[Target], dict[str, Any]]
Body = Callable[[Target], Any]
DENIED = frozenset({403, 404})
ANONYMOUS = frozenset({401})
FIGURES: dict[str, Any] = {}
PARALLEL = 4
RETRIES_ON_503 = 3


@dataclass(frozen=True)
class Probe:
    kind: str  # "foreign", "own", "untried"
    needs: tuple[str, ...] = ()
    path: Fill | None = None
    query: Fill | None = None
    body: Body | None = None
    reason: str = ""
    expect: frozenset[int] = DENIED
    anonymous: frozenset[int] = ANONYMOUS
    # A foreign id used as a filter may also answer 200, when what it answers is empty.
    empty: Callable[[Any], bool] | None = None


def foreign(*needs: str, path: Fill | None = None, query: Fill | None = None, body: Body | None = None,
            expect: frozenset[int] = DENIED, anonymous: frozenset[int] = ANONYMOUS,
            empty: Callable[[Any], bool] | None = None) -> Probe:
    return Probe("foreign", needs, path, query, body, expect=expect | ({200} if empty else set()),
                 anonymous=anonymous, empty=empty)


def no_rows(body: Any) -> bool:
    return body.get("total") == 0 and body.get("items") == []


def own(reason: str, query: Fill | None = None, public: bool = False, also: frozenset[int] = frozenset()) -> Probe:
    return Probe("own", query=query, reason=reason, anonymous=frozenset() if public else ANONYMOUS, expect=also)


def untried(reason: str) -> Probe:
    return Probe("untried", reason=reason)


def account(t: Target) -> dict[str, Any]:
    return {"account_id": t.account}


def task(t: Target) -> dict[str, Any]:
    return {"account_id": t.account, "task_id": t.task}


def reference(t: Target) -> dict[str, Any]:
    return {"reference": t.invoice}


OPERATOR_ONLY = frozenset({403})
SELF = "changes only the caller's own session or credentials; names no object"
OWN_TENANT = "creates or changes only in the caller's own tenant; the body has no field naming another tenant"
NOW = datetime.now(UTC)
RUN = {"run_id": str(uuid.uuid4()), "status": "success", "started_at": (NOW - timedelta(hours=1)).isoformat(),
       "finished_at": NOW.isoformat(), "size_bytes": 10, "seats": 1}

ROUTES: dict[tuple[str, str], list[Probe]] = {
    # 503 too: under the matrix's load a service may miss the 1.5 s health deadline.
    ("GET", "/healthz"): [own("liveness, no tenant data", public=True, also=frozenset({503}))],
    ("POST", "/api/v1/auth/sign-in"): [untried("public; sign-in throttling is tests/e2e/test_suite_abuse.py")],
    ("GET", "/api/v1/auth/sso/providers"): [untried("public; which providers are configured, no tenant data")],
    ("POST", "/api/v1/auth/sso/{provider}"): [untried("public; starts a sign-in, names no object")],
    ("POST", "/api/v1/auth/sso/{provider}/callback"): [
        untried("public; the single-use state, the browser key and the provider's signed ID token are the "
                "credential (tests/e2e/test_console_sso.py)")],
    ("POST", "/api/v1/auth/sso/second-factor"): [
        untried("public; the single-use ticket and the code are the credential (tests/e2e/test_console_sso.py)")],
    ("POST", "/api/v1/auth/sign-out"): [untried(SELF)],
    ("POST", "/api/v1/auth/confirm-email"): [untried("public; the token is the credential")],
    ("POST", "/api/v1/auth/confirm-email/check"): [untried("public; the token is the credential, it reads no tenant")],
    ("POST", "/api/v1/auth/confirm-email/resend"): [untried("public; answers the same for anyone, names no object")],
    ("POST", "/api/v1/auth/password-reset"): [untried("public; answers the same for anyone, names no object")],
    ("POST", "/api/v1/auth/password-reset/check"): [untried("public; the token is the credential, it reads no tenant")],
    ("POST", "/api/v1/auth/password-reset/confirm"): [untried("public; the token is the credential")],
    ("GET", "/api/v1/me"): [own("the caller itself")],
    ("POST", "/api/v1/me/password"): [untried(SELF)],
    ("POST", "/api/v1/me/two-factor/setup"): [untried(SELF)],
    ("POST", "/api/v1/me/two-factor/enable"): [untried(SELF)],
    ("DELETE", "/api/v1/me/two-factor"): [untried(SELF)],
    ("GET", "/api/v1/ping"): [own("a no-op")],
    ("GET", "/api/v1/security/password-policy"): [own("the caller's own tenant's policy")],
    ("PUT", "/api/v1/security/password-policy"): [untried(OWN_TENANT)],
    ("GET", "/api/v1/security/ip-restrictions"): [own("the caller's own tenant's entries")],
    ("PUT", "/api/v1/security/ip-restrictions"): [untried(OWN_TENANT)],
    ("POST", "/api/v1/security/ip-restrictions/entries"): [untried(OWN_TENANT)],
    ("PATCH", "/api/v1/security/ip-restrictions/entries/{entry_id}"): [
        foreign("ip_entry", path=lambda t: {"entry_id": t.ip_entry}, body=lambda t: {"description": "taken over"})],
    ("DELETE", "/api/v1/security/ip-restrictions/entries/{entry_id}"): [
        foreign("ip_entry", path=lambda t: {"entry_id": t.ip_entry})],
    ("GET", "/api/v1/users"): [own("the caller's own tenant's users")],
    ("POST", "/api/v1/users"): [
        foreign(need, body=lambda t, need=need: {"email": f"in-{uuid.uuid4().hex[:8]}@x.example",
                                                 "tenant_id": getattr(t, need)})
        for need in ("distributor", "partner", "account")],
    ("GET", "/api/v1/users/{user_id}"): [foreign("user", path=lambda t: {"user_id": t.user})],
    ("PATCH", "/api/v1/users/{user_id}"): [
        foreign("user", path=lambda t: {"user_id": t.user}, body=lambda t: {"display_name": "taken over"})],
    ("DELETE", "/api/v1/users/{user_id}"): [foreign("user", path=lambda t: {"user_id": t.user})],
    ("POST", "/api/v1/users/{user_id}/resend-confirmation"): [foreign("user", path=lambda t: {"user_id": t.user})],
    ("POST", "/api/v1/operator/engine-keys"): [foreign(body=lambda t: {"name": "stolen"}, expect=OPERATOR_ONLY)],
    ("POST", "/api/v1/partners"): [
        foreign("distributor", body=lambda t: {"name": "Intruder", "email": f"in-{uuid.uuid4().hex[:8]}@x.example",
                                               "country": "US", "data_center": "us-east-1",
                                               "distributor_id": t.distributor})],
    ("GET", "/api/v1/partners/{partner_id}"): [foreign("partner", path=lambda t: {"partner_id": t.partner})],
    ("PATCH", "/api/v1/partners/{partner_id}"): [
        foreign("partner", path=lambda t: {"partner_id": t.partner}, body=lambda t: {"name": "Taken over"})],
    ("GET", "/api/v1/partners/{partner_id}/accounts"): [
        foreign("partner", path=lambda t: {"partner_id": t.partner})],
    ("GET", "/api/v1/direct-accounts"): [
        own("the caller's own direct accounts"),
        foreign("distributor", query=lambda t: {"distributor_id": t.distributor})],
    ("POST", "/api/v1/accounts"): [
        foreign("partner", body=lambda t: {"name": "Intruder", "email": "in@x.example", "partner_id": t.partner}),
        foreign("distributor", body=lambda t: {"name": "Intruder", "email": "in@x.example",
                                               "distributor_id": t.distributor})],
    ("POST", "/api/v1/accounts/subscribe-trials"): [
        foreign("partner", body=lambda t: {"plan": "annual", "partner_id": t.partner}),
        # account_ids names the caller's own accounts: a foreign one does not exist for it (404).
        foreign("trial", body=lambda t: {"plan": "annual", "account_ids": [t.trial]})],
    ("GET", "/api/v1/accounts"): [own("accounts of the caller's own subtree only (a search names no tenant)")],
    ("GET", "/api/v1/accounts/{account_id}"): [foreign("account", path=account)],
    ("DELETE", "/api/v1/accounts/{account_id}"): [foreign("trial", path=lambda t: {"account_id": t.trial})],
    ("POST", "/api/v1/accounts/{account_id}/remove"): [
        foreign("account", path=account, body=lambda t: {"approve_data_removal": True})],
    ("POST", "/api/v1/accounts/{account_id}/backup-tasks"): [
        foreign("account", path=account, body=lambda t: {"service": "teams", "name": "Intruder"})],
    ("POST", "/api/v1/accounts/{account_id}/backup-tasks/{task_id}/activate"): [foreign("task", path=task)],
    ("POST", "/api/v1/accounts/{account_id}/backup-tasks/{task_id}/pause"): [foreign("task", path=task)],
    ("GET", "/api/v1/settings/account"): [
        own("the caller's own tenant's profile"),
        foreign("distributor", query=lambda t: {"tenant_id": t.distributor}),
        foreign("partner", query=lambda t: {"tenant_id": t.partner}),
        foreign("account", query=lambda t: {"tenant_id": t.account})],
    ("PUT", "/api/v1/settings/account"): [
        foreign("distributor", query=lambda t: {"tenant_id": t.distributor}, body=lambda t: {"name": "Taken over"}),
        foreign("partner", query=lambda t: {"tenant_id": t.partner}, body=lambda t: {"name": "Taken over"})],
    ("POST", "/api/v1/ingest/backup-runs"): [
        foreign("task", body=lambda t: [{**RUN, "task_id": t.task}], expect=frozenset({401, 403}))],
    ("POST", "/api/v1/operator/distributors"): [
        foreign(body=lambda t: {"name": "Rogue", "email": "rogue@x.example", "country": "US",
                                "data_center": "us-east-1", "admin_email": "rogue-admin@x.example",
                                "admin_password": "a rogue distributor password"}, expect=OPERATOR_ONLY)],
    ("POST", "/api/v1/operator/jobs/trial-expiry"): [
        foreign("distributor", body=lambda t: {"as_of": (NOW + timedelta(days=30)).isoformat(),
                                               "distributor_id": t.distributor}, expect=OPERATOR_ONLY)],
    ("GET", "/api/v1/audit"): [
        own("the caller's own subtree's trail; filtered by a foreign account it must show nothing of it",
            query=lambda t: {"account": t.account} if t.account else {})],
    ("GET", "/api/v1/audit/export.csv"): [
        own("the caller's own subtree's trail, as CSV", query=lambda t: {"account": t.account} if t.account else {})],
    ("GET", "/api/v1/billing/method"): [own("the caller's own distributor's method")],
    ("PUT", "/api/v1/billing/method"): [untried(OWN_TENANT + " (and it may be chosen once)")],
    ("GET", "/api/v1/billing/accounts/{account_id}"): [foreign("account", path=account)],
    ("GET", "/api/v1/billing/status"): [
        own("the caller's own accounts"),
        # A partner the caller cannot see does not exist for it (tenancy says so beside billing).
        foreign("partner", query=lambda t: {"partner_id": t.partner})],
    ("GET", "/api/v1/billing/history"): [own("the caller's own bills")],
    ("GET", "/api/v1/billing/invoices/{reference}.pdf"): [foreign("invoice", path=reference)],
    ("GET", "/api/v1/billing/invoices/{reference}.csv"): [foreign("invoice", path=reference)],
    ("POST", "/api/v1/billing/invoices/{reference}/pay"): [
        foreign("invoice", path=reference, body=lambda t: {}),
        foreign("invoice", "card", path=reference, body=lambda t: {"card_id": t.card})],
    ("GET", "/api/v1/billing/details"): [own("the caller's own billing details")],
    ("PUT", "/api/v1/billing/details"): [untried(OWN_TENANT + " (a distributor_id in the body is dropped)")],
    ("GET", "/api/v1/billing/cards"): [own("the caller's own cards")],
    ("POST", "/api/v1/billing/cards"): [untried(OWN_TENANT)],
    ("POST", "/api/v1/billing/cards/{card_id}/activate"): [foreign("card", path=lambda t: {"card_id": t.card})],
    ("DELETE", "/api/v1/billing/cards/{card_id}"): [foreign("card", path=lambda t: {"card_id": t.card})],
    ("POST", "/api/v1/operator/billing-runs"): [
        foreign("distributor", body=lambda t: {"as_of": NOW.date().isoformat(), "distributor_id": t.distributor},
                expect=OPERATOR_ONLY)],
    ("POST", "/api/v1/operator/jobs/billing-facts"): [
        foreign("distributor", body=lambda t: {"distributor_id": t.distributor}, expect=OPERATOR_ONLY)],
    ("POST", "/api/v1/operator/billing/payments"): [
        foreign("invoice", body=lambda t: {"reference": t.invoice, "method": "bank_transfer", "amount": "1.00",
                                           "currency": "USD"}, expect=OPERATOR_ONLY)],
    ("PUT", "/api/v1/operator/distributors/{distributor_id}/billing/method"): [
        foreign("distributor", path=lambda t: {"distributor_id": t.distributor}, body=lambda t: {"method": "invoice"},
                expect=OPERATOR_ONLY)],
    ("GET", "/api/v1/notifications/recipients"): [own("the caller's own tenant's recipients")],
    ("POST", "/api/v1/notifications/recipients"): [untried(OWN_TENANT)],
    ("PATCH", "/api/v1/notifications/recipients/{recipient_id}"): [
        foreign("recipient", path=lambda t: {"recipient_id": t.recipient}, body=lambda t: {"display_name": "Taken"})],
    ("DELETE", "/api/v1/notifications/recipients/{recipient_id}"): [
        foreign("recipient", path=lambda t: {"recipient_id": t.recipient})],
    ("GET", "/api/v1/notifications/settings"): [own("the caller's own tenant's settings")],
    ("PUT", "/api/v1/notifications/settings"): [untried(OWN_TENANT)],
    ("GET", "/api/v1/notifications/reports/{report_id}.csv"): [
        # No sign-in: the link's signature is the credential, so anonymous gets the same 403.
        foreign("account", path=lambda t: {"report_id": str(uuid.uuid4())},
                query=lambda t: {"expires": int(time.time()) + 3600, "signature": "forged"},
                expect=frozenset({403, 404}), anonymous=frozenset({403, 404}))],
    ("GET", "/api/v1/integrations/backup-radar"): [
        own("the caller's own distributor's integration (others: 403)"),
        foreign("distributor", query=lambda t: {"distributor_id": t.distributor})],
    ("PUT", "/api/v1/integrations/backup-radar"): [
        foreign("distributor", body=lambda t: {"enabled": True, "distributor_id": t.distributor}),
        foreign("distributor", body=lambda t: {"url": "https://radar.example.com/hook", "distributor_id": t.distributor})],
    ("GET", "/api/v1/integrations/backup-radar/deliveries"): [
        own("the caller's own distributor's deliveries"),
        foreign("distributor", query=lambda t: {"distributor_id": t.distributor})],
    ("POST", "/api/v1/integrations/backup-radar/deliveries/{delivery_id}/replay"): [
        foreign("delivery", path=lambda t: {"delivery_id": t.delivery}),
        foreign("delivery", "distributor", path=lambda t: {"delivery_id": t.delivery},
                query=lambda t: {"distributor_id": t.distributor})],
    ("POST", "/api/v1/integrations/backup-radar/test"): [
        foreign("distributor", query=lambda t: {"distributor_id": t.distributor})],
    ("GET", "/api/v1/dashboard"): [own("the caller's own partners and direct accounts")],
    ("GET", "/api/v1/learning-hub/courses"): [own("the catalogue is the portal's, the progress the caller's own")],
    ("GET", "/api/v1/site-content"): [own("the operator's published content: the same for every signed-in user")],
    ("PUT", "/api/v1/operator/site-content"): [foreign(body=lambda t: {"support_phones": []}, expect=OPERATOR_ONLY)],
    ("PUT", "/api/v1/learning-hub/courses/{course_id}/progress"): [
        untried("records the caller's own progress; a course belongs to no tenant")],
}


@dataclass
class Outcome:
    actor: str
    method: str
    path: str
    target: str
    status: int
    ok: bool
    why: str = ""


@pytest.fixture(scope="module")
def world(suite) -> MatrixWorld:
    return MatrixWorld(suite)


def openapi_routes(suite) -> set[tuple[str, str]]:
    spec = suite.get("/openapi.json").json()
    return {(method.upper(), path) for path, operations in spec["paths"].items() for method in operations}


def test_every_route_has_an_entry(suite):
    routes = openapi_routes(suite)

    missing = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)

    assert not missing, f"routes without an entry in the authorization matrix: {missing}"
    assert not stale, f"entries for routes that no longer exist: {stale}"
    assert all(probes for probes in ROUTES.values())
    assert all(p.reason for probes in ROUTES.values() for p in probes if p.kind != "foreign")


def send(client: Client, method: str, template: str, probe: Probe, target: Target | None) -> requests.Response:
    path = template.format(**probe.path(target)) if probe.path and target else template
    params = probe.query(target) if probe.query and target else None
    body = probe.body(target) if probe.body and target else None
    kwargs: dict[str, Any] = {"params": params}
    if body is not None:
        kwargs["json"] = body
    return client.request(method, path, **kwargs)


def leaked(response: requests.Response, hidden: set[str]) -> set[str]:
    text = response.text
    return {value for value in hidden if value in text}


def check(world: MatrixWorld, actor: str, method: str, template: str, probe: Probe,
          target: Target | None) -> Outcome:
    client = world.actors[actor]
    response = send(client, method, template, probe, target)
    for _ in range(RETRIES_ON_503):  # "not answered in time" says nothing about authorization: ask again
        if response.status_code != 503 or template == "/healthz":
            break
        time.sleep(1)
        response = send(client, method, template, probe, target)
    status = response.status_code
    where = target.name if target else "-"
    shown = leaked(response, world.hidden_ids(actor))
    if shown:
        return Outcome(actor, method, template, where, status, False, f"shows foreign ids {sorted(shown)[:3]}")
    if probe.kind == "own":
        allowed = probe.anonymous if actor == "anonymous" and probe.anonymous else None
        ok = (status < 500 or status in probe.expect) and (allowed is None or status in allowed)
        return Outcome(actor, method, template, where, status, ok, "" if ok else response.text[:200])
    expected = probe.anonymous if actor == "anonymous" else probe.expect
    ok = status in expected
    if ok and status == 200 and actor != "anonymous":
        ok = probe.empty is not None and probe.empty(response.json())
    return Outcome(actor, method, template, where, status, ok, "" if ok else response.text[:200])


def plan(world: MatrixWorld) -> list[tuple[str, str, str, Probe, Target | None]]:
    calls = []
    for (method, template), probes in ROUTES.items():
        for probe in probes:
            if probe.kind == "untried":
                continue
            for actor in world.actors:
                if probe.kind == "own":
                    target = world.b_target() if probe.query else None
                    calls.append((actor, method, template, probe, target))
                    continue
                for target in world.targets(actor) if actor != "anonymous" else [world.b_target()]:
                    if target.has(*probe.needs) and (probe.needs or target.name == "distributor B"):
                        calls.append((actor, method, template, probe, target))
    return calls


def test_every_role_is_refused_every_route_on_foreign_objects_and_nothing_changes(suite, world):
    before = (world.state(world.a), world.state(world.b))
    calls = plan(world)

    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = list(pool.map(lambda call: check(world, *call), calls))

    after = (world.state(world.a), world.state(world.b))
    failures = [o for o in outcomes if not o.ok]
    FIGURES.update(http_requests=len(outcomes), roles=len(world.actors), routes=len(ROUTES),
                   routes_tried=len({(o.method, o.path) for o in outcomes}),
                   foreign_requests=sum(1 for call in calls if call[3].kind == "foreign"),
                   statuses=dict(Counter(o.status for o in outcomes)), failures=len(failures))
    print("authorization matrix (HTTP):", json.dumps(FIGURES))
    assert not failures, "\n".join(f"{o.actor} {o.method} {o.path} [{o.target}] -> {o.status}: {o.why}"
                                   for o in failures[:40])
    for name, (old, new) in {"A": (before[0], after[0]), "B": (before[1], after[1])}.items():
        changed = [path for path in old if stable(old[path]) != stable(new[path])]
        assert not changed, f"tree {name} changed at {changed}"


def stable(read: tuple[int, Any]) -> Any:
    """A read without what moves by itself (the clock-derived fields)."""
    status, body = read
    return status, json.loads(json.dumps(body, sort_keys=True), object_hook=_drop_clock)


def _drop_clock(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in {"trial_days_left", "your_ip"}}


def test_b_audit_trail_holds_nothing_performed_by_a_users(world):
    emails = [world.actors[actor].get("/api/v1/me").json()["email"]
              for actor in world.actors if actor != "anonymous"]
    for email in emails:
        page = world.b.admin.get("/api/v1/audit", params={"performed_by": email})
        assert page.status_code == 200, page.text
        assert page.json()["total"] == 0, (email, page.json()["items"][:2])


# ---- the same walls over RPC, with a caller context of A's users -------------------------------

RPC_PROBES: list[tuple[str, str, Callable[[Target], tuple[Any, ...]]]] = [
    ("tenancy", "get_partner", lambda t: (t.partner,)),
    ("tenancy", "update_partner", lambda t: (t.partner, {"name": "Taken over"})),
    ("tenancy", "list_accounts", lambda t: ({"partner_id": t.partner},)),
    ("tenancy", "get_account", lambda t: (t.account,)),
    ("tenancy", "get_account_settings", lambda t: (t.distributor,)),
    ("tenancy", "update_account_settings", lambda t: ({"name": "Taken over"}, t.distributor)),
    ("tenancy", "create_account", lambda t: ({"name": "Intruder", "email": "in@x.example", "partner_id": t.partner},)),
    ("tenancy", "subscribe_trials", lambda t: ({"plan": "annual", "partner_id": t.partner},)),
    ("tenancy", "delete_trial", lambda t: (t.trial,)),
    ("tenancy", "remove_account", lambda t: (t.account, {"approve_data_removal": True})),
    ("tenancy", "add_backup_task", lambda t: (t.account, {"service": "teams", "name": "Intruder"})),
    ("tenancy", "activate_backup_task", lambda t: (t.account, t.task)),
    ("tenancy", "pause_backup_task", lambda t: (t.account, t.task)),
    ("tenancy", "run_trial_expiry", lambda t: ({"distributor_id": t.distributor},)),
    ("identity", "get_user", lambda t: (t.user,)),
    ("identity", "update_user", lambda t: (t.user, {"display_name": "Taken over"})),
    ("identity", "delete_user", lambda t: (t.user,)),
    ("identity", "resend_confirmation", lambda t: (t.user,)),
    ("identity", "update_ip_entry", lambda t: (t.ip_entry, {"description": "x", "addresses": "192.0.2.1"})),
    ("identity", "delete_ip_entry", lambda t: (t.ip_entry,)),
    ("identity", "create_user", lambda t: ({"email": f"in-{uuid.uuid4().hex[:6]}@x.example", "role": "administrator",
                                            "tenant_id": t.distributor, "tenant_kind": "distributor"},)),
    ("billing", "invoice_document", lambda t: ({"reference": t.invoice, "format": "pdf"},)),
    ("billing", "pay_invoice", lambda t: (t.invoice, {})),
    ("billing", "activate_card", lambda t: (t.card,)),
    ("billing", "delete_card", lambda t: (t.card,)),
    ("billing", "billing_status", lambda t: ({"partner_id": t.partner},)),  # a filter: refused, or no rows
    ("billing", "set_billing_method", lambda t: ({"method": "invoice", "distributor_id": t.distributor},)),
    ("billing", "run_billing", lambda t: ({"as_of": NOW.date().isoformat(), "distributor_id": t.distributor},)),
    ("notify", "update_recipient", lambda t: (t.recipient, {"display_name": "Taken over"})),
    ("notify", "remove_recipient", lambda t: (t.recipient,)),
    ("notify", "get_backup_radar", lambda t: (t.distributor,)),
    ("notify", "update_backup_radar", lambda t: ({"enabled": True, "distributor_id": t.distributor},)),
    ("notify", "list_webhook_deliveries", lambda t: ({"distributor_id": t.distributor},)),
    ("notify", "replay_webhook_delivery", lambda t: (t.delivery, t.distributor)),
]
REFUSALS = (NotFound, PermissionDenied, NotAuthenticated)


def test_direct_rpc_with_a_forged_caller_context_is_refused_and_changes_nothing(suite, world):
    before = world.state(world.b)
    target = world.b_target()
    outcomes: list[tuple[str, str, str, str]] = []
    for actor in ("distributor_admin", "partner_admin", "account_admin", "distributor_limited"):
        context = {CALLER_KEY: world.caller(actor).to_wire(), CORRELATION_ID_KEY: f"matrix-{actor}"}
        with ClusterRpcProxy({"AMQP_URI": suite.env["AMQP_URI"]}, context_data=context, timeout=30) as proxy:
            for service, method, args in RPC_PROBES:
                try:
                    reply = getattr(getattr(proxy, service), method)(*args(target))
                except REFUSALS as refused:
                    outcomes.append((actor, f"{service}.{method}", type(refused).__name__, ""))
                except Exception as error:  # anything else is a failure of the wall
                    outcomes.append((actor, f"{service}.{method}", type(error).__name__, str(error)[:200]))
                else:
                    shown = "empty" if method == "billing_status" and no_rows(reply) else "answered"
                    outcomes.append((actor, f"{service}.{method}", shown, json.dumps(reply)[:200]))

    after = world.state(world.b)
    failures = [o for o in outcomes if o[2] != "empty" and not _refusal(o[2])]
    FIGURES.update(rpc_calls=len(outcomes), rpc_refused=sum(1 for o in outcomes if _refusal(o[2])),
                   rpc_empty=sum(1 for o in outcomes if o[2] == "empty"))
    print("authorization matrix (RPC):", json.dumps(FIGURES))
    assert not failures, "\n".join(" ".join(o) for o in failures)
    changed = [path for path in before if stable(before[path]) != stable(after[path])]
    assert not changed, f"tree B changed at {changed}"


def _refusal(name: str) -> bool:
    return any(e.__name__ == name and issubclass(e, REFUSALS) for e in BOUNDARY_ERRORS)


# ---- bills of a user limited to some accounts --------------------------------------------------------


def test_a_user_limited_to_some_accounts_sees_only_the_bills_of_its_accounts(world):
    a, limited = world.a, world.actors["distributor_limited"]
    own_account = a.accounts[a.partners[0]][0]

    history = limited.get("/api/v1/billing/history", params={"page_size": 200})
    everything = a.admin.get("/api/v1/billing/history", params={"page_size": 200})

    assert history.status_code == 200, history.text
    assert [(row["reference"], row["account_id"]) for row in history.json()["items"]] == [
        (a.bills[own_account], own_account)]
    assert history.json()["total"] == 1
    assert {row["reference"] for row in everything.json()["items"]} == set(a.bills.values())  # the admin: all
    pdf = limited.get(f"/api/v1/billing/invoices/{a.bills[own_account]}.pdf")
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    refused = {name: limited.get(f"/api/v1/billing/invoices/{a.bills[key]}.{fmt}").status_code
               for name, key, fmt in [("annual pdf", a.accounts[a.partners[1]][0], "pdf"),
                                      ("consolidated pdf", "consolidated", "pdf"),
                                      ("consolidated csv", "consolidated", "csv")]}
    assert refused == {"annual pdf": 404, "consolidated pdf": 404, "consolidated csv": 404}


def test_a_user_limited_to_some_accounts_is_refused_other_bills_over_rpc_too(suite, world):
    caller = world.caller("distributor_limited")
    context = {CALLER_KEY: caller.to_wire(), CORRELATION_ID_KEY: "matrix-limited-bills"}
    foreign_bills = [target.invoice for target in world.targets("distributor_limited") if target.invoice]
    outcomes = {}
    with ClusterRpcProxy({"AMQP_URI": suite.env["AMQP_URI"]}, context_data=context, timeout=30) as proxy:
        for reference in foreign_bills:
            for name, call in [("invoice_document", lambda r: proxy.billing.invoice_document(
                                   {"reference": r, "format": "pdf"})),
                               ("pay_invoice", lambda r: proxy.billing.pay_invoice(r, {}))]:
                try:
                    call(reference)
                except NotFound:
                    outcomes[(name, reference)] = "NotFound"
                else:
                    outcomes[(name, reference)] = "answered"
        history = proxy.billing.billing_history({"page_size": 200})

    assert set(outcomes.values()) == {"NotFound"}, outcomes
    assert not {row["reference"] for row in history["items"]} & set(foreign_bills)
