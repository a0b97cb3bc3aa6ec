"""Words every side of the wire shares: the kinds of tenant and the permission ids.

They are stored and travel on the wire as these strings; the enums give them one spelling
in the services, the gateway and the console.
"""

from __future__ import annotations

from enum import StrEnum


class TenantKind(StrEnum):
    OPERATOR = "operator"
    DISTRIBUTOR = "distributor"
    PARTNER = "partner"
    ACCOUNT = "account"


class Permission(StrEnum):
    """A custom user's fine-grained rights, in the order the portal lists them."""

    VIEW_SETTINGS = "view_settings"
    VIEW_BILLING = "view_billing"
    VIEW_BILLING_NOTIFICATIONS = "view_billing_notifications"
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_SECURITY_AUDIT = "view_security_audit"
    ADD_ACCOUNTS = "add_accounts"
    SUBSCRIBE_ACCOUNTS = "subscribe_accounts"
    MANAGE_NOTIFICATIONS = "manage_notifications"
    ACCOUNT_VIEW_SETTINGS = "account_view_settings"
    ACCOUNT_VIEW_BILLING = "account_view_billing"
    ACCOUNT_VIEW_SUPPORT = "account_view_support"


class BillingStatus(StrEnum):
    """An account's billing status."""

    NONE = "none"  # a trial, or nothing billed yet
    CURRENT = "current"  # every bill paid
    DUE = "due"  # an unpaid bill, not past its due date
    OVERDUE = "overdue"  # an unpaid bill past its due date (from the day after it)


class RollupStatus(StrEnum):
    """A partner's (or the Direct Accounts') billing status on the dashboard."""

    ON_TRACK = "on_track"  # "All bills on track": nothing is owed
    WITH_EXCEPTIONS = "with_exceptions"  # "With exceptions": money is owed (an account is Due or Overdue)
