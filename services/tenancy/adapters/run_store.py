"""The store behind recording backup runs: load what the plan needs, write what it decided.

Every read locks its rows in the suite's lock order (tasks, accounts, owner roll-ups, each by
id), and every read or write is one statement per table (``servicekit.bulk``; owners get
``x = x + d``) so a batch of hundreds of runs costs a handful of statements, not one per
row. The plan itself is pure: domain/run_recording.py.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from contracts.tenancy import BackupRunReport, BackupStatus
from servicekit.bulk import any_of, insert_rows, update_rows
from services.tenancy.adapters.models import Account, BackupRun, BackupTask
from services.tenancy.adapters.rows import apply_owner_deltas, latest_of, rollup_of, subscription_of
from services.tenancy.domain.run_recording import AccountTotals, RunPlan, TaskRuns

_TASKS: Any = BackupTask.__table__
_ACCOUNTS: Any = Account.__table__
_RUNS: Any = BackupRun.__table__


class RunStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_tasks(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, TaskRuns]:
        return {row.id: TaskRuns(row.id, row.account_id, row.runs, latest_of(row), row.last_started_at)
                for row in self._locked(_TASKS, ids)}

    def lock_accounts(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, AccountTotals]:
        return {row.id: AccountTotals(row.id, row.owner_id, rollup_of(row), subscription_of(row),
                                     BackupStatus(row.backup_status))
                for row in self._locked(_ACCOUNTS, ids)}

    def insert_new(self, reports: list[BackupRunReport], now: datetime) -> set[uuid.UUID]:
        """Insert the runs; the ids of those that were new (the database decides, also when two
        instances ingest the same run at once: ``ON CONFLICT DO NOTHING``)."""
        if not reports:
            return set()
        rows = [
            {"run_id": r.run_id, "task_id": r.task_id, "status": r.status.value, "started_at": r.started_at,
             "finished_at": r.finished_at, "size_bytes": r.size_bytes, "seats": r.seats, "recorded_at": now}
            for r in reports
        ]
        insert: Any = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        # Rows that already exist return nothing.
        statement = insert(_RUNS).on_conflict_do_nothing().returning(_RUNS.c.run_id)
        return set(insert_rows(self.session, statement, rows).scalars())

    def apply(self, plan: RunPlan) -> None:
        """Write the plan: tasks, then accounts, then owners (the lock order; owner rows, which
        concurrent batches share most, are held the shortest time)."""
        update_rows(self.session, _TASKS, [_task_columns(task) for task in plan.tasks])
        update_rows(self.session, _ACCOUNTS, [_account_columns(account) for account in plan.accounts])
        apply_owner_deltas(self.session, plan.owner_deltas)

    def _locked(self, table: Any, ids: set[uuid.UUID]) -> list[Any]:
        """Plain rows, not ORM objects: the batch writes them back in one statement per table."""
        if not ids:
            return []
        query = sa.select(table).where(any_of(self.session, table.c.id, ids)).order_by(table.c.id).with_for_update()
        return list(self.session.execute(query))


def _task_columns(task: TaskRuns) -> dict[str, Any]:
    latest = task.latest
    assert latest is not None, "a task the plan changed has a latest run"
    return {"id": task.id, "runs": task.runs, "last_run_id": latest.run_id, "last_status": latest.status.value,
            "last_started_at": task.last_started_at, "last_finished_at": latest.finished_at,
            "last_size_bytes": latest.size_bytes, "last_seats": latest.seats}


def _account_columns(account: AccountTotals) -> dict[str, Any]:
    rollup = account.rollup
    return {"id": account.id, "size_bytes": rollup.size_bytes, "seats": rollup.seats, "tasks": rollup.tasks,
            "tasks_success": rollup.success, "tasks_partial": rollup.partial, "tasks_failure": rollup.failure,
            "backup_status": account.backup_status.value}
