"""The readable description of each audited event, and the target account it names.

Payloads are read tolerantly (``dict.get``): a publisher may add fields at any time
(docs/events.md); domain/audited_events.py turns an unreadable one into an entry anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from contracts.audit import AuditStatus
from contracts.envelope import EventEnvelope
from contracts.vocabulary import TenantKind
from services.audit.domain.entries import Draft, Payload
from services.audit.domain.user_agents import browser_name

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
    # Microsoft and Google sign-in (identity's SsoRefusal)
    "provider_error": "the identity provider did not complete the sign-in",
    "state_unknown": "sign-in link not issued by the portal",
    "state_used": "sign-in link already used (replayed)",
    "state_expired": "sign-in link expired",
    "other_browser": "sign-in started in another browser",
    "wrong_issuer": "ID token from another issuer",
    "wrong_audience": "ID token issued for another application",
    "token_expired": "ID token expired",
    "nonce_mismatch": "ID token of another sign-in (nonce)",
    "bad_signature": "ID token not validly signed",
    "invalid_id_token": "ID token unreadable",
    "email_not_verified": "email not verified by the identity provider",
    "unknown_user": "no such user",
    "other_credential_type": "user does not sign in this way",
    "second_factor_expired": "time for the authentication code ran out",
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


TENANT_KINDS: dict[str, str] = {TenantKind.OPERATOR: "operator", TenantKind.DISTRIBUTOR: "distributor",
                                TenantKind.PARTNER: "partner", TenantKind.ACCOUNT: "customer account"}


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


SITE_SECTIONS = {"support_phones": "support phones", "support_emails": "support emails",
                 "support_hours": "support hours", "partner_zone": "Partner Zone", "resources": "Resources"}


def site_content_changed(env: EventEnvelope, p: Payload) -> Draft:
    sections = [SITE_SECTIONS.get(str(name), str(name)) for name in p.get("sections") or []]
    return Draft(f"Site content changed: {', '.join(sections) or 'nothing'}")


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
