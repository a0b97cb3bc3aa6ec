"""The user list's search on a real (SQLite) database: what the administrator types is text.

``%`` and ``_`` are LIKE's wildcards; typed into the search they must match themselves only.
"""

from __future__ import annotations

import pytest

from contracts.identity import CreateUserRequest
from services.identity.usecases import users
from tests.usecases import test_identity_sign_in
from tests.usecases.test_identity_sign_in import ADMIN_EMAIL, SETTINGS, _ctx, caller_for

admin = test_identity_sign_in.admin  # the fixture: the tenant's first administrator


def add_user(identity_db, admin, mailer, email: str, display_name: str | None = None) -> None:
    users.create_user(identity_db.unit_of_work(caller_for(admin)), _ctx(identity_db, admin),
                      CreateUserRequest(email=email, display_name=display_name, permissions=["view_dashboard"]),
                      mailer, SETTINGS)


def searched(identity_db, admin, text: str) -> list[str]:
    page = users.list_users(identity_db.unit_of_work(), _ctx(identity_db, admin), 1, 50, text)
    assert page.total == len(page.items)
    return [user.email for user in page.items]


@pytest.fixture
def people(identity_db, admin, mailer):
    add_user(identity_db, admin, mailer, "ann_lee@harbour.example", "Ann Lee")
    add_user(identity_db, admin, mailer, "annalee@harbour.example", "Anna Lee")
    add_user(identity_db, admin, mailer, "ops@harbour.example", "Ops 100% on call")
    add_user(identity_db, admin, mailer, "backslash@harbour.example", "Back\\slash")


@pytest.mark.parametrize(("text", "expected"), [
    ("%", ["ops@harbour.example"]), ("_", ["ann_lee@harbour.example"]), ("%%", []),
    ("\\", ["backslash@harbour.example"]),
])
def test_a_search_made_only_of_like_wildcards_does_not_match_every_user(identity_db, admin, people, text, expected):
    everyone = users.list_users(identity_db.unit_of_work(), _ctx(identity_db, admin), 1, 50, None)
    assert everyone.total == 5 and ADMIN_EMAIL in [user.email for user in everyone.items]

    assert searched(identity_db, admin, text) == expected


def test_an_underscore_in_the_search_matches_an_underscore_not_any_character(identity_db, admin, people):
    assert searched(identity_db, admin, "n_l") == ["ann_lee@harbour.example"]
    assert searched(identity_db, admin, "100%") == ["ops@harbour.example"]
    assert searched(identity_db, admin, "ANN") == ["ann_lee@harbour.example", "annalee@harbour.example"]


def test_users_sort_by_email_name_and_role(identity_db, admin, people):
    def emails(sort: str) -> list[str]:
        return [u.email for u in users.list_users(identity_db.unit_of_work(), _ctx(identity_db, admin), 1, 50, None,
                                                  sort).items]

    by_email = emails("email")
    assert by_email == sorted(by_email) and emails("-email") == by_email[::-1]
    # Ann Lee, Anna Lee, Back\\slash, (the administrator's name), Ops 100% on call
    assert emails("name") == ["ann_lee@harbour.example", "annalee@harbour.example", "backslash@harbour.example",
                              ADMIN_EMAIL, "ops@harbour.example"]
    assert emails("-name") == emails("name")[::-1]
    assert emails("role")[0] == ADMIN_EMAIL and emails("-role")[-1] == ADMIN_EMAIL  # administrator < custom
