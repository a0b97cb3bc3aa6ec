"""Event envelope → the fields of one audit entry. Pure: no nameko, no SQLAlchemy.

``AUDITED`` names every event type the trail records (a member of its publisher's enum,
contracts/events.py) and how: its activity and a function writing the readable description
(domain/descriptions.py). An unreadable payload still makes an entry rather than being lost.
``SUBSCRIPTIONS`` are those the other services publish: the service subscribes to each.

``tenant_node`` and ``tenant_renamed`` read tenancy's events for the tree projection.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from contracts.audit import Activity, AuditStatus
from contracts.context import OPERATOR_TENANT_ID
from contracts.envelope import EventEnvelope
from contracts.events import AuditEvent, BillingEvent, IdentityEvent, NotifyEvent, TenancyEvent, source_of
from contracts.vocabulary import TenantKind
from services.audit.domain.descriptions import (
    Mapper,
    about_user,
    account_accessed,
    account_created,
    account_gone,
    account_subscribed,
    administrator_not_invited,
    an_id,
    billing_details_changed,
    billing_method_chosen,
    card,
    engine_key_created,
    exported,
    ip_restrictions_changed,
    is_rename,
    mail,
    notification_change,
    partner_created,
    password_policy_changed,
    payment_failed,
    permissions_changed,
    profile_changed,
    purged,
    recovery_code_used,
    renamed,
    sign_in_failed,
    signed_in,
    signed_out,
    site_content_changed,
    tenant_created,
    text,
    user_created,
    user_updated,
    words,
)
from services.audit.domain.entries import AuditFields, Draft, Payload, TenantNode


@dataclass(frozen=True)
class Rule:
    activity: Activity
    describe: Mapper
    # An alternative activity and mapper when ``when`` holds (a profile change that renames).
    when: Callable[[EventEnvelope, Payload], bool] | None = None
    otherwise: tuple[Activity, Mapper] | None = None


A = Activity
AUDITED: dict[StrEnum, Rule] = {
    IdentityEvent.SIGNED_IN: Rule(A.SIGN_IN, signed_in),
    IdentityEvent.SIGN_IN_FAILED: Rule(A.SIGN_IN, sign_in_failed),
    IdentityEvent.RECOVERY_CODE_USED: Rule(A.SIGN_IN, recovery_code_used),
    IdentityEvent.SIGNED_OUT: Rule(A.SIGN_OUT, signed_out),
    IdentityEvent.OPERATOR_BOOTSTRAPPED: Rule(A.USER_MANAGEMENT, about_user("Operator account created")),
    IdentityEvent.USER_CREATED: Rule(A.USER_MANAGEMENT, user_created),
    IdentityEvent.ADMINISTRATOR_NOT_INVITED: Rule(A.USER_MANAGEMENT, administrator_not_invited),
    IdentityEvent.USER_UPDATED: Rule(A.USER_MANAGEMENT, user_updated),
    IdentityEvent.USER_DELETED: Rule(A.USER_MANAGEMENT, about_user("User deleted")),
    IdentityEvent.EMAIL_CONFIRMED: Rule(A.USER_MANAGEMENT, about_user("Email address confirmed")),
    IdentityEvent.CONFIRMATION_SENT: Rule(
        A.NOTIFICATION, about_user("Notification: confirmation mail sent to")),
    IdentityEvent.PERMISSIONS_CHANGED: Rule(A.PERMISSIONS_CHANGED, permissions_changed),
    IdentityEvent.PASSWORD_CHANGED: Rule(A.SECURITY_SETTINGS_CHANGED, about_user("Password changed")),
    IdentityEvent.PASSWORD_RESET_REQUESTED: Rule(
        A.NOTIFICATION, about_user("Notification: password reset link sent to")),
    IdentityEvent.PASSWORD_RESET: Rule(
        A.SECURITY_SETTINGS_CHANGED, about_user("Password reset with an emailed link")),
    IdentityEvent.TWO_FACTOR_ENABLED: Rule(
        A.SECURITY_SETTINGS_CHANGED, about_user("Two-factor authentication turned on")),
    IdentityEvent.TWO_FACTOR_DISABLED: Rule(
        A.SECURITY_SETTINGS_CHANGED, about_user("Two-factor authentication turned off")),
    IdentityEvent.IP_RESTRICTIONS_CHANGED: Rule(A.SECURITY_SETTINGS_CHANGED, ip_restrictions_changed),
    IdentityEvent.PASSWORD_POLICY_CHANGED: Rule(A.SECURITY_SETTINGS_CHANGED, password_policy_changed),
    IdentityEvent.ENGINE_KEY_CREATED: Rule(A.SECURITY_SETTINGS_CHANGED, engine_key_created),
    TenancyEvent.ACCOUNT_ACCESSED: Rule(A.ACCOUNT_ACCESSED, account_accessed),
    TenancyEvent.TENANT_CREATED: Rule(A.ACCOUNT_CREATED, tenant_created),
    TenancyEvent.PARTNER_CREATED: Rule(A.ACCOUNT_CREATED, partner_created),
    TenancyEvent.ACCOUNT_CREATED: Rule(A.ACCOUNT_CREATED, account_created),
    TenancyEvent.PARTNER_UPDATED: Rule(
        A.SETTINGS_CHANGED, profile_changed("Partner profile changed"), is_rename, (A.ACCOUNT_RENAMED, renamed)),
    TenancyEvent.SITE_CONTENT_CHANGED: Rule(A.SETTINGS_CHANGED, site_content_changed),
    TenancyEvent.SETTINGS_CHANGED: Rule(
        A.SETTINGS_CHANGED, profile_changed("Account settings changed"), is_rename, (A.ACCOUNT_RENAMED, renamed)),
    TenancyEvent.ACCOUNT_SUBSCRIBED: Rule(A.SUBSCRIBED_TO_PLAN, account_subscribed),
    TenancyEvent.TRIAL_DELETED: Rule(A.TRIAL_CANCELED, account_gone("Trial deleted")),
    TenancyEvent.ACCOUNT_REMOVED: Rule(
        A.ACCOUNT_REMOVED, account_gone("Account removed with all its data")),
    TenancyEvent.TENANT_DELETED: Rule(A.ACCOUNT_REMOVED, account_gone("Deleted")),
    BillingEvent.BILLING_METHOD_CHOSEN: Rule(A.BILLING_DETAILS_CHANGED, billing_method_chosen),
    BillingEvent.BILLING_DETAILS_CHANGED: Rule(A.BILLING_DETAILS_CHANGED, billing_details_changed),
    BillingEvent.CARD_ADDED: Rule(A.BILLING_DETAILS_CHANGED, card("Card added")),
    BillingEvent.CARD_ACTIVATED: Rule(A.BILLING_DETAILS_CHANGED, card("Card made the active card")),
    BillingEvent.CARD_DELETED: Rule(A.BILLING_DETAILS_CHANGED, card("Card deleted")),
    BillingEvent.PAYMENT_FAILED: Rule(A.PAYMENT, payment_failed),
    NotifyEvent.MAIL_SENT: Rule(A.NOTIFICATION, mail("sent", AuditStatus.COMPLETED)),
    NotifyEvent.MAIL_FAILED: Rule(A.NOTIFICATION, mail("could not be delivered", AuditStatus.FAILED)),
    NotifyEvent.RECIPIENT_ADDED: Rule(A.NOTIFICATION, notification_change("recipient added", "email")),
    NotifyEvent.RECIPIENT_CHANGED: Rule(A.NOTIFICATION, notification_change("recipient changed", "email")),
    NotifyEvent.RECIPIENT_REMOVED: Rule(A.NOTIFICATION, notification_change("recipient removed", "email")),
    NotifyEvent.NOTIFICATION_SETTINGS_CHANGED: Rule(A.NOTIFICATION,
                                                                notification_change("report settings changed")),
    NotifyEvent.INTEGRATION_ENABLED: Rule(A.SETTINGS_CHANGED,
                                                      notification_change("integration enabled", "integration")),
    NotifyEvent.INTEGRATION_DISABLED: Rule(A.SETTINGS_CHANGED,
                                                       notification_change("integration disabled", "integration")),
    NotifyEvent.INTEGRATION_CHANGED: Rule(A.SETTINGS_CHANGED,
                                                      notification_change("integration changed", "integration")),
    NotifyEvent.ENDPOINT_DISABLED: Rule(A.SETTINGS_CHANGED,
                                                    notification_change("webhook endpoint disabled", "reason")),
    # Recorded by the audit service itself, not received.
    AuditEvent.AUDIT_EXPORTED: Rule(A.NOTIFICATION, exported),
    AuditEvent.AUDIT_PURGED: Rule(A.RETENTION, purged),
}
SUBSCRIPTIONS: tuple[StrEnum, ...] = tuple(event for event in AUDITED if not isinstance(event, AuditEvent))
# An envelope names its event by routing key: (publisher, type) → the enum member.
BY_ROUTING_KEY: dict[tuple[str, str], StrEnum] = {(source_of(event), event.value): event for event in AUDITED}

TREE_EVENTS: dict[TenancyEvent, tuple[str, str, TenantKind | None]] = {
    # event → (payload key of the new tenant, of its parent, its kind or None: payload "kind")
    TenancyEvent.TENANT_CREATED: ("tenant_id", "parent_id", None),
    TenancyEvent.PARTNER_CREATED: ("partner_id", "parent_id", TenantKind.PARTNER),
    TenancyEvent.ACCOUNT_CREATED: ("account_id", "owner_id", TenantKind.ACCOUNT),
}
RENAMING_EVENTS = {TenancyEvent.PARTNER_UPDATED, TenancyEvent.SETTINGS_CHANGED}


def tenancy_event(envelope: EventEnvelope) -> TenancyEvent | None:
    """The tenancy event an envelope carries, else None."""
    if envelope.source != source_of(TenancyEvent.TENANT_CREATED):
        return None
    try:
        return TenancyEvent(envelope.type)
    except ValueError:
        return None


def trail_of(envelope: EventEnvelope) -> uuid.UUID:
    """Whose trail an event joins: its tenant; an event of no tenant (an unknown email's failed
    sign-in) joins the operators' trail, the root's."""
    return envelope.tenant_id or OPERATOR_TENANT_ID


def _announced_twice(envelope: EventEnvelope) -> bool:
    """Tenancy announces a new partner or account twice: ``tenant_created`` (the tree) and
    ``partner_created``/``account_created`` (the fact). The trail records the fact once."""
    return tenancy_event(envelope) is TenancyEvent.TENANT_CREATED and \
        envelope.payload.get("kind") in (TenantKind.PARTNER, TenantKind.ACCOUNT)


def map_event(envelope: EventEnvelope) -> AuditFields | None:
    """The entry an event makes, or None when the trail does not record this event type."""
    event = BY_ROUTING_KEY.get((envelope.source, envelope.type))
    rule = AUDITED.get(event) if event is not None else None
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
    event = tenancy_event(envelope)
    keys = TREE_EVENTS.get(event) if event is not None else None
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
    if tenancy_event(envelope) not in RENAMING_EVENTS or not is_rename(envelope, envelope.payload):
        return None
    tenant_id, name = an_id(envelope.payload, "tenant_id"), text(envelope.payload, "name")
    kind = text(envelope.payload, "kind") or "tenant"
    return (tenant_id, name[:200], kind) if tenant_id and name else None
