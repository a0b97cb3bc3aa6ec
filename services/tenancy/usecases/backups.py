"""Backup tasks, and the runs the backup engine reports.

Ingesting a batch of runs, in one transaction (the decisions are domain/run_recording.py's,
the SQL adapters/run_store.py's):

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
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from contracts.errors import Conflict, NotFound, ValidationFailed
from contracts.events import TenancyEvent
from contracts.tenancy import (
    BackupRunReport,
    BackupService,
    BackupTaskChanged,
    BackupTaskRequest,
    BackupTaskView,
    IngestReply,
    TaskState,
)
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.tenancy.adapters.models import Account, BackupTask
from services.tenancy.adapters.rows import apply_owner_deltas, rollup_of, write_rollup
from services.tenancy.adapters.run_store import RunStore
from services.tenancy.adapters.views import task_view
from services.tenancy.domain.account_lifecycle import Lifecycle
from services.tenancy.domain.engine_messages import engine_runs
from services.tenancy.domain.rollups import owner_delta
from services.tenancy.domain.run_recording import plan_new_runs, split_batch, unknown_task_rejections
from services.tenancy.domain.task_states import next_state
from services.tenancy.usecases.access import ADD_ACCOUNTS, authorise, require_ingest, visible_account

log = get_logger(__name__)


def _utc(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _task_changed(uow: UnitOfWork, task: BackupTask, owner_id: uuid.UUID,
                  change: Literal["added", "activated", "paused"]) -> None:
    uow.emit(
        TenancyEvent.BACKUP_TASK_CHANGED,
        BackupTaskChanged(task_id=task.id, account_id=task.account_id, service=BackupService(task.service),
                          name=task.name, state=TaskState(task.state), change=change).to_wire(),
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


def record_runs(uow: UnitOfWork, reports: list[BackupRunReport], now: datetime | None = None) -> IngestReply:
    """Record a batch of runs (whoever may report them has been checked). Commits.

    Load (locked) → plan (pure, domain/run_recording.py) → write (adapters/run_store.py) →
    announce → commit.
    """
    now = _utc(now)
    store = RunStore(uow.session)
    batch = split_batch(reports)
    tasks = store.lock_tasks({report.task_id for _, report in batch.unique})
    accounts = store.lock_accounts({task.account_id for task in tasks.values()})
    rejected = unknown_task_rejections(batch, set(tasks))
    known = [report for _, report in batch.unique if report.task_id in tasks]
    inserted = store.insert_new(known, now)
    plan = plan_new_runs([report for report in known if report.run_id in inserted], tasks, accounts, now)
    store.apply(plan)
    uow.emit_many(TenancyEvent.ACCOUNT_STATUS_CHANGED, plan.status_changes)
    if plan.recorded is not None:
        # One event for the batch (a batch may span owners and distributors: no tenant).
        uow.emit(TenancyEvent.BACKUP_RUNS_RECORDED, plan.recorded.to_wire())
    uow.commit()
    duplicates = batch.repeated + len(known) - len(inserted)
    return IngestReply(accepted=len(inserted), duplicates=duplicates, rejected=rejected)


def record_engine_message(uow: UnitOfWork, body: Any) -> IngestReply | None:
    """Runs published by the backup engine; idempotent on run_id like the RPC.

    A malformed message never becomes valid: it is dropped (acknowledged) with a log line
    saying why. A failure (the database away) raises: the kit's handler retries it with a
    growing pause and parks it in the dead-letter queue after its delivery limit.
    """
    try:
        reports = engine_runs(body)
    except ValidationFailed as refused:
        log.warning("engine runs message refused", error=refused.message)
        return None
    return record_runs(uow, reports)


def ingest_runs(uow: UnitOfWork, ctx: CallContext, reports: list[BackupRunReport],
                now: datetime | None = None) -> IngestReply:
    require_ingest(uow, ctx)
    return record_runs(uow, reports, now)
