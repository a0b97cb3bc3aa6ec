"""Event envelope → audit entry fields, one test per audited event type (services/audit/domain/audited_events.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts.audit import Activity, AuditStatus
from contracts.context import OPERATOR_TENANT_ID
from contracts.envelope import Actor, EventEnvelope
from contracts.events import IdentityEvent, source_of
from contracts.notify import IntegrationSwitched, RecipientChanged
from services.audit.domain.audited_events import AUDITED, SUBSCRIPTIONS, Rule, map_event, tenant_node, tenant_renamed
from services.audit.domain.user_agents import UNKNOWN, browser_name

TENANT = uuid.uuid4()
ADMIN = Actor(user_id=uuid.uuid4(), email="admin@northwind.example", ip="203.0.113.7",
              user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/126.0.0.0 Safari/537.36")
ANONYMOUS = Actor(ip="89.138.0.116", user_agent=ADMIN.user_agent)
AT = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def event(source: str, event_type: str, payload: dict, actor: Actor = ADMIN, tenant_id=TENANT) -> EventEnvelope:
    return EventEnvelope(type=event_type, source=source, tenant_id=tenant_id, actor=actor, occurred_at=AT,
                         correlation_id="req-42", payload=payload)


def mapped(source: str, event_type: str, payload: dict, **kwargs):
    fields = map_event(event(source, event_type, payload, **kwargs))
    assert fields is not None
    return fields


# ---- identity ---------------------------------------------------------------------------------------------


def test_a_sign_in_reads_like_the_portal_with_browser_and_address():
    fields = mapped("identity", "signed_in", {"user_id": str(uuid.uuid4()), "email": "dana@northwind.example",
                                              "method": "password", "two_factor": False}, actor=ANONYMOUS)

    assert fields.activity is Activity.SIGN_IN and fields.status is AuditStatus.COMPLETED
    assert fields.description == "Native sign in (OK) Chrome from ip 89.138.0.116"
    assert fields.performed_by == "dana@northwind.example"
    assert (fields.ip, fields.tenant_id, fields.correlation_id) == ("89.138.0.116", TENANT, "req-42")
    assert fields.occurred_at == AT


def test_a_two_factor_sign_in_says_so():
    fields = mapped("identity", "signed_in", {"email": "d@x.example", "method": "password", "two_factor": True},
                    actor=ANONYMOUS)

    assert fields.description.startswith("Native sign in (OK, two-factor) Chrome")


def test_a_failed_sign_in_is_failed_with_its_reason():
    fields = mapped("identity", "sign_in_failed", {"email": "dana@northwind.example", "user_id": None,
                                                   "reason": "bad_credentials"}, actor=ANONYMOUS)

    assert fields.activity is Activity.SIGN_IN and fields.status is AuditStatus.FAILED
    assert fields.description == "Native sign in (Failed: wrong email or password) Chrome from ip 89.138.0.116"
    assert fields.performed_by == "dana@northwind.example"


def test_a_failed_sign_in_of_no_known_user_joins_the_operators_trail():
    fields = mapped("identity", "sign_in_failed", {"email": "nobody@nowhere.example", "reason": "bad_credentials"},
                    actor=ANONYMOUS, tenant_id=None)

    assert fields.tenant_id == OPERATOR_TENANT_ID


@pytest.mark.parametrize(("reason", "said"), [("ip_not_trusted", "address not trusted"),
                                              ("bad_totp_code", "wrong authentication code"),
                                              ("something_new", "something new")])
def test_failure_reasons_are_written_in_words(reason, said):
    fields = mapped("identity", "sign_in_failed", {"email": "d@x.example", "reason": reason}, actor=ANONYMOUS)

    assert f"(Failed: {said})" in fields.description


def test_a_sign_out_and_a_recovery_code_name_the_user():
    out = mapped("identity", "signed_out", {"user_id": str(uuid.uuid4()), "email": "d@x.example"}, actor=ANONYMOUS)
    recovery = mapped("identity", "recovery_code_used", {"email": "d@x.example", "remaining": 7}, actor=ANONYMOUS)

    assert (out.activity, out.description, out.performed_by) == (Activity.SIGN_OUT, "Signed out", "d@x.example")
    assert recovery.activity is Activity.SIGN_IN
    assert recovery.description == "Recovery code used to sign in (7 left)"


@pytest.mark.parametrize(("event_type", "payload", "description"), [
    ("user_created", {"email": "new@x.example", "role": "custom"}, "User created: new@x.example (Custom)"),
    ("user_created", {"email": "new@x.example", "role": "custom", "tenant_kind": "account", "tenant_name": "Alpine"},
     "User created: new@x.example (Custom) in customer account Alpine"),
    ("user_created", {"email": "a@x.example", "role": "administrator", "tenant_kind": "partner",
                      "tenant_id": "4e52e40d-9a69-402f-8c9d-e63a51fdca28"},
     "User created: a@x.example (Administrator) in partner 4e52e40d-9a69-402f-8c9d-e63a51fdca28"),
    ("user_updated", {"email": "new@x.example", "fields": ["display_name", "role"]},
     "User updated: new@x.example (changed: display name, role)"),
    ("user_deleted", {"email": "old@x.example"}, "User deleted: old@x.example"),
    ("operator_bootstrapped", {"email": "op@vendor.example"}, "Operator account created: op@vendor.example"),
])
def test_user_management_events(event_type, payload, description):
    fields = mapped("identity", event_type, payload)

    assert fields.activity is Activity.USER_MANAGEMENT
    assert fields.description == description
    assert fields.performed_by == ADMIN.email  # the administrator who did it, not the user


def test_an_email_confirmation_is_performed_by_the_user_who_confirms():
    fields = mapped("identity", "email_confirmed", {"email": "new@x.example"}, actor=ANONYMOUS)

    assert fields.activity is Activity.USER_MANAGEMENT
    assert fields.performed_by == "new@x.example"


def test_a_confirmation_mail_is_a_notification():
    fields = mapped("identity", "confirmation_sent", {"email": "new@x.example", "expires_at": AT.isoformat()})

    assert fields.activity is Activity.NOTIFICATION
    assert fields.description == "Notification: confirmation mail sent to: new@x.example"


def test_a_permissions_change_lists_role_permissions_and_accounts():
    fields = mapped("identity", "permissions_changed", {
        "email": "dana@x.example", "role": "custom", "permissions": ["view_dashboard", "view_security_audit"],
        "accessible_accounts": [str(uuid.uuid4()), str(uuid.uuid4())]})

    assert fields.activity is Activity.PERMISSIONS_CHANGED
    assert fields.description == ("Permissions changed: dana@x.example: role Custom; "
                                  "permissions: view dashboard, view security audit; 2 selected accounts")


@pytest.mark.parametrize(("event_type", "payload", "description"), [
    ("ip_restrictions_changed", {"change": "Entry added: office", "enabled": True, "entries": 3},
     "IP restrictions: Entry added: office (restrictions on, 3 entries)"),
    ("password_policy_changed", {"expiration_enabled": True, "max_age_days": 60},
     "Password policy: expiration on, at most 60 days"),
    ("password_policy_changed", {"expiration_enabled": False, "max_age_days": 90}, "Password policy: expiration off"),
    ("password_changed", {"email": "d@x.example"}, "Password changed: d@x.example"),
    ("two_factor_enabled", {"email": "d@x.example"}, "Two-factor authentication turned on: d@x.example"),
    ("two_factor_disabled", {"email": "d@x.example"}, "Two-factor authentication turned off: d@x.example"),
    ("engine_key_created", {"key_id": str(uuid.uuid4()), "name": "engine eu-1"},
     "Backup engine API key created: engine eu-1"),
])
def test_security_settings_events(event_type, payload, description):
    fields = mapped("identity", event_type, payload)

    assert fields.activity is Activity.SECURITY_SETTINGS_CHANGED
    assert fields.description == description


def test_an_account_access_names_the_account():
    account = uuid.uuid4()
    fields = mapped("tenancy", "account_accessed", {"account_id": str(account), "account_name": "Coho Winery"})

    assert fields.activity is Activity.ACCOUNT_ACCESSED
    assert (fields.account_id, fields.account_name) == (account, "Coho Winery")


# ---- tenancy -----------------------------------------------------------------------------------------------


def test_tenancy_creations_name_the_new_tenant_as_the_account():
    partner, account, distributor = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    created_partner = mapped("tenancy", "partner_created", {"partner_id": str(partner), "parent_id": str(TENANT),
                                                            "name": "Contoso IT", "partner_code": "P-7K2M9Q"})
    created_account = mapped("tenancy", "account_created", {"account_id": str(account), "owner_id": str(partner),
                                                            "name": "Coho Winery", "subscription": "trial_expiring"})
    created_tenant = mapped("tenancy", "tenant_created", {"tenant_id": str(distributor), "parent_id": str(TENANT),
                                                          "kind": "distributor", "name": "Northwind", "code": None})

    assert {f.activity for f in (created_partner, created_account, created_tenant)} == {Activity.ACCOUNT_CREATED}
    assert (created_partner.account_id, created_partner.description) == (
        partner, "Partner created: Contoso IT (P-7K2M9Q)")
    assert (created_account.account_name, created_account.description) == (
        "Coho Winery", "Account created: Coho Winery (trial expiring)")
    assert created_tenant.description == "Distributor created: Northwind"


def profile_changed(tenant: str, fields: list[str], name: str, previous_name: str | None = None) -> dict:
    """The payload as tenancy writes it (contracts.tenancy.ProfileChanged.to_wire())."""
    return {"tenant_id": tenant, "kind": "partner", "fields": fields, "name": name, "previous_name": previous_name}


def test_a_profile_change_is_settings_unless_it_renames():
    tenant = str(uuid.uuid4())
    settings = mapped("tenancy", "settings_changed", profile_changed(tenant, ["phone"], "Contoso IT"))
    renamed = mapped("tenancy", "partner_updated",
                     profile_changed(tenant, ["name", "phone"], "Contoso Cloud", previous_name="Contoso IT"))

    assert (settings.activity, settings.description) == (Activity.SETTINGS_CHANGED, "Account settings changed: phone")
    assert settings.account_name == "Contoso IT"
    assert (renamed.activity, renamed.description) == (Activity.ACCOUNT_RENAMED, "Renamed Contoso IT to Contoso Cloud")
    assert (renamed.account_id, renamed.account_name) == (uuid.UUID(tenant), "Contoso Cloud")


def test_a_rename_without_the_old_name_still_says_the_new_one():
    renamed = mapped("tenancy", "settings_changed", {"tenant_id": str(uuid.uuid4()), "kind": "distributor",
                                                     "fields": ["name"], "name": "Northwind Cloud"})

    assert renamed.description == "Renamed to Northwind Cloud"


def test_a_subscription_says_plan_and_how():
    account = uuid.uuid4()
    fields = mapped("tenancy", "account_subscribed", {"account_id": str(account), "owner_id": str(TENANT),
                                                      "plan": "annual", "reason": "auto_subscription",
                                                      "subscribed_at": AT.isoformat()})

    assert fields.activity is Activity.SUBSCRIBED_TO_PLAN
    assert fields.description == "Subscribed to the annual plan automatically at the end of the trial"
    assert fields.account_id == account


def test_a_deleted_trial_and_a_removed_account():
    account = uuid.uuid4()
    gone = {"account_id": str(account), "owner_id": str(TENANT), "name": "Coho Winery", "at": AT.isoformat(),
            "data_removal_approved": True}
    trial = mapped("tenancy", "trial_deleted", gone)
    removed = mapped("tenancy", "account_removed", gone)

    assert (trial.activity, trial.description) == (Activity.TRIAL_CANCELED, "Trial deleted: Coho Winery")
    assert (removed.activity, removed.account_id) == (Activity.ACCOUNT_REMOVED, account)
    assert removed.description == "Account removed with all its data: Coho Winery"


def test_backup_runs_are_not_security_events():
    assert map_event(event("tenancy", "backup_runs_recorded", {"runs": []})) is None
    assert map_event(event("identity", "no_such_event", {})) is None


# ---- billing and notify ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("event_type", "payload", "description"), [
    ("billing_details_changed", {"distributor_id": str(TENANT), "fields": ["company", "billing_email"]},
     "Billing details changed: company, billing email"),
    ("billing_method_chosen", {"method": "invoice", "previous_method": "credit_card", "by_operator": True},
     "Billing method set to invoice (was credit card) by an operator"),
    ("card_added", {"card_id": str(uuid.uuid4()), "brand": "Visa", "active": True}, "Card added: Visa"),
    ("card_activated", {"brand": "Mastercard", "active": True}, "Card made the active card: Mastercard"),
    ("card_deleted", {"brand": "Visa", "active": False}, "Card deleted: Visa"),
])
def test_billing_details_events(event_type, payload, description):
    fields = mapped("billing", event_type, payload)

    assert fields.activity is Activity.BILLING_DETAILS_CHANGED
    assert fields.description == description


def test_a_failed_payment_is_failed():
    fields = mapped("billing", "payment_failed", {"reference": "INV-2026-0042", "failure_code": "card_declined",
                                                  "failure_message": "The card was declined"})

    assert (fields.activity, fields.status) == (Activity.PAYMENT, AuditStatus.FAILED)
    assert fields.description == "Payment failed for INV-2026-0042: The card was declined"


def test_mail_sent_and_failed_are_notifications_by_the_system():
    sent = mapped("notify", "mail_sent", {"template": "security_notice", "attempts": 1}, actor=Actor())
    failed = mapped("notify", "mail_failed", {"template": "security_notice", "attempts": 5}, actor=Actor())

    assert (sent.activity, sent.status, sent.performed_by) == (Activity.NOTIFICATION, AuditStatus.COMPLETED, None)
    assert sent.description == "Notification: security notice mail sent"
    assert failed.status is AuditStatus.FAILED


# ---- audit's own, robustness, the tree -------------------------------------------------------------------


def test_an_export_describes_its_filters():
    fields = mapped("audit", "audit_exported", {"export_id": str(uuid.uuid4()), "tenant_id": str(TENANT),
                                                "filters": {"activity": ["sign_in"], "status": "failed"}})

    assert fields.activity is Activity.NOTIFICATION
    assert fields.description == "Notification: exported security audit (activity sign_in; status failed)"


def test_payloads_of_an_odd_shape_are_read_tolerantly():
    fields = mapped("identity", "permissions_changed", {"email": "d@x.example", "permissions": {"odd": "shape"}},
                    actor=ADMIN)
    broken = mapped("tenancy", "partner_updated", {"fields": None})

    assert fields.activity is Activity.PERMISSIONS_CHANGED and "nothing" in fields.description
    assert broken.activity is Activity.SETTINGS_CHANGED


def test_a_payload_its_mapper_cannot_read_still_makes_an_entry(monkeypatch):
    def unreadable(env, payload):
        raise KeyError("surprise")

    monkeypatch.setitem(AUDITED, IdentityEvent.SIGNED_IN, Rule(Activity.SIGN_IN, unreadable))

    fields = mapped("identity", "signed_in", {"email": "d@x.example"}, actor=ANONYMOUS)

    assert fields.activity is Activity.SIGN_IN
    assert fields.description == "Signed in (details unreadable)"


def test_values_too_long_for_their_columns_are_cut():
    fields = mapped("identity", "sign_in_failed", {"email": "x" * 1000, "reason": "bad_credentials"},
                    actor=Actor(user_agent="y" * 2000, ip="203.0.113.1"))

    assert len(fields.performed_by or "") == 320 and len(fields.user_agent or "") == 512


def test_audit_subscribes_to_every_audited_event_but_its_own():
    assert {source_of(event) for event in SUBSCRIPTIONS} == {"identity", "tenancy", "billing", "notify"}
    assert set(SUBSCRIPTIONS) == {event for event in AUDITED if source_of(event) != "audit"}


def test_creation_events_feed_the_tree_and_renames_rename():
    partner, parent = uuid.uuid4(), uuid.uuid4()
    node = tenant_node(event("tenancy", "partner_created", {"partner_id": str(partner), "parent_id": str(parent),
                                                            "name": "Contoso IT"}))
    distributor = tenant_node(event("tenancy", "tenant_created", {"tenant_id": str(partner),
                                                                  "parent_id": str(parent), "kind": "distributor"}))
    rename = tenant_renamed(event("tenancy", "settings_changed",
                                  profile_changed(str(partner), ["name"], "Contoso Cloud", "Contoso IT")))
    not_a_rename = tenant_renamed(event("tenancy", "settings_changed",
                                        profile_changed(str(partner), ["phone"], "Contoso Cloud")))

    assert node is not None and (node.id, node.parent_id, node.kind, node.name) == (
        partner, parent, "partner", "Contoso IT")
    assert distributor is not None and distributor.kind == "distributor"
    assert rename == (partner, "Contoso Cloud", "partner")
    assert not_a_rename is None
    assert tenant_node(event("identity", "signed_in", {})) is None


@pytest.mark.parametrize(("user_agent", "name"), [
    (ADMIN.user_agent, "Chrome"),
    ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0", "Edge"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox"),
    ("Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari"),
    ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 OPR/111.0", "Opera"),
    ("curl/8.5.0", "curl"),
    ("e2e-tests", "e2e-tests"),
    ("", UNKNOWN),
    (None, UNKNOWN),
    ("Mozilla/5.0 (compatible)", UNKNOWN),
])
def test_browser_names(user_agent, name):
    assert browser_name(user_agent) == name


@pytest.mark.parametrize(("event_type", "payload", "description"), [
    ("recipient_added", {"recipient_id": str(uuid.uuid4()), "email": "ops@msp.example", "types": []},
     "Notification: recipient added: ops@msp.example"),
    ("integration_enabled", {"distributor_id": str(uuid.uuid4()), "integration": "backup_radar"},
     "Notification: integration enabled: backup_radar"),
    ("endpoint_disabled", {"distributor_id": str(uuid.uuid4()), "integration": "backup_radar", "reason": "gone (410)"},
     "Notification: webhook endpoint disabled: gone (410)"),
])
def test_notification_and_integration_changes_are_audited(event_type, payload, description):
    fields = mapped("notify", event_type, payload)

    assert fields.description == description


# The payloads exactly as notify writes them (services/notify/usecases/recipients.py, integrations.py).
@pytest.mark.parametrize(("event_type", "payload", "activity", "description"), [
    ("recipient_changed",
     RecipientChanged(recipient_id=uuid.uuid4(), email="ops@msp.example", types=["summary_report"],
                      fields=["display_name", "types"]).to_wire(),
     Activity.NOTIFICATION, "Notification: recipient changed: ops@msp.example"),
    ("recipient_removed",
     RecipientChanged(recipient_id=uuid.uuid4(), email="old@msp.example",
                      types=["summary_report", "trial_accounts_report"]).to_wire(),
     Activity.NOTIFICATION, "Notification: recipient removed: old@msp.example"),
    ("integration_disabled", IntegrationSwitched(distributor_id=uuid.uuid4()).to_wire(),
     Activity.SETTINGS_CHANGED, "Notification: integration disabled: backup_radar"),
])
def test_notifys_recipient_and_integration_events_are_audited_as_notify_writes_them(event_type, payload, activity,
                                                                                    description):
    fields = mapped("notify", event_type, payload)

    assert (fields.activity, fields.status, fields.description) == (activity, AuditStatus.COMPLETED, description)
    assert fields.performed_by == ADMIN.email and fields.tenant_id == TENANT


def test_a_new_partner_is_one_entry_though_tenancy_announces_it_twice():
    partner = {"tenant_id": str(uuid.uuid4()), "parent_id": str(uuid.uuid4()), "kind": "partner", "name": "Contoso"}
    distributor = {**partner, "kind": "distributor", "name": "Northwind"}

    assert map_event(event("tenancy", "tenant_created", partner)) is None
    assert map_event(event("tenancy", "tenant_created", distributor)).description.startswith("Distributor created")


def test_a_first_administrator_not_invited_is_a_failed_entry_naming_the_tenant():
    entry = mapped("identity", "administrator_not_invited", {
        "tenant_id": str(uuid.uuid4()), "tenant_kind": "partner", "tenant_name": "Contoso", "email": "it@contoso.example",
        "reason": "email_in_use"})

    assert (entry.activity, entry.status) == (Activity.USER_MANAGEMENT, AuditStatus.FAILED)
    assert entry.description.startswith("First administrator not invited: it@contoso.example in partner Contoso")
