"""What a new or edited user is given: the email's shape, the role and permissions as stored,
the accounts an administrator may grant, the first password, and the rule that a tenant keeps
an administrator. Pure domain code: the use cases read and write the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.errors import Conflict, ValidationFailed
from services.identity.domain.password_rules import check_password
from services.identity.domain.permissions import CredentialType, Role, validate_permissions

EVERY_ACCOUNT = "all"  # on the wire; stored as NULL


def normalised_email(email: str) -> str:
    """The form emails are compared in: a user's email is unique in any letter case."""
    return email.strip().lower()


def checked_email(email: str) -> str:
    """``email`` without surrounding blanks, when it looks like an address (something@something)."""
    email = email.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ValidationFailed.for_field("email", "is not an email address")
    return email


def email_taken_conflict() -> Conflict:
    return Conflict("a user with this email already exists",
                    {"fields": [{"field": "email", "reason": "already in use"}]})


def accessible_accounts(value: Any) -> list[str] | None:
    """The accounts a user may reach as stored: None for every account ("all"), otherwise
    the distinct ids, sorted."""
    return None if value == EVERY_ACCOUNT or value is None else sorted({str(a) for a in value})


def grantable_accounts(own: Sequence[str] | None, wanted: list[str] | None) -> list[str] | None:
    """What an administrator reaching ``own`` accounts (None: every one) may grant: ``wanted``.

    An administrator limited to some accounts grants at most those accounts: never "all",
    never one it cannot see itself (it would otherwise widen its own reach through a user it
    makes, or by editing itself).
    """
    if own is None:
        return wanted
    if wanted is None or not set(wanted) <= set(own):
        raise ValidationFailed.for_field("accessible_accounts", "may name only accounts you can access yourself")
    return wanted


def stored_permissions(role: Role, requested: Iterable[str], tenant_kind: str | None) -> list[str]:
    """The permission ids kept on a user's row: a custom user's, validated and sorted; none
    for an administrator (who holds every permission by its role)."""
    granted = validate_permissions(role, requested, tenant_kind)
    return sorted(granted) if role is Role.CUSTOM else []


def first_password(password: str | None, credential_type: str, email: str) -> str | None:
    """The password a new user is created with, once acceptable; None when none is given
    (the confirmation mail lets the user choose one). Only a password user has one."""
    if not password:
        return None
    if credential_type != CredentialType.PASSWORD:
        raise ValidationFailed.for_field("password", f"a {credential_type} user signs in without one")
    check_password(password, "password", user_inputs=[email])
    return password


def gives_up_administration(current_role: str, new_role: Role) -> bool:
    """Whether an administrator becomes a custom user (refused for the tenant's last one)."""
    return current_role == Role.ADMINISTRATOR and new_role is Role.CUSTOM


def last_administrator(field: str | None = None) -> Conflict:
    if field is None:
        return Conflict("a tenant keeps at least one administrator")
    return Conflict("a tenant keeps at least one administrator",
                    {"fields": [{"field": field, "reason": "last administrator"}]})


@dataclass(frozen=True)
class Access:
    """What a user may do and reach, as stored on its row."""

    role: str
    permissions: list[str]
    accessible_accounts: list[str] | None

    def key(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """Equal for two accesses that grant the same (no permissions, no list of accounts)."""
        return self.role, tuple(self.permissions or []), tuple(self.accessible_accounts or [EVERY_ACCOUNT])


def edited_access(
    current: Access,
    tenant_kind: str | None,
    role: Role | None,
    permissions: list[str] | None,
    accounts: Any,
    granter_accounts: Sequence[str] | None,
) -> Access:
    """A user's access after an edit asking for ``role``, ``permissions`` and ``accounts``
    (None: unchanged), made by an administrator reaching ``granter_accounts``.

    Asking for a role or for permissions validates the two together: the permissions asked
    for (or else the ones held) must suit the role and the tenant's kind.
    """
    new_role = role or Role(current.role)
    kept = current.permissions
    if permissions is not None or role is not None:
        kept = stored_permissions(new_role, permissions if permissions is not None else current.permissions or [],
                                  tenant_kind)
    reach = current.accessible_accounts
    if accounts is not None:
        reach = grantable_accounts(granter_accounts, accessible_accounts(accounts))
    return Access(role=new_role.value, permissions=kept, accessible_accounts=reach)
