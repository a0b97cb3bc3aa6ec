"""Backup status and size roll-ups. Pure domain code, applied as deltas.

- A task's state is its **latest run**: the one that finished last (ties broken by
  run id), whatever order runs arrive in. An older run arriving late is history only.
- An account adds up the latest run of each of its tasks: size and seats are sums, and
  how many tasks last ended in success / partial / failure gives its backup status:
  no run yet → no backup; all success → successful; all failure → failed; anything
  else → partially failed.
- An owner (a partner, or a distributor for its direct accounts) adds up its accounts:
  size, seats, tasks, and how many accounts are in each backup status. Its task status:
  no accounts → No Accounts Yet; no tasks → No Tasks Yet; any account failed or
  partially failed → Failures; else Successful.

Nothing here scans runs: every change is "old contribution out, new contribution in".
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from contracts.tenancy import BackupStatus, RunStatus, TaskStatus


@dataclass(frozen=True)
class LatestRun:
    run_id: uuid.UUID
    status: RunStatus
    finished_at: datetime
    size_bytes: int
    seats: int

    def order_key(self) -> tuple[datetime, str]:
        return self.finished_at, str(self.run_id)


def is_newer(candidate: LatestRun, current: LatestRun | None) -> bool:
    return current is None or candidate.order_key() > current.order_key()


def newest(runs: list[LatestRun]) -> LatestRun:
    return max(runs, key=LatestRun.order_key)


@dataclass(frozen=True)
class AccountRollup:
    size_bytes: int = 0
    seats: int = 0
    tasks: int = 0
    success: int = 0
    partial: int = 0
    failure: int = 0

    @property
    def backup_status(self) -> BackupStatus:
        ran = self.success + self.partial + self.failure
        if ran == 0:
            return BackupStatus.NO_BACKUP
        if self.success == ran:
            return BackupStatus.SUCCESSFUL
        if self.failure == ran:
            return BackupStatus.FAILED
        return BackupStatus.PARTIALLY_FAILED

    def _count(self, status: RunStatus, delta: int) -> AccountRollup:
        name = {RunStatus.SUCCESS: "success", RunStatus.PARTIAL: "partial", RunStatus.FAILURE: "failure"}[status]
        return replace(self, **{name: getattr(self, name) + delta})

    def with_latest(self, old: LatestRun | None, new: LatestRun) -> AccountRollup:
        """A task's latest run changed from ``old`` (None: its first run) to ``new``."""
        rollup = self
        if old is not None:
            rollup = rollup._count(old.status, -1)
        rollup = rollup._count(new.status, +1)
        old_size, old_seats = (old.size_bytes, old.seats) if old else (0, 0)
        return replace(
            rollup,
            size_bytes=rollup.size_bytes + new.size_bytes - old_size,
            seats=rollup.seats + new.seats - old_seats,
        )

    def with_task_added(self) -> AccountRollup:
        return replace(self, tasks=self.tasks + 1)


@dataclass(frozen=True)
class OwnerDelta:
    """What one account's change adds to its owner's roll-up."""

    accounts: int = 0
    tasks: int = 0
    size_bytes: int = 0
    seats: int = 0
    backup: Counter[BackupStatus] = field(default_factory=Counter)

    def __bool__(self) -> bool:
        return bool(self.accounts or self.tasks or self.size_bytes or self.seats or any(self.backup.values()))

    def __add__(self, other: OwnerDelta) -> OwnerDelta:
        backup = Counter(self.backup)
        backup.update(other.backup)
        return OwnerDelta(
            self.accounts + other.accounts,
            self.tasks + other.tasks,
            self.size_bytes + other.size_bytes,
            self.seats + other.seats,
            backup,
        )


def owner_delta(before: AccountRollup | None, after: AccountRollup | None) -> OwnerDelta:
    """The owner's change when an account goes from ``before`` to ``after``.

    ``before`` None: the account is new; ``after`` None: it is gone (deleted or removed).
    """
    backup: Counter[BackupStatus] = Counter()
    accounts = tasks = size = seats = 0
    if before is not None:
        accounts -= 1
        tasks -= before.tasks
        size -= before.size_bytes
        seats -= before.seats
        backup[before.backup_status] -= 1
    if after is not None:
        accounts += 1
        tasks += after.tasks
        size += after.size_bytes
        seats += after.seats
        backup[after.backup_status] += 1
    return OwnerDelta(accounts, tasks, size, seats, Counter({k: v for k, v in backup.items() if v}))


@dataclass(frozen=True)
class OwnerTotals:
    accounts: int = 0
    tasks: int = 0
    size_bytes: int = 0
    seats: int = 0
    failed: int = 0
    partially_failed: int = 0


def task_status(totals: OwnerTotals) -> TaskStatus:
    if totals.accounts == 0:
        return TaskStatus.NO_ACCOUNTS_YET
    if totals.tasks == 0:
        return TaskStatus.NO_TASKS_YET
    if totals.failed or totals.partially_failed:
        return TaskStatus.FAILURES
    return TaskStatus.SUCCESSFUL
