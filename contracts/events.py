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
    USER_CREATED = "user_created"
    USER_UPDATED = "user_updated"
    USER_DELETED = "user_deleted"
    EMAIL_CONFIRMED = "email_confirmed"
    CONFIRMATION_SENT = "confirmation_sent"
    PERMISSIONS_CHANGED = "permissions_changed"
    PASSWORD_CHANGED = "password_changed"
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    RECOVERY_CODE_USED = "recovery_code_used"
    IP_RESTRICTIONS_CHANGED = "ip_restrictions_changed"
    PASSWORD_POLICY_CHANGED = "password_policy_changed"
    ACCOUNT_ACCESSED = "account_accessed"
    ENGINE_KEY_CREATED = "engine_key_created"


class TenancyEvent(StrEnum):
    TENANT_CREATED = "tenant_created"


class NotifyEvent(StrEnum):
    MAIL_SENT = "mail_sent"
    MAIL_FAILED = "mail_failed"


SERVICES = ("identity", "tenancy", "billing", "audit", "notify")
