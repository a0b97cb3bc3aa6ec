"""The pickers' account search: every account in the caller's subtree that it may see."""

from __future__ import annotations

import pytest

from contracts.tenancy import AccountSearchQuery
from services.tenancy.usecases import accounts
from tests.usecases.tenancy_world import NOW, World, admin_of, build_world, user_of


@pytest.fixture
def world(tenancy_db) -> World:
    return build_world(tenancy_db)


def search(world: World, caller=None, **query):
    uow = world.uow(caller)
    return accounts.search_accounts(uow, uow.context, AccountSearchQuery(**query), now=NOW)


def test_a_distributor_finds_accounts_of_every_partner_and_its_own_by_name(world):
    harbour, quay = world.add_partner("Harbour MSP"), world.add_partner("Quay MSP")
    world.add_account("Lighthouse Dental", harbour)
    world.add_account("Lighthouse Legal", quay)
    world.add_account("Pier Bakery")  # a direct account

    found = search(world, search="lighthouse")

    assert [(a.name, a.owner_name) for a in found.items] == [("Lighthouse Dental", "Harbour MSP"),
                                                            ("Lighthouse Legal", "Quay MSP")]
    assert search(world).total == 3
    assert [a.name for a in search(world, account_status="trial_started").items] == [
        "Lighthouse Dental", "Lighthouse Legal", "Pier Bakery"]


def test_a_partner_and_a_limited_user_find_only_what_they_see(world):
    harbour, quay = world.add_partner("Harbour MSP"), world.add_partner("Quay MSP")
    dental = world.add_account("Lighthouse Dental", harbour)
    world.add_account("Harbour Hotel", harbour)
    world.add_account("Lighthouse Legal", quay)

    assert [a.name for a in search(world, admin_of(harbour, "partner")).items] == ["Harbour Hotel",
                                                                                  "Lighthouse Dental"]
    limited = user_of(harbour, "view_dashboard", accessible=[dental.id])
    assert [a.name for a in search(world, limited).items] == ["Lighthouse Dental"]
