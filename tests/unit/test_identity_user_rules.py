import pytest

from contracts.errors import Conflict, ValidationFailed
from services.identity.domain.permissions import Role
from services.identity.domain.user_rules import (
    Access,
    accessible_accounts,
    checked_email,
    edited_access,
    first_password,
    gives_up_administration,
    grantable_accounts,
    last_administrator,
    normalised_email,
    stored_permissions,
)

A, B, C = "0b0e3c55-0000-4000-8000-00000000000a", "0b0e3c55-0000-4000-8000-00000000000b", "0b0e3c55-0000-4000-8000-00000000000c"


def _field(error: pytest.ExceptionInfo[ValidationFailed]) -> str:
    (entry,) = error.value.details["fields"]
    return str(entry["field"])


def test_an_email_is_kept_without_blanks_and_compared_in_lower_case():
    assert checked_email("  Ann@Example.COM ") == "Ann@Example.COM"
    assert normalised_email("  Ann@Example.COM ") == "ann@example.com"


@pytest.mark.parametrize("email", ["ann.example.com", "@example.com", "ann@", "  ann@  "])
def test_an_email_needs_something_on_both_sides_of_an_at(email):
    with pytest.raises(ValidationFailed) as error:
        checked_email(email)
    assert _field(error) == "email"


def test_all_accounts_are_stored_as_none_and_a_list_as_its_distinct_ids_sorted():
    assert accessible_accounts("all") is None
    assert accessible_accounts(None) is None
    assert accessible_accounts([B, A, B]) == [A, B]


def test_an_administrator_reaching_every_account_grants_anything():
    assert grantable_accounts(None, None) is None
    assert grantable_accounts(None, [A, C]) == [A, C]


def test_an_administrator_limited_to_some_accounts_grants_at_most_those():
    assert grantable_accounts([A, B], [A]) == [A]
    assert grantable_accounts([A, B], [A, B]) == [A, B]
    for wanted in (None, [A, C]):
        with pytest.raises(ValidationFailed) as error:
            grantable_accounts([A, B], wanted)
        assert _field(error) == "accessible_accounts"


def test_only_a_custom_user_keeps_permission_ids_on_its_row():
    assert stored_permissions(Role.CUSTOM, ["view_settings", "view_dashboard", "view_settings"], "distributor") == [
        "view_dashboard", "view_settings"]
    assert stored_permissions(Role.ADMINISTRATOR, ["nonsense"], "partner") == []
    with pytest.raises(ValidationFailed):
        stored_permissions(Role.CUSTOM, ["view_billing"], "partner")


def test_a_first_password_is_only_for_a_password_user_and_must_be_acceptable():
    assert first_password(None, "password", "ann@example.com") is None
    assert first_password("", "password", "ann@example.com") is None
    assert first_password("correct horse battery staple", "password", "ann@example.com") == (
        "correct horse battery staple")
    with pytest.raises(ValidationFailed) as error:
        first_password("correct horse battery staple", "microsoft", "ann@example.com")
    assert error.value.details["fields"][0]["reason"] == "a microsoft user signs in without one"
    with pytest.raises(ValidationFailed):
        first_password("password", "password", "ann@example.com")


def test_only_an_administrator_made_custom_gives_up_administration():
    assert gives_up_administration("administrator", Role.CUSTOM)
    assert not gives_up_administration("administrator", Role.ADMINISTRATOR)
    assert not gives_up_administration("custom", Role.CUSTOM)
    assert not gives_up_administration("custom", Role.ADMINISTRATOR)


def test_the_last_administrator_conflict_names_the_role_when_asked():
    assert isinstance(last_administrator(), Conflict)
    assert last_administrator("role").details == {"fields": [{"field": "role", "reason": "last administrator"}]}


CUSTOM = Access("custom", ["view_dashboard"], [A])


def test_an_edit_asking_nothing_leaves_the_access_as_it_is():
    assert edited_access(CUSTOM, "distributor", None, None, None, None) == CUSTOM


def test_new_permissions_are_validated_for_the_role_and_kept_sorted():
    after = edited_access(CUSTOM, "distributor", None, ["view_settings", "view_billing"], None, None)
    assert after == Access("custom", ["view_billing", "view_settings"], [A])
    with pytest.raises(ValidationFailed):
        edited_access(CUSTOM, "partner", None, ["view_billing"], None, None)


def test_a_role_asked_for_validates_the_permissions_held():
    assert edited_access(CUSTOM, "partner", Role.ADMINISTRATOR, None, None, None) == Access("administrator", [], [A])
    odd = Access("custom", ["view_billing"], None)  # no longer valid for a partner
    assert edited_access(odd, "partner", None, None, None, None) == odd
    with pytest.raises(ValidationFailed):
        edited_access(odd, "partner", Role.CUSTOM, None, None, None)


def test_accounts_asked_for_are_what_the_editor_may_grant():
    assert edited_access(CUSTOM, "partner", None, None, "all", None).accessible_accounts is None
    assert edited_access(CUSTOM, "partner", None, None, [B, A], [A, B]).accessible_accounts == [A, B]
    with pytest.raises(ValidationFailed):
        edited_access(CUSTOM, "partner", None, None, "all", [A])


def test_accesses_granting_the_same_have_the_same_key():
    assert Access("custom", [], None).key() == Access("custom", [], []).key()
    assert Access("custom", ["view_dashboard"], None).key() != Access("custom", [], None).key()
    assert Access("custom", [], [A]).key() != Access("administrator", [], [A]).key()
