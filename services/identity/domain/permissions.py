"""Roles and fine-grained permissions of portal users (docs/product.md). Pure domain code.

An administrator may do everything; a custom user holds a set of permission ids. The ids
are stable snake_case strings: they are stored and travel on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from contracts.errors import ValidationFailed
from contracts.vocabulary import Permission, TenantKind


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    CUSTOM = "custom"


class CredentialType(StrEnum):
    PASSWORD = "password"  # noqa: S105  (a credential type, not a secret)
    MICROSOFT = "microsoft"
    GOOGLE = "google"


# In the order the portal lists them.
PERMISSION_LABELS: dict[str, str] = {
    Permission.VIEW_SETTINGS: "View settings",
    Permission.VIEW_BILLING: "View billing and manage payment",
    Permission.VIEW_BILLING_NOTIFICATIONS: "View billing notifications",
    Permission.VIEW_DASHBOARD: "View dashboard",
    Permission.VIEW_SECURITY_AUDIT: "View security audit",
    Permission.ADD_ACCOUNTS: "Add accounts",
    Permission.SUBSCRIBE_ACCOUNTS: "Subscribe accounts",
    Permission.MANAGE_NOTIFICATIONS: "Manage notifications",
    Permission.ACCOUNT_VIEW_SETTINGS: "View account settings",
    Permission.ACCOUNT_VIEW_BILLING: "View billing",
    Permission.ACCOUNT_VIEW_SUPPORT: "View support",
}

ACCOUNT_PERMISSIONS: frozenset[str] = frozenset(
    {Permission.ACCOUNT_VIEW_SETTINGS, Permission.ACCOUNT_VIEW_BILLING, Permission.ACCOUNT_VIEW_SUPPORT}
)
PORTAL_PERMISSIONS: frozenset[str] = frozenset(PERMISSION_LABELS) - ACCOUNT_PERMISSIONS
ALL_PERMISSIONS: frozenset[str] = PORTAL_PERMISSIONS | ACCOUNT_PERMISSIONS
# Account permissions only make sense to a user who can reach accounts at all.
ACCOUNT_PREREQUISITES: frozenset[str] = frozenset({Permission.VIEW_DASHBOARD, Permission.ADD_ACCOUNTS})

# What does not exist for a user of a tenant kind: only a distributor sees money (billing
# refuses everyone else), and a customer account has no accounts below it to add or subscribe.
MONEY: frozenset[str] = frozenset(
    {Permission.VIEW_BILLING, Permission.VIEW_BILLING_NOTIFICATIONS, Permission.ACCOUNT_VIEW_BILLING}
)
NOT_FOR_KIND: dict[str, frozenset[str]] = {
    TenantKind.PARTNER: MONEY,
    TenantKind.ACCOUNT: MONEY | {Permission.ADD_ACCOUNTS, Permission.SUBSCRIBE_ACCOUNTS},
}
KIND_LABELS: dict[str, str] = {TenantKind.OPERATOR: "the operator", TenantKind.DISTRIBUTOR: "a distributor",
               TenantKind.PARTNER: "a partner", TenantKind.ACCOUNT: "a customer account"}

_SHOWN = 60  # how much of an unknown id a reason quotes


def validate_permissions(
    role: Role | str, permissions: Iterable[str], tenant_kind: str | None = None
) -> frozenset[str]:
    """The permissions a user of ``role`` in a tenant of ``tenant_kind`` gets from the
    requested ``permissions``.

    An administrator gets all of them whatever was asked. For a custom user every id
    must be known and exist for the tenant kind (``NOT_FOR_KIND``), and account
    permissions need "view dashboard" or "add accounts".
    """
    if _role(role) is Role.ADMINISTRATOR:
        return ALL_PERMISSIONS
    granted = frozenset(permissions)
    unknown = sorted(str(permission)[:_SHOWN] for permission in granted - ALL_PERMISSIONS)
    if unknown:
        raise ValidationFailed.for_field("permissions", f"unknown permission '{unknown[0]}'")
    absent = sorted(granted & NOT_FOR_KIND.get(tenant_kind or "", frozenset()))
    if absent:
        raise ValidationFailed.for_field(
            "permissions", f"'{absent[0]}' does not exist for a user of {KIND_LABELS.get(str(tenant_kind))}"
        )
    if granted & ACCOUNT_PERMISSIONS and not granted & ACCOUNT_PREREQUISITES:
        raise ValidationFailed.for_field(
            "permissions",
            f"account permissions need '{Permission.VIEW_DASHBOARD}' or '{Permission.ADD_ACCOUNTS}' to be granted too",
        )
    return granted


def has_permission(role: Role | str, permissions: Iterable[str], needed: str) -> bool:
    """Whether a user of ``role`` holding ``permissions`` may do what ``needed`` guards.

    An unknown role holds nothing. An account permission without its prerequisite does
    not count (``validate_permissions`` refuses to store one; this also holds for old rows).
    """
    if needed not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {needed!r}")  # a typo in the calling code
    try:
        role = _role(role)
    except ValidationFailed:
        return False
    if role is Role.ADMINISTRATOR:
        return True
    held = frozenset(permissions)
    if needed in ACCOUNT_PERMISSIONS and not held & ACCOUNT_PREREQUISITES:
        return False
    return needed in held


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationFailed.for_field(
            "role", f"must be one of {', '.join(member.value for member in Role)}"
        ) from None
