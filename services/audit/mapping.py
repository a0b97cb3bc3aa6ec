"""Event envelope → the fields of one audit entry. Pure: no nameko, no SQLAlchemy.

``AUDITED`` names every (source service, event type) the trail records and how: its
activity and a function writing the readable description (and the target account).
Payloads are read tolerantly (``dict.get``): a publisher may add fields at any time
(docs/events.md), and an unreadable payload still makes an entry rather than being lost.

``tenant_node`` reads tenancy's creation events for the tree projection.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from contracts.audit import Activity, AuditStatus
from contracts.context import OPERATOR_TENANT_ID
from contracts.envelope import EventEnvelope
from contracts.events import AuditEvent, BillingEvent, IdentityEvent, NotifyEvent, TenancyEvent
from services.audit.user_agents import browser_name

Payload = Mapping[str, Any]

# Column sizes (services/audit/adapters/models.py): values are cut to fit before they are hashed.
LIMITS = {
    "description": 1000, "account_name": 200, "performed_by": 320, "ip": 64, "user_agent": 512,
    "correlation_id": 100, "source": 50, "event_type": 100,
}


@dataclass(frozen=True)
class AuditFields:
    """Everything an entry says; the chain hashes exactly these (plus seq and prev_hash)."""

    event_id: uuid.UUID
    tenant_id: uuid.UUID
    occurred_at: datetime
    activity: Activity
    status: AuditStatus
    description: str
    source: str
    event_type: str
    account_id: uuid.UUID | None = None
    account_name: str | None = None
    performed_by: str | None = None
    actor_user_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    correlation_id: str | None = None

    def fitted(self) -> AuditFields:
        """The same entry with every text cut to its column's size."""
        cut: dict[str, Any] = {name: value[:size] for name, size in LIMITS.items()
               if isinstance(value := getattr(self, name), str) and len(value) > size}
        return replace(self, **cut) if cut else self


@dataclass(frozen=True)
class Draft:
    """What an event's own mapper decides; the envelope supplies the rest."""

    description: str
    status: AuditStatus = AuditStatus.COMPLETED
    account_id: uuid.UUID | None = None
    account_name: str | None = None
    performed_by: str | None = None  # when the actor is anonymous (sign-in) or not the performer


@dataclass(frozen=True)
class TenantNode:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    kind: str
    name: str | None


# ---- reading payloads ------------------------------------------------------------------------------------


def text(payload: Payload, key: str) -> str | None:
    value = payload.get(key)
    return str(value) if value is not None and not isinstance(value, dict | list) else None


def an_id(payload: Payload, key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(payload[key]))
    except (KeyError, ValueError, TypeError, AttributeError):
        return None


def words(value: str | None) -> str:
    return (value or "").replace("_", " ").strip()


def names(payload: Payload, key: str) -> str:
    values = payload.get(key)
    if not isinstance(values, list) or not values:
        return "nothing"
    return ", ".join(words(str(v)) for v in values)


def with_name(label: str, name: str | None) -> str:
    return f"{label}: {name}" if name else label


def on_off(value: Any) -> str:
    return "on" if value else "off"


# ---- identity ----------------------------------------------------------------------------------------------

SIGN_IN_METHODS = {"password": "Native", "microsoft": "Microsoft", "google": "Google"}
FAILURE_REASONS = {
    "bad_credentials": "wrong email or password",
    "email_not_confirmed": "email not confirmed",
    "ip_not_trusted": "address not trusted",
    "bad_totp_code": "wrong authentication code",
    "bad_recovery_code": "wrong recovery code",
}


def sign_in_description(outcome: str, env: EventEnvelope, method: str | None = "password") -> str:
    """"Native sign in (OK) Chrome from ip 89.138.0.116"."""
    label = SIGN_IN_METHODS.get(method or "password", words(method).capitalize() or "Native")
    where = f" from ip {env.actor.ip}" if env.actor.ip else ""
    return f"{label} sign in ({outcome}) {browser_name(env.actor.user_agent)}{where}"


