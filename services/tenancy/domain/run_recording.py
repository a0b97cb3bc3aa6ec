"""What recording a batch of backup runs changes: a pure plan, no database.

The use case (usecases/backups.py ``record_runs``) loads the tasks and accounts a batch
touches, lets the database say which runs are new, and hands them here. The plan says what
to write, and the store (adapters/run_store.py) writes it in a few set-based statements:

- per task, the count of runs grows by its new runs, and the newest new run replaces the
  task's latest run only if it is newer (out of order is safe: older runs are history);
- an account's roll-up moves by the change of its tasks' latest runs, and its owner's
  roll-up by the account's difference: nothing rescans runs;
- an account whose shown or backup status changed is announced (``account_status_changed``),
  and the batch's new runs are announced once (``backup_runs_recorded``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from contracts.errors import NotFound
from contracts.tenancy import (
    BackupRunRecorded,
    BackupRunReport,
    BackupRunsRecorded,
    BackupStatus,
    IngestRejection,
)
from services.tenancy.domain.account_lifecycle import Subscription, account_status, status_change
from services.tenancy.domain.rollups import AccountRollup, LatestRun, OwnerDelta, is_newer, newest, owner_delta


@dataclass(frozen=True)
class TaskRuns:
    """What the plan needs of a backup task: its run count and its latest run."""

    id: uuid.UUID
    account_id: uuid.UUID
    runs: int
    latest: LatestRun | None
    last_started_at: datetime | None = None


@dataclass(frozen=True)
class AccountTotals:
    """What the plan needs of an account: its owner, roll-up and subscription."""

    id: uuid.UUID
    owner_id: uuid.UUID
    rollup: AccountRollup
    subscription: Subscription
    backup_status: BackupStatus  # as stored: the status an announcement says it changed from


@dataclass(frozen=True)
class Batch:
    """A batch split before anything is written: the first of each run id, and the rest."""

    unique: list[tuple[int, BackupRunReport]]
    repeated: int


@dataclass
class RunPlan:
    tasks: list[TaskRuns] = field(default_factory=list)  # changed tasks, in id order
    accounts: list[AccountTotals] = field(default_factory=list)  # changed accounts, in id order
    owner_deltas: dict[uuid.UUID, OwnerDelta] = field(default_factory=dict)
    status_changes: list[tuple[dict[str, object], uuid.UUID]] = field(default_factory=list)  # (payload, owner)
    recorded: BackupRunsRecorded | None = None


def split_batch(reports: list[BackupRunReport]) -> Batch:
    """Keep the first report of each run id (with its index in the batch); count the repeats."""
    seen: set[uuid.UUID] = set()
    unique: list[tuple[int, BackupRunReport]] = []
    for index, report in enumerate(reports):
        if report.run_id not in seen:
            seen.add(report.run_id)
            unique.append((index, report))
    return Batch(unique, len(reports) - len(unique))


def unknown_task_rejections(batch: Batch, known_tasks: set[uuid.UUID]) -> list[IngestRejection]:
    """A run of a task nobody knows is refused on its own; the rest of the batch goes on."""
    return [
        IngestRejection(index=index, run_id=report.run_id, task_id=report.task_id, code=NotFound.code,
                        message="unknown backup task")
        for index, report in batch.unique if report.task_id not in known_tasks
    ]


def _latest(report: BackupRunReport) -> LatestRun:
    return LatestRun(report.run_id, report.status, report.finished_at, report.size_bytes, report.seats)


def plan_new_runs(new_runs: list[BackupRunReport], tasks: dict[uuid.UUID, TaskRuns],
                  accounts: dict[uuid.UUID, AccountTotals], now: datetime) -> RunPlan:
    """The writes and announcements that recording ``new_runs`` (runs never seen before) makes."""
    by_task: dict[uuid.UUID, list[BackupRunReport]] = defaultdict(list)
    for report in new_runs:
        by_task[report.task_id].append(report)
    plan = RunPlan()
    before: dict[uuid.UUID, AccountRollup] = {}
    after: dict[uuid.UUID, AccountRollup] = {}
    for task_id in sorted(by_task):
        task = tasks[task_id]
        reported = by_task[task_id]
        changed = replace(task, runs=task.runs + len(reported))
        candidate = newest([_latest(report) for report in reported])
        if is_newer(candidate, task.latest):
            started = next(r.started_at for r in reported if r.run_id == candidate.run_id)
            changed = replace(changed, latest=candidate, last_started_at=started)
            if task.account_id not in after:
                before[task.account_id] = after[task.account_id] = accounts[task.account_id].rollup
            after[task.account_id] = after[task.account_id].with_latest(task.latest, candidate)
        # else only older runs arrived: history, not state (the count still grows)
        plan.tasks.append(changed)
        tasks[task_id] = changed

    deltas: dict[uuid.UUID, OwnerDelta] = defaultdict(OwnerDelta)
    for account_id in sorted(after):
        account = accounts[account_id]
        moved = replace(account, rollup=after[account_id], backup_status=after[account_id].backup_status)
        plan.accounts.append(moved)
        accounts[account_id] = moved
        deltas[account.owner_id] = deltas[account.owner_id] + owner_delta(before[account_id], after[account_id])
        shown = account_status(account.subscription, now)
        payload = status_change(account_id, account.owner_id, moved.rollup.size_bytes, moved.rollup.seats,
                                (shown, account.backup_status), (shown, moved.backup_status))
        if payload is not None:
            plan.status_changes.append((payload, account.owner_id))
    plan.owner_deltas = dict(deltas)
    if new_runs:
        # Built, not validated: every value is a validated report's or a stored row's, and
        # validating hundreds of runs again was most of what announcing a batch cost.
        plan.recorded = BackupRunsRecorded.model_construct(runs=[
            BackupRunRecorded.model_construct(
                run_id=report.run_id, task_id=report.task_id, account_id=tasks[report.task_id].account_id,
                owner_id=accounts[tasks[report.task_id].account_id].owner_id, status=report.status,
                started_at=report.started_at, finished_at=report.finished_at, size_bytes=report.size_bytes,
                seats=report.seats, latest=_is_latest(tasks[report.task_id], report),
            )
            for report in new_runs
        ])
    return plan


def _is_latest(task: TaskRuns, report: BackupRunReport) -> bool:
    return task.latest is not None and task.latest.run_id == report.run_id
