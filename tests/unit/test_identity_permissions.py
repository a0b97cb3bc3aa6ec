import pytest

from contracts.errors import ValidationFailed
from services.identity.domain.permissions import (
    ACCOUNT_PERMISSIONS,
    ALL_PERMISSIONS,
    PERMISSION_LABELS,
    PORTAL_PERMISSIONS,
    CredentialType,
    Role,
    has_permission,
    validate_permissions,
)


def _reason(error: pytest.ExceptionInfo[ValidationFailed]) -> tuple[str, str]:
    (entry,) = error.value.details["fields"]
    return entry["field"], entry["reason"]


def test_the_portal_and_account_permissions_of_the_design_are_all_there():
    assert {
        "view_settings",
        "view_billing",
        "view_billing_notifications",
        "view_dashboard",
        "view_security_audit",
        "add_accounts",
        "subscribe_accounts",
        "manage_notifications",
    } == PORTAL_PERMISSIONS
    assert {"account_view_settings", "account_view_billing", "account_view_support"} == ACCOUNT_PERMISSIONS
    assert ALL_PERMISSIONS == PORTAL_PERMISSIONS | ACCOUNT_PERMISSIONS == set(PERMISSION_LABELS)
    assert PERMISSION_LABELS["view_billing"] == "View billing and manage payment"


def test_roles_and_credential_types_are_their_wire_values():
    assert [role.value for role in Role] == ["administrator", "custom"]
    assert [kind.value for kind in CredentialType] == ["password", "microsoft", "google"]


def test_an_administrator_gets_every_permission_whatever_was_asked():
    assert validate_permissions(Role.ADMINISTRATOR, []) == ALL_PERMISSIONS
    assert validate_permissions("administrator", ["nonsense"]) == ALL_PERMISSIONS


def test_a_custom_user_gets_exactly_the_permissions_asked_for():
    assert validate_permissions("custom", ["view_dashboard", "view_billing", "view_dashboard"]) == {
        "view_dashboard",
        "view_billing",
    }
    assert validate_permissions(Role.CUSTOM, []) == frozenset()


def test_an_unknown_permission_is_refused_by_name():
    with pytest.raises(ValidationFailed) as error:
        validate_permissions("custom", ["view_dashboard", "delete_everything"])

    assert _reason(error) == ("permissions", "unknown permission 'delete_everything'")


def test_account_permissions_need_view_dashboard_or_add_accounts():
    with pytest.raises(ValidationFailed) as error:
        validate_permissions("custom", ["account_view_billing", "view_settings"])

    field, reason = _reason(error)
    assert field == "permissions"
    assert "view_dashboard" in reason and "add_accounts" in reason
    assert validate_permissions("custom", ["account_view_billing", "add_accounts"])
    assert validate_permissions("custom", ["account_view_support", "view_dashboard"])


def test_an_unknown_role_is_refused_on_the_role_field():
    with pytest.raises(ValidationFailed) as error:
        validate_permissions("superuser", [])

    assert _reason(error)[0] == "role"


def test_an_administrator_may_do_everything():
    assert all(has_permission("administrator", [], needed) for needed in ALL_PERMISSIONS)


def test_a_custom_user_may_do_what_it_holds_only():
    held = ["view_dashboard", "account_view_settings"]

    assert has_permission(Role.CUSTOM, held, "view_dashboard")
    assert has_permission(Role.CUSTOM, held, "account_view_settings")
    assert not has_permission(Role.CUSTOM, held, "view_security_audit")


def test_an_account_permission_without_its_prerequisite_does_not_count():
    assert not has_permission("custom", ["account_view_billing"], "account_view_billing")


def test_an_unknown_role_holds_nothing():
    assert not has_permission("operator?", list(ALL_PERMISSIONS), "view_dashboard")


def test_asking_for_an_unknown_permission_is_a_programming_error():
    with pytest.raises(ValueError, match="view_dashbaord"):
        has_permission("administrator", [], "view_dashbaord")


@pytest.mark.parametrize(("kind", "permission"), [
    ("account", "view_billing"), ("account", "view_billing_notifications"), ("account", "account_view_billing"),
    ("account", "add_accounts"), ("account", "subscribe_accounts"),
    ("partner", "view_billing"), ("partner", "view_billing_notifications"), ("partner", "account_view_billing"),
])
def test_a_permission_that_does_not_exist_for_the_tenant_kind_is_refused_naming_it(kind, permission):
    with pytest.raises(ValidationFailed) as refused:
        validate_permissions("custom", ["view_dashboard", permission], tenant_kind=kind)
    field, reason = _reason(refused)
    assert field == "permissions" and f"'{permission}'" in reason


def test_each_tenant_kind_keeps_the_permissions_that_exist_for_it():
    assert validate_permissions("custom", ["view_dashboard", "account_view_settings", "account_view_support",
                                           "view_security_audit"], tenant_kind="account")
    assert validate_permissions("custom", ["view_dashboard", "add_accounts", "subscribe_accounts"],
                                tenant_kind="partner")
    assert validate_permissions("custom", sorted(ALL_PERMISSIONS), tenant_kind="distributor") == ALL_PERMISSIONS
    # An administrator holds whatever exists for its tenant; nothing is refused.
    assert validate_permissions("administrator", ["view_billing"], tenant_kind="account") == ALL_PERMISSIONS