def signed_in(env: EventEnvelope, p: Payload) -> Draft:
    outcome = "OK, two-factor" if p.get("two_factor") else "OK"
    return Draft(sign_in_description(outcome, env, text(p, "method")), performed_by=text(p, "email"))


def sign_in_failed(env: EventEnvelope, p: Payload) -> Draft:
    reason = text(p, "reason")
    outcome = f"Failed: {FAILURE_REASONS.get(reason or '', words(reason) or 'refused')}"
    return Draft(sign_in_description(outcome, env, text(p, "method")), AuditStatus.FAILED,
                 performed_by=text(p, "email"))


def signed_out(env: EventEnvelope, p: Payload) -> Draft:
    return Draft("Signed out", performed_by=text(p, "email"))


def recovery_code_used(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"Recovery code used to sign in ({text(p, 'remaining') or 'no'} left)",
                 performed_by=text(p, "email"))


def about_user(label: str) -> Callable[[EventEnvelope, Payload], Draft]:
    """"<label>: <the user's email>", performed by the actor (or the user, when anonymous)."""

    def describe(env: EventEnvelope, p: Payload) -> Draft:
        return Draft(with_name(label, text(p, "email")), performed_by=None if env.actor.email else text(p, "email"))

    return describe


def role_label(role: str | None) -> str:
    return words(role).capitalize() or "Custom"


TENANT_KINDS = {"operator": "operator", "distributor": "distributor", "partner": "partner",
                "account": "customer account"}


def tenant_label(p: Payload) -> str:
    """"customer account Alpine", "partner Contoso" (its id when the name is unknown); "" when
    the payload does not say (entries from before tenants were named)."""
    kind = text(p, "tenant_kind")
    if kind is None:
        return ""
    return f" in {TENANT_KINDS.get(kind, words(kind))} {text(p, 'tenant_name') or text(p, 'tenant_id') or ''}".rstrip()


def user_created(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"{with_name('User created', text(p, 'email'))} ({role_label(text(p, 'role'))}){tenant_label(p)}")


def administrator_not_invited(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"{with_name('First administrator not invited', text(p, 'email'))}{tenant_label(p)}: a user "
                 "already has this email; add an administrator naming the tenant", AuditStatus.FAILED)


def user_updated(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"{with_name('User updated', text(p, 'email'))} (changed: {names(p, 'fields')})")


def permissions_changed(env: EventEnvelope, p: Payload) -> Draft:
    accounts = p.get("accessible_accounts")
    reach = f"{len(accounts)} selected accounts" if isinstance(accounts, list) else "all accounts"
    return Draft(f"{with_name('Permissions changed', text(p, 'email'))}: role {role_label(text(p, 'role'))}; "
                 f"permissions: {names(p, 'permissions')}; {reach}")


def ip_restrictions_changed(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"IP restrictions: {text(p, 'change') or 'changed'} "
                 f"(restrictions {on_off(p.get('enabled'))}, {text(p, 'entries') or 0} entries)")


def password_policy_changed(env: EventEnvelope, p: Payload) -> Draft:
    rule = f"on, at most {text(p, 'max_age_days')} days" if p.get("expiration_enabled") else "off"
    return Draft(f"Password policy: expiration {rule}")


def account_accessed(env: EventEnvelope, p: Payload) -> Draft:
    name = text(p, "account_name") or text(p, "name")
    return Draft(with_name("Account accessed", name), account_id=an_id(p, "account_id"), account_name=name)


