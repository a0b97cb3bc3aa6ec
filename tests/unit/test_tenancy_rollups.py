"""Backup status and size roll-ups as deltas: latest run per task, accounts, owners."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts.tenancy import BackupStatus, RunStatus, TaskStatus
from services.tenancy.domain.rollups import (
    AccountRollup,
    LatestRun,
    OwnerDelta,
    OwnerTotals,
    is_newer,
    newest,
    owner_delta,
    task_status,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def run(status: RunStatus = RunStatus.SUCCESS, hours: float = 0, size: int = 100, seats: int = 5) -> LatestRun:
    return LatestRun(uuid.uuid4(), status, T0 + timedelta(hours=hours), size, seats)


def test_the_first_run_of_a_task_is_its_latest():
    assert is_newer(run(), None)


def test_a_run_that_finished_earlier_does_not_replace_the_latest():
    later, earlier = run(hours=5), run(hours=1)

    assert not is_newer(earlier, later)
    assert is_newer(later, earlier)


def test_runs_finishing_at_the_same_moment_are_ordered_by_run_id():
    a, b = run(hours=1), run(hours=1)
    first, second = sorted([a, b], key=lambda r: str(r.run_id))

    assert is_newer(second, first) and not is_newer(first, second)
    assert newest([second, first]) == second


def test_an_account_without_runs_has_no_backup():
    assert AccountRollup(tasks=2).backup_status is BackupStatus.NO_BACKUP


def test_an_account_whose_tasks_all_last_succeeded_is_successful():
    account = AccountRollup().with_latest(None, run()).with_latest(None, run())

    assert account.backup_status is BackupStatus.SUCCESSFUL


def test_an_account_whose_tasks_all_last_failed_is_failed():
    account = AccountRollup().with_latest(None, run(RunStatus.FAILURE))

    assert account.backup_status is BackupStatus.FAILED


def test_mixed_or_partial_latest_runs_make_an_account_partially_failed():
    mixed = AccountRollup().with_latest(None, run()).with_latest(None, run(RunStatus.FAILURE))
    partial = AccountRollup().with_latest(None, run(RunStatus.PARTIAL))

    assert mixed.backup_status is BackupStatus.PARTIALLY_FAILED
    assert partial.backup_status is BackupStatus.PARTIALLY_FAILED


def test_a_newer_run_replaces_the_task_contribution_instead_of_adding_to_it():
    first = run(RunStatus.FAILURE, hours=1, size=100, seats=5)
    second = run(RunStatus.SUCCESS, hours=2, size=300, seats=7)

    account = AccountRollup().with_latest(None, first).with_latest(first, second)

    assert (account.size_bytes, account.seats) == (300, 7)
    assert (account.success, account.failure) == (1, 0)
    assert account.backup_status is BackupStatus.SUCCESSFUL


def test_a_new_account_adds_one_account_without_backup_to_its_owner():
    delta = owner_delta(None, AccountRollup())

    assert delta.accounts == 1
    assert delta.backup == {BackupStatus.NO_BACKUP: 1}


def test_an_account_changing_status_moves_one_count_between_buckets():
    before = AccountRollup(tasks=1)
    after = before.with_latest(None, run(RunStatus.FAILURE, size=50, seats=3))

    delta = owner_delta(before, after)

    assert delta.accounts == 0
    assert (delta.size_bytes, delta.seats) == (50, 3)
    assert delta.backup == {BackupStatus.NO_BACKUP: -1, BackupStatus.FAILED: 1}


def test_a_removed_account_takes_everything_it_contributed_away():
    account = AccountRollup(tasks=1).with_latest(None, run(size=80, seats=2))

    assert owner_delta(None, account) + owner_delta(account, None) == OwnerDelta()
    assert not owner_delta(account, account)


def test_owner_task_status_follows_accounts_tasks_and_failures():
    assert task_status(OwnerTotals()) is TaskStatus.NO_ACCOUNTS_YET
    assert task_status(OwnerTotals(accounts=3)) is TaskStatus.NO_TASKS_YET
    assert task_status(OwnerTotals(accounts=3, tasks=4)) is TaskStatus.SUCCESSFUL
    assert task_status(OwnerTotals(accounts=3, tasks=4, partially_failed=1)) is TaskStatus.FAILURES
    assert task_status(OwnerTotals(accounts=3, tasks=4, failed=1)) is TaskStatus.FAILURES
