"""The plan of recording backup runs (domain/run_recording.py): pure, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts.tenancy import AccountStatus, BackupRunReport, BackupRunsRecorded, BackupStatus, Plan, RunStatus
from services.tenancy.domain.account_lifecycle import Lifecycle, Subscription
from services.tenancy.domain.rollups import AccountRollup, LatestRun
from services.tenancy.domain.run_recording import (
    AccountTotals,
    TaskRuns,
    plan_new_runs,
    split_batch,
    unknown_task_rejections,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
OWNER = uuid.UUID(int=1)
ACCOUNT = uuid.UUID(int=2)
TASK = uuid.UUID(int=3)
OTHER_TASK = uuid.UUID(int=4)
SUBSCRIBED = Subscription(Lifecycle.SUBSCRIBED, plan=Plan.MONTHLY, subscribed_at=NOW - timedelta(days=30))


def report(task: uuid.UUID = TASK, status: RunStatus = RunStatus.SUCCESS, hours_ago: int = 1,
           size: int = 100, seats: int = 1, run_id: uuid.UUID | None = None) -> BackupRunReport:
    finished = NOW - timedelta(hours=hours_ago)
    return BackupRunReport(run_id=run_id or uuid.uuid4(), task_id=task, status=status,
                           started_at=finished - timedelta(minutes=5), finished_at=finished,
                           size_bytes=size, seats=seats)


def task(latest: LatestRun | None = None, runs: int = 0, task_id: uuid.UUID = TASK) -> TaskRuns:
    return TaskRuns(task_id, ACCOUNT, runs, latest)


def account(rollup: AccountRollup) -> AccountTotals:
    return AccountTotals(ACCOUNT, OWNER, rollup, SUBSCRIBED, rollup.backup_status)


def latest_of(run: BackupRunReport) -> LatestRun:
    return LatestRun(run.run_id, run.status, run.finished_at, run.size_bytes, run.seats)


def test_a_run_reported_twice_in_one_batch_is_kept_once() -> None:
    first = report()
    batch = split_batch([first, first.model_copy(), report()])
    assert [index for index, _ in batch.unique] == [0, 2]
    assert batch.repeated == 1


def test_a_run_of_an_unknown_task_is_refused_alone() -> None:
    batch = split_batch([report(), report(task=OTHER_TASK)])
    rejected = unknown_task_rejections(batch, {TASK})
    assert [(r.index, r.task_id, r.code) for r in rejected] == [(1, OTHER_TASK, "not_found")]


def test_the_first_run_of_a_task_sets_its_latest_run_and_the_rollups() -> None:
    run = report(size=500, seats=3)
    plan = plan_new_runs([run], {TASK: task()}, {ACCOUNT: account(AccountRollup(tasks=1))}, NOW)
    [changed] = plan.tasks
    assert changed.runs == 1 and changed.latest == latest_of(run)
    assert changed.last_started_at == run.started_at
    [rolled] = plan.accounts
    assert rolled.rollup == AccountRollup(size_bytes=500, seats=3, tasks=1, success=1)
    assert rolled.backup_status is BackupStatus.SUCCESSFUL
    delta = plan.owner_deltas[OWNER]
    assert (delta.size_bytes, delta.seats) == (500, 3)
    assert delta.backup[BackupStatus.SUCCESSFUL] == 1 and delta.backup[BackupStatus.NO_BACKUP] == -1


def test_an_older_run_is_history_it_counts_but_changes_no_rollup() -> None:
    newer = report(hours_ago=1, size=900)
    plan = plan_new_runs([report(hours_ago=5, size=10)],
                         {TASK: task(latest_of(newer), runs=4)},
                         {ACCOUNT: account(AccountRollup(size_bytes=900, seats=1, tasks=1, success=1))}, NOW)
    [changed] = plan.tasks
    assert changed.runs == 5 and changed.latest == latest_of(newer)
    assert plan.accounts == [] and plan.owner_deltas == {} and plan.status_changes == []
    assert plan.recorded is not None and [r.latest for r in plan.recorded.runs] == [False]


def test_the_newest_of_several_new_runs_becomes_the_latest() -> None:
    runs = [report(hours_ago=3, size=1), report(hours_ago=1, size=3), report(hours_ago=2, size=2)]
    plan = plan_new_runs(runs, {TASK: task()}, {ACCOUNT: account(AccountRollup(tasks=1))}, NOW)
    assert plan.tasks[0].latest == latest_of(runs[1])
    assert plan.accounts[0].rollup.size_bytes == 3
    assert plan.recorded is not None
    assert [r.latest for r in plan.recorded.runs] == [False, True, False]


def test_a_failure_after_a_success_moves_the_account_and_announces_it() -> None:
    success = report(hours_ago=5)
    failure = report(status=RunStatus.FAILURE, hours_ago=1, size=100)
    before = AccountRollup(size_bytes=100, seats=1, tasks=1, success=1)
    plan = plan_new_runs([failure], {TASK: task(latest_of(success), runs=1)}, {ACCOUNT: account(before)}, NOW)
    assert plan.accounts[0].rollup == AccountRollup(size_bytes=100, seats=1, tasks=1, failure=1)
    [(payload, owner)] = plan.status_changes
    assert owner == OWNER
    assert payload["previous_backup_status"] == BackupStatus.SUCCESSFUL.value
    assert payload["backup_status"] == BackupStatus.FAILED.value
    assert payload["account_status"] == payload["previous_account_status"] == AccountStatus.MONTHLY_SUBSCRIBED.value
    delta = plan.owner_deltas[OWNER]
    assert delta.backup[BackupStatus.FAILED] == 1 and delta.backup[BackupStatus.SUCCESSFUL] == -1


def test_two_tasks_of_one_account_make_one_account_change() -> None:
    tasks = {TASK: task(), OTHER_TASK: task(task_id=OTHER_TASK)}
    plan = plan_new_runs([report(size=10), report(task=OTHER_TASK, status=RunStatus.PARTIAL, size=20)],
                         tasks, {ACCOUNT: account(AccountRollup(tasks=2))}, NOW)
    assert [t.id for t in plan.tasks] == sorted([TASK, OTHER_TASK])
    [rolled] = plan.accounts
    assert rolled.rollup == AccountRollup(size_bytes=30, seats=2, tasks=2, success=1, partial=1)
    assert rolled.backup_status is BackupStatus.PARTIALLY_FAILED
    assert len(plan.status_changes) == 1


def test_a_batch_with_nothing_new_plans_nothing() -> None:
    plan = plan_new_runs([], {TASK: task()}, {ACCOUNT: account(AccountRollup(tasks=1))}, NOW)
    assert plan.tasks == [] and plan.accounts == [] and plan.recorded is None and plan.owner_deltas == {}


def test_the_announcement_built_without_validation_is_what_validation_would_make() -> None:
    older, newest = report(hours_ago=3, status=RunStatus.FAILURE), report(hours_ago=1, size=7, seats=2)
    plan = plan_new_runs([older, newest], {TASK: task()}, {ACCOUNT: account(AccountRollup(tasks=1))}, NOW)
    assert plan.recorded is not None
    wire = plan.recorded.to_wire()
    assert BackupRunsRecorded.from_wire(wire).to_wire() == wire
    assert wire["runs"][1] == {
        "run_id": str(newest.run_id), "task_id": str(TASK), "account_id": str(ACCOUNT), "owner_id": str(OWNER),
        "status": "success", "started_at": newest.started_at.isoformat().replace("+00:00", "Z"),
        "finished_at": newest.finished_at.isoformat().replace("+00:00", "Z"), "size_bytes": 7, "seats": 2,
        "latest": True,
    }
