"""Event names: the routing keys on each service's ``<service>.events`` exchange.

The full catalogue with payloads is docs/events.md; a test checks the two agree.
"""

from __future__ import annotations

from enum import StrEnum


class IdentityEvent(StrEnum):
    OPERATOR_BOOTSTRAPPED = "operator_bootstrapped"
    SIGNED_IN = "signed_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGNED_OUT = "signed_out"
    SESSIONS_REVOKED = "sessions_revoked"
    USER_CREATED = "user_created"
    ADMINISTRATOR_NOT_INVITED = "administrator_not_invited"
    USER_UPDATED = "user_updated"
    USER_DELETED = "user_deleted"
    EMAIL_CONFIRMED = "email_confirmed"
    CONFIRMATION_SENT = "confirmation_sent"
    PERMISSIONS_CHANGED = "permissions_changed"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    RECOVERY_CODE_USED = "recovery_code_used"
    IP_RESTRICTIONS_CHANGED = "ip_restrictions_changed"
    PASSWORD_POLICY_CHANGED = "password_policy_changed"
    ENGINE_KEY_CREATED = "engine_key_created"


class TenancyEvent(StrEnum):
    TENANT_CREATED = "tenant_created"
    TENANT_DELETED = "tenant_deleted"
    PARTNER_CREATED = "partner_created"
    PARTNER_UPDATED = "partner_updated"
    SETTINGS_CHANGED = "settings_changed"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_SUBSCRIBED = "account_subscribed"
    TRIAL_EXPIRED = "trial_expired"
    TRIAL_DELETED = "trial_deleted"
    ACCOUNT_REMOVED = "account_removed"
    ACCOUNT_STATUS_CHANGED = "account_status_changed"
    BACKUP_TASK_CHANGED = "backup_task_changed"
    BACKUP_RUNS_RECORDED = "backup_runs_recorded"
    ACCOUNT_ACCESSED = "account_accessed"
    SITE_CONTENT_CHANGED = "site_content_changed"


class BillingEvent(StrEnum):
    BILLING_METHOD_CHOSEN = "billing_method_chosen"
    BILLING_DETAILS_CHANGED = "billing_details_changed"
    CARD_ADDED = "card_added"
    CARD_ACTIVATED = "card_activated"
    CARD_DELETED = "card_deleted"
    INVOICE_ISSUED = "invoice_issued"
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_FAILED = "payment_failed"
    ACCOUNT_BILLING_CHANGED = "account_billing_changed"


class NotifyEvent(StrEnum):
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"
    RECIPIENT_ADDED = "recipient_added"
    RECIPIENT_CHANGED = "recipient_changed"
    RECIPIENT_REMOVED = "recipient_removed"
    NOTIFICATION_SETTINGS_CHANGED = "notification_settings_changed"
    REPORT_SENT = "report_sent"
    INTEGRATION_ENABLED = "integration_enabled"
    INTEGRATION_DISABLED = "integration_disabled"
    INTEGRATION_CHANGED = "integration_changed"
    ENDPOINT_DISABLED = "endpoint_disabled"


class AuditEvent(StrEnum):
    AUDIT_EXPORTED = "audit_exported"
    AUDIT_PURGED = "audit_purged"


class EngineEvent(StrEnum):
    """What the backup engine publishes on its ``engine.events`` exchange (not a portal service)."""

    BACKUP_RUN_COMPLETED = "backup_run_completed"


SERVICES = ("identity", "tenancy", "billing", "audit", "notify")

# The service (the ``<source>.events`` exchange) that publishes each kind of event.
EVENT_SOURCES: dict[type[StrEnum], str] = {
    IdentityEvent: "identity",
    TenancyEvent: "tenancy",
    BillingEvent: "billing",
    NotifyEvent: "notify",
    AuditEvent: "audit",
    EngineEvent: "engine",
}


def source_of(event: StrEnum) -> str:
    """The publisher of ``event``: ``source_of(TenancyEvent.ACCOUNT_CREATED) == "tenancy"``."""
    return EVENT_SOURCES[type(event)]
