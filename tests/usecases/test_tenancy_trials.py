"""The trial clock at day 14, for each subscription choice, on a controllable clock (SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.tenancy import DistributorCreateRequest, SubscribeTrialsRequest
from services.tenancy.adapters.models import Tenant
from services.tenancy.usecases import accounts, partners, trials
from tests.usecases.tenancy_world import NOW, World, admin_of, build_world, operator

DAY_14 = NOW + timedelta(days=14)


@pytest.fixture
def world(tenancy_db) -> World:
    return build_world(tenancy_db)


def status_of(world: World, account_id, now=DAY_14) -> str:
    uow = world.uow()
    return accounts.get_account(uow, uow.context, account_id, now=now).account_status


def expire(world: World, as_of):
    return trials.expire_trials(world.db.unit_of_work(), as_of)


@pytest.mark.parametrize(
    ("choice", "just_before_day_14", "after_day_14"),
    [
        ("trial_expiring", "trial_expiring", "trial_expired"),
        ("trial_auto_monthly", "trial_expiring", "monthly_subscribed"),
        ("trial_auto_annual", "trial_expiring", "annual_subscribed"),
        ("subscribe_monthly", "monthly_subscribed", "monthly_subscribed"),
        ("subscribe_annual", "annual_subscribed", "annual_subscribed"),
    ],
)
def test_each_subscription_choice_behaves_right_at_day_14(world, choice, just_before_day_14, after_day_14):
    account = world.add_account("Coho", subscription=choice)

    expire(world, DAY_14 - timedelta(seconds=1))
    before = status_of(world, account.id, now=DAY_14 - timedelta(seconds=1))
    expire(world, DAY_14)

    assert before == just_before_day_14
    assert status_of(world, account.id, now=DAY_14 + timedelta(days=1)) == after_day_14


def test_the_clock_reports_what_it_moved_and_announces_each_once(world):
    expiring = world.add_account("Expiring")
    auto = world.add_account("Auto", subscription="trial_auto_annual")
    world.add_account("Later", at=NOW + timedelta(days=5))

    first = expire(world, DAY_14)
    again = expire(world, DAY_14 + timedelta(hours=1))

    assert (first.expired, first.auto_subscribed) == (1, 1)
    assert (again.expired, again.auto_subscribed) == (0, 0)
    assert [e["payload"]["account_id"] for e in world.db.events("trial_expired")] == [str(expiring.id)]
    auto_events = [e for e in world.db.events("account_subscribed") if e["payload"]["reason"] == "auto_subscription"]
    assert [e["payload"]["account_id"] for e in auto_events] == [str(auto.id)]
    assert auto_events[0]["payload"]["subscribed_at"].startswith(DAY_14.date().isoformat())
    changed = world.db.events("account_status_changed")
    assert {(e["payload"]["previous_account_status"], e["payload"]["account_status"]) for e in changed} == {
        ("trial_expiring", "trial_expired"), ("trial_expiring", "annual_subscribed")}


def test_a_clock_that_was_down_catches_up_on_every_missed_trial(world):
    ids = {world.add_account(f"Account {i}", at=NOW + timedelta(days=i)).id for i in range(5)}

    reply = trials.expire_trials(world.db.unit_of_work(), NOW + timedelta(days=30), batch_size=2)

    assert reply.expired == 5
    assert {e["payload"]["account_id"] for e in world.db.events("trial_expired")} == {str(i) for i in ids}


def test_an_expired_trial_can_still_be_subscribed(world):
    account = world.add_account("Late decider")
    expire(world, DAY_14)
    uow = world.uow()

    reply = accounts.subscribe_trials(uow, uow.context, SubscribeTrialsRequest(plan="monthly", scope="all"),
                                      now=DAY_14)

    assert reply.changed == 1
    assert status_of(world, account.id) == "monthly_subscribed"



def test_the_clock_can_be_limited_to_one_distributors_trials(world):
    uow = world.db.unit_of_work(operator())
    other = partners.create_distributor(uow, uow.context, DistributorCreateRequest(
        name="Other", email="o@other.example", country="US", data_center="us-east-1"))
    mine = world.add_account("Mine")
    theirs = world.add_account("Theirs", caller=admin_of(other))
    path = world.db.unit_of_work().session.get(Tenant, world.distributor.id).path

    reply = trials.expire_trials(world.db.unit_of_work(), DAY_14, within=path)

    uow = world.db.unit_of_work(operator())
    assert reply.expired == 1
    assert accounts.get_account(uow, uow.context, mine.id, now=DAY_14).account_status == "trial_expired"
    assert accounts.get_account(uow, uow.context, theirs.id, now=DAY_14).account_status == "trial_expiring"