def engine_key_created(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(with_name("Backup engine API key created", text(p, "name")))


# ---- tenancy ---------------------------------------------------------------------------------------------------


def tenant_created(env: EventEnvelope, p: Payload) -> Draft:
    code = text(p, "code")
    label = with_name(f"{words(text(p, 'kind')).capitalize() or 'Tenant'} created", text(p, "name"))
    return Draft(f"{label} ({code})" if code else label, account_id=an_id(p, "tenant_id"),
                 account_name=text(p, "name"))


def partner_created(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"{with_name('Partner created', text(p, 'name'))} ({text(p, 'partner_code') or 'no code'})",
                 account_id=an_id(p, "partner_id"), account_name=text(p, "name"))


def account_created(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"{with_name('Account created', text(p, 'name'))} ({words(text(p, 'subscription')) or 'default'})",
                 account_id=an_id(p, "account_id"), account_name=text(p, "name"))


def profile_changed(label: str) -> Callable[[EventEnvelope, Payload], Draft]:
    def describe(env: EventEnvelope, p: Payload) -> Draft:
        return Draft(f"{label}: {names(p, 'fields')}", account_id=an_id(p, "tenant_id"), account_name=text(p, "name"))

    return describe


def is_rename(env: EventEnvelope, p: Payload) -> bool:
    fields = p.get("fields")
    return isinstance(fields, list) and "name" in fields


def renamed(env: EventEnvelope, p: Payload) -> Draft:
    """"Renamed Contoso IT to Contoso Cloud" (tenancy's ``name`` and ``previous_name``)."""
    new, old = text(p, "name"), text(p, "previous_name")
    if new is None:
        description = "Renamed"
    elif old is None:
        description = f"Renamed to {new}"
    else:
        description = f"Renamed {old} to {new}"
    return Draft(description, account_id=an_id(p, "tenant_id"), account_name=new)


SUBSCRIBE_REASONS = {
    "created": "when the account was created",
    "auto_subscription": "automatically at the end of the trial",
    "subscribe_trials": "with Subscribe all trials",
}


def account_subscribed(env: EventEnvelope, p: Payload) -> Draft:
    reason = text(p, "reason") or ""
    how = SUBSCRIBE_REASONS.get(reason, words(reason))
    return Draft(f"Subscribed to the {text(p, 'plan') or 'a'} plan{' ' + how if how else ''}",
                 account_id=an_id(p, "account_id"))


def account_gone(label: str) -> Callable[[EventEnvelope, Payload], Draft]:
    def describe(env: EventEnvelope, p: Payload) -> Draft:
        key = "account_id" if "account_id" in p else "tenant_id"
        return Draft(with_name(label, text(p, "name")), account_id=an_id(p, key), account_name=text(p, "name"))

    return describe


# ---- billing ------------------------------------------------------------------------------------------------------


def billing_method_chosen(env: EventEnvelope, p: Payload) -> Draft:
    previous = text(p, "previous_method")
    by = " by an operator" if p.get("by_operator") else ""
    was = f" (was {words(previous)})" if previous else ""
    return Draft(f"Billing method set to {words(text(p, 'method')) or 'unknown'}{was}{by}")


def billing_details_changed(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"Billing details changed: {names(p, 'fields')}")


def card(label: str) -> Callable[[EventEnvelope, Payload], Draft]:
    def describe(env: EventEnvelope, p: Payload) -> Draft:
        return Draft(with_name(label, text(p, "brand")))

    return describe


def payment_failed(env: EventEnvelope, p: Payload) -> Draft:
    return Draft(f"Payment failed for {text(p, 'reference') or 'a bill'}: "
                 f"{text(p, 'failure_message') or text(p, 'failure_code') or 'refused'}", AuditStatus.FAILED)


# ---- notify --------------------------------------------------------------------------------------------------------


def mail(outcome: str, status: AuditStatus) -> Callable[[EventEnvelope, Payload], Draft]:
    def describe(env: EventEnvelope, p: Payload) -> Draft:
        return Draft(f"Notification: {words(text(p, 'template')) or 'mail'} mail {outcome}", status)

    return describe


def notification_change(label: str, name_key: str | None = None) -> Callable[[EventEnvelope, Payload], Draft]:
    """Recipients, notification settings and integrations: what changed, never a secret."""

    def describe(env: EventEnvelope, p: Payload) -> Draft:
        return Draft(with_name(f"Notification: {label}", text(p, name_key) if name_key else None))

    return describe


# ---- audit itself -----------------------------------------------------------------------------------------------

FILTER_LABELS = {"date_from": "from", "date_to": "to", "activity": "activity", "status": "status",
                 "account": "account", "performed_by": "performed by"}


def exported(env: EventEnvelope, p: Payload) -> Draft:
    raw = p.get("filters")
    filters = raw if isinstance(raw, dict) else {}
    given = [f"{label} {', '.join(map(str, value)) if isinstance(value, list) else value}"
             for key, label in FILTER_LABELS.items() if (value := filters.get(key))]
    return Draft("Notification: exported security audit" + (f" ({'; '.join(given)})" if given else ""))


def purged(env: EventEnvelope, p: Payload) -> Draft:
    older_than = (text(p, "older_than") or "?")[:10]
    return Draft(f"Retention: removed {text(p, 'removed') or 0} entries older than {older_than} "
                 f"(the chain now starts after entry {text(p, 'anchor_seq')}, hash {text(p, 'anchor_hash')})")


# ---- the table --------------------------------------------------------------------------------------------------

Mapper = Callable[[EventEnvelope, Payload], Draft]


def simple(label: str) -> Mapper:
    def describe(env: EventEnvelope, p: Payload) -> Draft:
        return Draft(label)

    return describe


@dataclass(frozen=True)
class Rule:
    activity: Activity
    describe: Mapper
    # An alternative activity and mapper when ``when`` holds (a profile change that renames).
    when: Callable[[EventEnvelope, Payload], bool] | None = None
    otherwise: tuple[Activity, Mapper] | None = None


A = Activity
AUDITED: dict[tuple[str, str], Rule] = {
    ("identity", IdentityEvent.SIGNED_IN): Rule(A.SIGN_IN, signed_in),
    ("identity", IdentityEvent.SIGN_IN_FAILED): Rule(A.SIGN_IN, sign_in_failed),
    ("identity", IdentityEvent.RECOVERY_CODE_USED): Rule(A.SIGN_IN, recovery_code_used),
    ("identity", IdentityEvent.SIGNED_OUT): Rule(A.SIGN_OUT, signed_out),
    ("identity", IdentityEvent.OPERATOR_BOOTSTRAPPED): Rule(A.USER_MANAGEMENT, about_user("Operator account created")),
    ("identity", IdentityEvent.USER_CREATED): Rule(A.USER_MANAGEMENT, user_created),
    ("identity", IdentityEvent.ADMINISTRATOR_NOT_INVITED): Rule(A.USER_MANAGEMENT, administrator_not_invited),
    ("identity", IdentityEvent.USER_UPDATED): Rule(A.USER_MANAGEMENT, user_updated),
    ("identity", IdentityEvent.USER_DELETED): Rule(A.USER_MANAGEMENT, about_user("User deleted")),
    ("identity", IdentityEvent.EMAIL_CONFIRMED): Rule(A.USER_MANAGEMENT, about_user("Email address confirmed")),
    ("identity", IdentityEvent.CONFIRMATION_SENT): Rule(
        A.NOTIFICATION, about_user("Notification: confirmation mail sent to")),
    ("identity", IdentityEvent.PERMISSIONS_CHANGED): Rule(A.PERMISSIONS_CHANGED, permissions_changed),
    ("identity", IdentityEvent.PASSWORD_CHANGED): Rule(A.SECURITY_SETTINGS_CHANGED, about_user("Password changed")),
    ("identity", IdentityEvent.TWO_FACTOR_ENABLED): Rule(
        A.SECURITY_SETTINGS_CHANGED, about_user("Two-factor authentication turned on")),
    ("identity", IdentityEvent.TWO_FACTOR_DISABLED): Rule(
        A.SECURITY_SETTINGS_CHANGED, about_user("Two-factor authentication turned off")),
    ("identity", IdentityEvent.IP_RESTRICTIONS_CHANGED): Rule(A.SECURITY_SETTINGS_CHANGED, ip_restrictions_changed),
    ("identity", IdentityEvent.PASSWORD_POLICY_CHANGED): Rule(A.SECURITY_SETTINGS_CHANGED, password_policy_changed),
    ("identity", IdentityEvent.ENGINE_KEY_CREATED): Rule(A.SECURITY_SETTINGS_CHANGED, engine_key_created),
    ("tenancy", TenancyEvent.ACCOUNT_ACCESSED): Rule(A.ACCOUNT_ACCESSED, account_accessed),
    ("tenancy", TenancyEvent.TENANT_CREATED): Rule(A.ACCOUNT_CREATED, tenant_created),
    ("tenancy", TenancyEvent.PARTNER_CREATED): Rule(A.ACCOUNT_CREATED, partner_created),
    ("tenancy", TenancyEvent.ACCOUNT_CREATED): Rule(A.ACCOUNT_CREATED, account_created),
    ("tenancy", TenancyEvent.PARTNER_UPDATED): Rule(
        A.SETTINGS_CHANGED, profile_changed("Partner profile changed"), is_rename, (A.ACCOUNT_RENAMED, renamed)),
    ("tenancy", TenancyEvent.SETTINGS_CHANGED): Rule(
        A.SETTINGS_CHANGED, profile_changed("Account settings changed"), is_rename, (A.ACCOUNT_RENAMED, renamed)),
    ("tenancy", TenancyEvent.ACCOUNT_SUBSCRIBED): Rule(A.SUBSCRIBED_TO_PLAN, account_subscribed),
    ("tenancy", TenancyEvent.TRIAL_DELETED): Rule(A.TRIAL_CANCELED, account_gone("Trial deleted")),
    ("tenancy", TenancyEvent.ACCOUNT_REMOVED): Rule(
        A.ACCOUNT_REMOVED, account_gone("Account removed with all its data")),
    ("tenancy", TenancyEvent.TENANT_DELETED): Rule(A.ACCOUNT_REMOVED, account_gone("Deleted")),
    ("billing", BillingEvent.BILLING_METHOD_CHOSEN): Rule(A.BILLING_DETAILS_CHANGED, billing_method_chosen),
    ("billing", BillingEvent.BILLING_DETAILS_CHANGED): Rule(A.BILLING_DETAILS_CHANGED, billing_details_changed),
    ("billing", BillingEvent.CARD_ADDED): Rule(A.BILLING_DETAILS_CHANGED, card("Card added")),
    ("billing", BillingEvent.CARD_ACTIVATED): Rule(A.BILLING_DETAILS_CHANGED, card("Card made the active card")),
    ("billing", BillingEvent.CARD_DELETED): Rule(A.BILLING_DETAILS_CHANGED, card("Card deleted")),
    ("billing", BillingEvent.PAYMENT_FAILED): Rule(A.PAYMENT, payment_failed),
    ("notify", NotifyEvent.MAIL_SENT): Rule(A.NOTIFICATION, mail("sent", AuditStatus.COMPLETED)),
    ("notify", NotifyEvent.MAIL_FAILED): Rule(A.NOTIFICATION, mail("could not be delivered", AuditStatus.FAILED)),
    ("notify", NotifyEvent.RECIPIENT_ADDED): Rule(A.NOTIFICATION, notification_change("recipient added", "email")),
    ("notify", NotifyEvent.RECIPIENT_CHANGED): Rule(A.NOTIFICATION, notification_change("recipient changed", "email")),
    ("notify", NotifyEvent.RECIPIENT_REMOVED): Rule(A.NOTIFICATION, notification_change("recipient removed", "email")),
    ("notify", NotifyEvent.NOTIFICATION_SETTINGS_CHANGED): Rule(A.NOTIFICATION,
                                                                notification_change("report settings changed")),
    ("notify", NotifyEvent.INTEGRATION_ENABLED): Rule(A.SETTINGS_CHANGED,
                                                      notification_change("integration enabled", "integration")),
    ("notify", NotifyEvent.INTEGRATION_DISABLED): Rule(A.SETTINGS_CHANGED,
                                                       notification_change("integration disabled", "integration")),
    ("notify", NotifyEvent.INTEGRATION_CHANGED): Rule(A.SETTINGS_CHANGED,
                                                      notification_change("integration changed", "integration")),
    ("notify", NotifyEvent.ENDPOINT_DISABLED): Rule(A.SETTINGS_CHANGED,
                                                    notification_change("webhook endpoint disabled", "reason")),
    # Recorded by the audit service itself, not received.
    ("audit", AuditEvent.AUDIT_EXPORTED): Rule(A.NOTIFICATION, exported),
    ("audit", AuditEvent.AUDIT_PURGED): Rule(A.RETENTION, purged),
}
SUBSCRIPTIONS = tuple(key for key in AUDITED if key[0] != "audit")

TREE_EVENTS: dict[tuple[str, str], tuple[str, str, str | None]] = {
    # (source, type) → (payload key of the new tenant, of its parent, its kind or None: payload "kind")
    ("tenancy", TenancyEvent.TENANT_CREATED): ("tenant_id", "parent_id", None),
    ("tenancy", TenancyEvent.PARTNER_CREATED): ("partner_id", "parent_id", "partner"),
    ("tenancy", TenancyEvent.ACCOUNT_CREATED): ("account_id", "owner_id", "account"),
}
RENAMING_EVENTS = {("tenancy", TenancyEvent.PARTNER_UPDATED), ("tenancy", TenancyEvent.SETTINGS_CHANGED)}


def trail_of(envelope: EventEnvelope) -> uuid.UUID:
    """Whose trail an event joins: its tenant; an event of no tenant (an unknown email's failed
    sign-in) joins the operators' trail, the root's."""
    return envelope.tenant_id or OPERATOR_TENANT_ID


def _announced_twice(envelope: EventEnvelope) -> bool:
    """Tenancy announces a new partner or account twice: ``tenant_created`` (the tree) and
    ``partner_created``/``account_created`` (the fact). The trail records the fact once."""
    return (envelope.source, envelope.type) == ("tenancy", TenancyEvent.TENANT_CREATED) and \
        envelope.payload.get("kind") in ("partner", "account")


def map_event(envelope: EventEnvelope) -> AuditFields | None:
    """The entry an event makes, or None when the trail does not record this event type."""
    rule = AUDITED.get((envelope.source, envelope.type))
    if rule is None or _announced_twice(envelope):
        return None
    payload = envelope.payload
    activity, describe = rule.activity, rule.describe
    try:
        if rule.when is not None and rule.otherwise is not None and rule.when(envelope, payload):
            activity, describe = rule.otherwise
        draft = describe(envelope, payload)
    except Exception:  # a payload of an unexpected shape: still an entry, never a lost event
        draft = Draft(f"{words(envelope.type).capitalize()} (details unreadable)")
    return entry_fields(envelope, activity, draft)


def entry_fields(envelope: EventEnvelope, activity: Activity, draft: Draft) -> AuditFields:
    actor = envelope.actor
    return AuditFields(
        event_id=envelope.event_id, tenant_id=trail_of(envelope), occurred_at=envelope.occurred_at,
        activity=activity, status=draft.status, description=draft.description,
        source=envelope.source, event_type=envelope.type, correlation_id=envelope.correlation_id,
        account_id=draft.account_id, account_name=draft.account_name,
        # The performer: the signed-in actor, else whom the event names (a sign-in has no actor yet).
        performed_by=actor.email or draft.performed_by, actor_user_id=actor.user_id,
        ip=actor.ip, user_agent=actor.user_agent,
    ).fitted()


def tenant_node(envelope: EventEnvelope) -> TenantNode | None:
    """The new tenant announced by one of tenancy's creation events, else None."""
    keys = TREE_EVENTS.get((envelope.source, envelope.type))
    if keys is None:
        return None
    id_key, parent_key, kind = keys
    payload = envelope.payload
    tenant_id = an_id(payload, id_key)
    if tenant_id is None:
        return None
    name = text(payload, "name")
    return TenantNode(tenant_id, an_id(payload, parent_key), kind or text(payload, "kind") or "tenant",
                      name[:200] if name else None)


def tenant_renamed(envelope: EventEnvelope) -> tuple[uuid.UUID, str, str] | None:
    """(tenant, new name, kind) when a profile change carries the new name."""
    if (envelope.source, envelope.type) not in RENAMING_EVENTS or not is_rename(envelope, envelope.payload):
        return None
    tenant_id, name = an_id(envelope.payload, "tenant_id"), text(envelope.payload, "name")
    kind = text(envelope.payload, "kind") or "tenant"
    return (tenant_id, name[:200], kind) if tenant_id and name else None
