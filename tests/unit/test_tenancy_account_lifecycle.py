"""The subscription life of an account, on a clock the tests control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.errors import Conflict, ValidationFailed
from contracts.tenancy import AccountStatus, DefaultSubscription, Plan
from services.tenancy.domain.account_lifecycle import (
    Lifecycle,
    account_status,
    check_deletable,
    end_trial,
    is_due,
    remove,
    start,
    subscribe_trial,
)

DAY0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def day(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


def test_a_trial_lasts_fourteen_days_from_creation():
    trial = start(DefaultSubscription.TRIAL_EXPIRING, DAY0)

    assert trial.status is Lifecycle.TRIAL
    assert trial.trial_started_at == DAY0
    assert trial.trial_ends_at == day(14)
    assert trial.plan is None


def test_a_trial_is_started_until_its_last_three_days_then_expiring():
    trial = start(DefaultSubscription.TRIAL_EXPIRING, DAY0)

    assert account_status(trial, day(0)) is AccountStatus.TRIAL_STARTED
    assert account_status(trial, day(10.9)) is AccountStatus.TRIAL_STARTED
    assert account_status(trial, day(11)) is AccountStatus.TRIAL_EXPIRING
    assert account_status(trial, day(13.9)) is AccountStatus.TRIAL_EXPIRING


def test_a_trial_past_its_end_shows_expiring_until_the_clock_moves_it():
    trial = start(DefaultSubscription.TRIAL_EXPIRING, DAY0)

    assert account_status(trial, day(15)) is AccountStatus.TRIAL_EXPIRING


def test_the_trial_is_due_exactly_at_day_fourteen():
    trial = start(DefaultSubscription.TRIAL_AUTO_MONTHLY, DAY0)

    assert not is_due(trial, day(14) - timedelta(seconds=1))
    assert is_due(trial, day(14))


def test_at_day_fourteen_a_trial_without_auto_subscription_expires():
    ended = end_trial(start(DefaultSubscription.TRIAL_EXPIRING, DAY0), day(14))

    assert ended.status is Lifecycle.TRIAL_EXPIRED
    assert ended.expired_at == day(14)
    assert account_status(ended, day(20)) is AccountStatus.TRIAL_EXPIRED


@pytest.mark.parametrize(
    ("choice", "plan", "shown"),
    [
        (DefaultSubscription.TRIAL_AUTO_MONTHLY, Plan.MONTHLY, AccountStatus.MONTHLY_SUBSCRIBED),
        (DefaultSubscription.TRIAL_AUTO_ANNUAL, Plan.ANNUAL, AccountStatus.ANNUAL_SUBSCRIBED),
    ],
)
def test_at_day_fourteen_an_auto_subscription_trial_subscribes_from_the_trial_end(choice, plan, shown):
    ended = end_trial(start(choice, DAY0), day(16))  # the clock ran late: the plan still starts at day 14

    assert ended.status is Lifecycle.SUBSCRIBED
    assert ended.plan is plan
    assert ended.subscribed_at == day(14)
    assert account_status(ended, day(16)) is shown


def test_a_trial_that_has_not_ended_is_not_moved():
    with pytest.raises(Conflict):
        end_trial(start(DefaultSubscription.TRIAL_EXPIRING, DAY0), day(13))


def test_an_ended_trial_is_not_due_again():
    ended = end_trial(start(DefaultSubscription.TRIAL_EXPIRING, DAY0), day(14))

    assert not is_due(ended, day(100))


@pytest.mark.parametrize(
    ("choice", "plan"),
    [(DefaultSubscription.SUBSCRIBE_MONTHLY, Plan.MONTHLY), (DefaultSubscription.SUBSCRIBE_ANNUAL, Plan.ANNUAL)],
)
def test_auto_subscription_without_trial_subscribes_at_once(choice, plan):
    account = start(choice, DAY0)

    assert account.status is Lifecycle.SUBSCRIBED
    assert account.plan is plan
    assert account.subscribed_at == DAY0
    assert account.trial_ends_at is None
    assert not is_due(account, day(30))


def test_subscribing_changes_running_and_expired_trials():
    running = start(DefaultSubscription.TRIAL_EXPIRING, DAY0)
    expired = end_trial(running, day(14))

    assert subscribe_trial(running, Plan.ANNUAL, day(2)).plan is Plan.ANNUAL
    assert subscribe_trial(expired, Plan.MONTHLY, day(20)).subscribed_at == day(20)


def test_subscribing_a_subscribed_account_is_a_conflict():
    with pytest.raises(Conflict):
        subscribe_trial(start(DefaultSubscription.SUBSCRIBE_MONTHLY, DAY0), Plan.ANNUAL, day(1))


def test_only_trials_may_be_deleted():
    check_deletable(start(DefaultSubscription.TRIAL_EXPIRING, DAY0))
    check_deletable(end_trial(start(DefaultSubscription.TRIAL_EXPIRING, DAY0), day(14)))

    with pytest.raises(Conflict):
        check_deletable(start(DefaultSubscription.SUBSCRIBE_ANNUAL, DAY0))


def test_removal_without_approval_names_the_field():
    with pytest.raises(ValidationFailed) as refused:
        remove(start(DefaultSubscription.SUBSCRIBE_ANNUAL, DAY0), False, day(1))

    assert refused.value.details["fields"][0]["field"] == "approve_data_removal"


def test_removal_with_approval_removes_once():
    removed = remove(start(DefaultSubscription.SUBSCRIBE_ANNUAL, DAY0), True, day(1))

    assert removed.status is Lifecycle.REMOVED
    assert removed.removed_at == day(1)
    assert account_status(removed, day(1)) is AccountStatus.REMOVED
    with pytest.raises(Conflict):
        remove(removed, True, day(2))
