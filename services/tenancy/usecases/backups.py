"""Backup tasks, and the runs the backup engine reports.

Ingesting a batch of runs, in one transaction:

1. runs with a run id seen before (in this batch or ever) are duplicates: ignored;
2. runs of an unknown task are rejected one by one (the rest of the batch goes on);
3. the new runs are inserted (``ON CONFLICT DO NOTHING``: the database decides what is new,
   also when two instances ingest the same run at once);
4. per task, the newest new run replaces the task's latest run only if it is newer
   (out-of-order safe); the account's roll-up changes by the difference, and the owner's
   roll-up by the account's difference — nothing rescans runs.

Locks are taken in the suite's order: tasks, accounts, owner roll-ups, each by id.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from contracts.errors import Conflict, NotFound
from contracts.events import TenancyEvent
from contracts.tenancy import (
    BackupRunRecorded,
    BackupRunReport,
    BackupRunsRecorded,
    BackupTaskChanged,
    BackupTaskRequest,
    BackupTaskView,
    IngestRejection,
    IngestReply,
    TaskState,
)
from servicekit.bulk import update_rows
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.models import Account, BackupRun, BackupTask
from services.tenancy.adapters.rows import apply_owner_deltas, latest_of, rollup_of, subscription_of, write_rollup
from services.tenancy.adapters.views import task_view
from services.tenancy.domain.account_lifecycle import Lifecycle
from services.tenancy.domain.rollups import AccountRollup, LatestRun, OwnerDelta, is_newer, newest, owner_delta
from services.tenancy.domain.task_states import next_state
from services.tenancy.usecases.access import ADD_ACCOUNTS, authorise, require_ingest, visible_account
from services.tenancy.usecases.accounts import shown_statuses, status_change

_TASKS: sa.Table = BackupTask.__table__  # type: ignore[assignment]
_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[assignment]


def _utc(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _task_changed(uow: UnitOfWork, task: BackupTask, owner_id: uuid.UUID, change: str) -> None:
    uow.emit(
        TenancyEvent.BACKUP_TASK_CHANGED,
        BackupTaskChanged(task_id=task.id, account_id=task.account_id, service=task.service,  # type: ignore[arg-type]
                          name=task.name, state=task.state, change=change).to_wire(),  # type: ignore[arg-type]
        tenant_id=owner_id,
    )


# ---- tasks ----------------------------------------------------------------------------------------------------


def add_backup_task(uow: UnitOfWork, ctx: CallContext, account_id: uuid.UUID, request: BackupTaskRequest,
                    now: datetime | None = None) -> BackupTaskView:
    now = _utc(now)
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    _, account = visible_account(uow, scope, account_id)
    session = uow.session
    account = session.execute(
        sa.select(Account).where(Account.id == account.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    if account.status == Lifecycle.REMOVED.value:
        raise Conflict("the account is removed")
    task = BackupTask(id=uuid.uuid4(), account_id=account.id, service=request.service.value, name=request.name,
                      state=TaskState.INACTIVE.value, created_at=now, runs=0, last_size_bytes=0, last_seats=0)
    session.add(task)
    before = rollup_of(account)
    after = before.with_task_added()
    write_rollup(account, after)
    apply_owner_deltas(session, {account.owner_id: owner_delta(before, after)})
    _task_changed(uow, task, account.owner_id, "added")
    uow.commit()
    return task_view(task)


def set_task_state(uow: UnitOfWork, ctx: CallContext, account_id: uuid.UUID, task_id: uuid.UUID, wanted: TaskState,
                   now: datetime | None = None) -> BackupTaskView:
    """Activate or pause a task; asking for its current state changes (and announces) nothing."""
    now = _utc(now)
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    _, account = visible_account(uow, scope, account_id)
    task = uow.session.execute(
        sa.select(BackupTask)
        .where(BackupTask.id == task_id, BackupTask.account_id == account.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if task is None:
        raise NotFound("backup task not found")
    state = next_state(TaskState(task.state), wanted)
    if state is not None:
        task.state = state.value
        if state is TaskState.ACTIVE:
            task.activated_at = now
            _task_changed(uow, task, account.owner_id, "activated")
        else:
            task.paused_at = now
            _task_changed(uow, task, account.owner_id, "paused")
    uow.commit()
    return task_view(task)


# ---- runs -------------------------------------------------------------------------------------------------------


@dataclass
class _AccountChange:
    account: SimpleNamespace
    before: AccountRollup
    after: AccountRollup


def _insert_new_runs(session: Session, reports: list[BackupRunReport], now: datetime) -> set[uuid.UUID]:
    """Insert the runs; returns the run ids that were new (the rest were recorded before)."""
    if not reports:
        return set()
    rows = [
        {"run_id": r.run_id, "task_id": r.task_id, "status": r.status.value, "started_at": r.started_at,
         "finished_at": r.finished_at, "size_bytes": r.size_bytes, "seats": r.seats, "recorded_at": now}
        for r in reports
    ]
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = BackupRun.__table__
    # An executemany (one cached statement, sent in batches); rows that already exist return nothing.
    statement = insert(table).on_conflict_do_nothing().returning(table.c.run_id)
    return set(session.execute(statement, rows).scalars())


def _locked(session: Session, table: sa.Table, ids: set[uuid.UUID]) -> dict[uuid.UUID, SimpleNamespace]:
    """The rows with these ids, locked in id order (the suite's lock order), as plain values.

    Plain rows, not ORM objects: a batch writes them back in one statement per table
    (``update_rows``) instead of one UPDATE per object at flush.
    """
    if not ids:
        return {}
    query = sa.select(table).where(table.c.id.in_(sorted(ids))).order_by(table.c.id).with_for_update()
    return {row["id"]: SimpleNamespace(**row) for row in session.execute(query).mappings()}


def _latest(report: BackupRunReport) -> LatestRun:
    return LatestRun(report.run_id, report.status, report.finished_at, report.size_bytes, report.seats)


_TASK_LATEST = ("runs", "last_run_id", "last_status", "last_started_at", "last_finished_at", "last_size_bytes",
                "last_seats")
_ACCOUNT_ROLLUP = ("size_bytes", "seats", "tasks", "tasks_success", "tasks_partial", "tasks_failure", "backup_status")


def record_runs(uow: UnitOfWork, reports: list[BackupRunReport], now: datetime | None = None) -> IngestReply:
    """Record a batch of runs (whoever may report them has been checked). Commits."""
    now = _utc(now)
    session = uow.session
    duplicates = 0
    unique: list[tuple[int, BackupRunReport]] = []
    seen: set[uuid.UUID] = set()
    for index, report in enumerate(reports):
        if report.run_id in seen:
            duplicates += 1
            continue
        seen.add(report.run_id)
        unique.append((index, report))
    tasks = _locked(session, _TASKS, {report.task_id for _, report in unique})
    accounts = _locked(session, _ACCOUNTS, {task.account_id for task in tasks.values()})
    rejected = [
        IngestRejection(index=index, run_id=report.run_id, task_id=report.task_id, code=NotFound.code,
                        message="unknown backup task")
        for index, report in unique if report.task_id not in tasks
    ]
    known = [report for _, report in unique if report.task_id in tasks]
    inserted = _insert_new_runs(session, known, now)
    duplicates += len(known) - len(inserted)
    new_runs = [report for report in known if report.run_id in inserted]

    by_task: dict[uuid.UUID, list[BackupRunReport]] = defaultdict(list)
    for report in new_runs:
        by_task[report.task_id].append(report)
    changes: dict[uuid.UUID, _AccountChange] = {}
    for task_id in sorted(by_task):
        task = tasks[task_id]
        task.runs += len(by_task[task_id])
        current = latest_of(task)  # type: ignore[arg-type]
        candidate = newest([_latest(report) for report in by_task[task_id]])
        if not is_newer(candidate, current):
            continue  # only older runs arrived: history, not state
        report = next(r for r in by_task[task_id] if r.run_id == candidate.run_id)
        task.last_run_id, task.last_status = report.run_id, report.status.value
        task.last_started_at, task.last_finished_at = report.started_at, report.finished_at
        task.last_size_bytes, task.last_seats = report.size_bytes, report.seats
        account = accounts[task.account_id]
        change = changes.get(account.id)
        if change is None:
            before = rollup_of(account)  # type: ignore[arg-type]
            change = changes[account.id] = _AccountChange(account, before, before)
        change.after = change.after.with_latest(current, candidate)

    deltas: dict[uuid.UUID, OwnerDelta] = defaultdict(OwnerDelta)
    changed = []
    for account_id in sorted(changes):
        change = changes[account_id]
        account = change.account
        backup_before = account.backup_status
        write_rollup(account, change.after)  # type: ignore[arg-type]
        deltas[account.owner_id] = deltas[account.owner_id] + owner_delta(change.before, change.after)
        sub = subscription_of(account)  # type: ignore[arg-type]
        payload = status_change(account, shown_statuses(sub, backup_before, now),  # type: ignore[arg-type]
                                shown_statuses(sub, account.backup_status, now))
        if payload is not None:
            changed.append((payload, account.owner_id))
    # One statement per table, in the lock order (tasks, accounts; owners below).
    update_rows(session, _TASKS, [{"id": task_id, **{c: getattr(tasks[task_id], c) for c in _TASK_LATEST}}
                                  for task_id in sorted(by_task)])
    update_rows(session, _ACCOUNTS, [{"id": account_id, **{c: getattr(changes[account_id].account, c)
                                                            for c in _ACCOUNT_ROLLUP}}
                                     for account_id in sorted(changes)])
    uow.emit_many(TenancyEvent.ACCOUNT_STATUS_CHANGED, changed)
    if new_runs:
        # One event for the batch (a batch may span owners and distributors: no tenant).
        uow.emit(TenancyEvent.BACKUP_RUNS_RECORDED, BackupRunsRecorded(runs=[
            BackupRunRecorded(
                run_id=report.run_id, task_id=report.task_id, account_id=tasks[report.task_id].account_id,
                owner_id=accounts[tasks[report.task_id].account_id].owner_id, status=report.status,
                started_at=report.started_at, finished_at=report.finished_at, size_bytes=report.size_bytes,
                seats=report.seats, latest=tasks[report.task_id].last_run_id == report.run_id,
            )
            for report in new_runs
        ]).to_wire())
    # Owner roll-ups last: their row locks, which concurrent batches share most, are held the
    # shortest time.
    apply_owner_deltas(session, deltas)
    uow.commit()
    return IngestReply(accepted=len(new_runs), duplicates=duplicates, rejected=rejected)


def ingest_runs(uow: UnitOfWork, ctx: CallContext, reports: list[BackupRunReport],
                now: datetime | None = None) -> IngestReply:
    require_ingest(uow, ctx)
    return record_runs(uow, reports, now)
