"""Between rows and the pure domain: subscription state, roll-ups, and their SQL forms.

The SQL expressions here mirror the pure rules (``subscriptions.account_status``,
``rollups.task_status``) so that filters and counters run in the database; the use-case
tests check that both agree.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts.billing import BillingStatus
from contracts.tenancy import AccountStatus, BackupStatus, DefaultSubscription, Plan, RunStatus, TaskStatus
from contracts.vocabulary import TenantKind
from servicekit.bulk import add_to_rows
from services.tenancy.adapters.models import Account, BackupTask, OwnerRollup, Tenant
from services.tenancy.domain.account_lifecycle import Lifecycle, Subscription, expiring_from
from services.tenancy.domain.billing_facts import BillingFacts, OwnerBillingDelta
from services.tenancy.domain.rollups import AccountRollup, LatestRun, OwnerDelta
from services.tenancy.domain.tree import path_ids

# ---- subscription state --------------------------------------------------------------------


def subscription_of(account: Account) -> Subscription:
    return Subscription(
        status=Lifecycle(account.status),
        plan=Plan(account.plan) if account.plan else None,
        auto_subscribe=Plan(account.auto_subscribe) if account.auto_subscribe else None,
        trial_started_at=account.trial_started_at,
        trial_ends_at=account.trial_ends_at,
        subscribed_at=account.subscribed_at,
        expired_at=account.expired_at,
        removed_at=account.removed_at,
    )


def subscription_values(sub: Subscription) -> dict[str, Any]:
    """Column values of a subscription state (for a new row, or a conditional UPDATE)."""
    return {
        "status": str(sub.status),
        "plan": str(sub.plan) if sub.plan else None,
        "auto_subscribe": str(sub.auto_subscribe) if sub.auto_subscribe else None,
        "trial_started_at": sub.trial_started_at,
        "trial_ends_at": sub.trial_ends_at,
        "subscribed_at": sub.subscribed_at,
        "expired_at": sub.expired_at,
        "removed_at": sub.removed_at,
    }


def move_subscription(session: Session, account: Account, before: Subscription, after: Subscription) -> bool:
    """Write ``after`` only if the row still holds ``before``'s status: True when this call won.

    Two instances (or a timer and an operator) racing for the same account: exactly one
    update matches, the other changes nothing and announces nothing.
    """
    result = session.execute(
        sa.update(Account)
        .where(Account.id == account.id, Account.status == str(before.status))
        .values(**subscription_values(after))
        .execution_options(synchronize_session=False)
    )
    won = result.rowcount == 1  # type: ignore[attr-defined]
    if won:
        session.expire(account)  # later reads see the new state
    return won


def account_status_conditions(now: datetime) -> dict[AccountStatus, sa.ColumnElement[bool]]:
    """SQL for each shown account status (``subscriptions.account_status``)."""
    threshold = expiring_from(now)
    trial = Account.status == Lifecycle.TRIAL.value
    subscribed = Account.status == Lifecycle.SUBSCRIBED.value
    return {
        AccountStatus.TRIAL_STARTED: sa.and_(trial, Account.trial_ends_at > threshold),
        AccountStatus.TRIAL_EXPIRING: sa.and_(trial, Account.trial_ends_at <= threshold),
        AccountStatus.TRIAL_EXPIRED: Account.status == Lifecycle.TRIAL_EXPIRED.value,
        AccountStatus.MONTHLY_SUBSCRIBED: sa.and_(subscribed, Account.plan == Plan.MONTHLY.value),
        AccountStatus.ANNUAL_SUBSCRIBED: sa.and_(subscribed, Account.plan == Plan.ANNUAL.value),
        AccountStatus.REMOVED: Account.status == Lifecycle.REMOVED.value,
    }


def subscription_choice(value: str | None, fallback: str) -> DefaultSubscription:
    return DefaultSubscription(value or fallback)


# ---- roll-ups ------------------------------------------------------------------------------------


def rollup_of(account: Account) -> AccountRollup:
    return AccountRollup(
        size_bytes=account.size_bytes,
        seats=account.seats,
        tasks=account.tasks,
        success=account.tasks_success,
        partial=account.tasks_partial,
        failure=account.tasks_failure,
    )


def write_rollup(account: Account, rollup: AccountRollup) -> None:
    account.size_bytes = rollup.size_bytes
    account.seats = rollup.seats
    account.tasks = rollup.tasks
    account.tasks_success = rollup.success
    account.tasks_partial = rollup.partial
    account.tasks_failure = rollup.failure
    account.backup_status = rollup.backup_status.value


def latest_of(task: BackupTask) -> LatestRun | None:
    if task.last_run_id is None or task.last_finished_at is None or task.last_status is None:
        return None
    return LatestRun(task.last_run_id, RunStatus(task.last_status), task.last_finished_at,
                     task.last_size_bytes, task.last_seats)


_BACKUP_COLUMNS = {
    BackupStatus.NO_BACKUP: "backup_no_backup",
    BackupStatus.SUCCESSFUL: "backup_successful",
    BackupStatus.PARTIALLY_FAILED: "backup_partially_failed",
    BackupStatus.FAILED: "backup_failed",
}


_OWNER_TABLE: sa.Table = OwnerRollup.__table__  # type: ignore[assignment]


def apply_owner_deltas(session: Session, deltas: dict[uuid.UUID, OwnerDelta]) -> None:
    """Add each delta to its owner's roll-up, in owner id order (a fixed lock order).

    Increments in SQL (``x = x + d``): concurrent changes of one owner never lose an update.
    """
    rows = []
    for owner_id, delta in deltas.items():
        if not delta:
            continue
        row: dict[str, Any] = {"owner_id": owner_id, "accounts": delta.accounts, "tasks": delta.tasks,
                               "size_bytes": delta.size_bytes, "seats": delta.seats}
        for status, column in _BACKUP_COLUMNS.items():
            row[column] = delta.backup.get(status, 0)
        rows.append(row)
    if rows:
        session.flush()  # accounts before owners: the lock order
        add_to_rows(session, _OWNER_TABLE, rows, key="owner_id")


def task_status_case(accounts: Any, tasks: Any, failed: Any, partially_failed: Any) -> sa.ColumnElement[str]:
    """SQL of ``rollups.task_status`` over roll-up columns."""
    return sa.case(
        (accounts == 0, TaskStatus.NO_ACCOUNTS_YET.value),
        (tasks == 0, TaskStatus.NO_TASKS_YET.value),
        ((failed + partially_failed) > 0, TaskStatus.FAILURES.value),
        else_=TaskStatus.SUCCESSFUL.value,
    )


# ---- billing's facts -------------------------------------------------------------------------------


def billing_facts_of(account: Account) -> BillingFacts:
    return BillingFacts(version=account.billing_version, bills=account.billing_bills,
                        amount_due=account.billing_amount_due, currency=account.billing_currency,
                        overdue_from=account.billing_overdue_from)


def write_billing_facts(account: Account, facts: BillingFacts) -> None:
    account.billing_version = facts.version
    account.billing_bills = facts.bills
    account.billing_amount_due = facts.amount_due
    account.billing_currency = facts.currency
    account.billing_overdue_from = facts.overdue_from


def add_to_owner_billing(session: Session, owner_id: uuid.UUID, delta: OwnerBillingDelta, currency: str | None) -> None:
    """Add an account's change to its owner's sums, in SQL (``x = x + d``: concurrent changes
    of one owner never lose an update)."""
    table = _OWNER_TABLE
    values: dict[str, Any] = {"billing_owed": table.c.billing_owed + delta.owed,
                              "billing_owing": table.c.billing_owing + delta.owing}
    if currency is not None:
        values["billing_currency"] = currency
    session.flush()  # the account before its owner: the lock order
    owing = session.execute(sa.update(table).where(table.c.owner_id == owner_id).values(values)
                            .returning(table.c.billing_owing)).scalar_one_or_none()
    if owing is None or not delta.owing:
        return
    before = owing - delta.owing
    if (before > 0) != (owing > 0):  # the owner starts or stops owing: "With exceptions" changes
        _count_owing_partner(session, owner_id, 1 if owing > 0 else -1)


def _count_owing_partner(session: Session, owner_id: uuid.UUID, step: int) -> None:
    """Every distributor above a partner counts it among those owing (a distributor's own
    Direct Accounts row is not a partner: nothing to count)."""
    owner = session.execute(sa.select(Tenant.kind, Tenant.path).where(Tenant.id == owner_id)).one()
    if owner.kind != TenantKind.PARTNER.value:
        return
    add_to_distributors_above(session, owner.path, "partners_owing_below", step)


def add_to_distributors_above(session: Session, path: str, count: str, step: int) -> None:
    """Add ``step`` to a kept partner ``count`` on the roll-up of every node above the one at
    ``path`` (``x = x + d``). Only distributors have partners below them; the operator has
    no roll-up row, so its id matches nothing."""
    ancestors = path_ids(path)[:-1]
    session.execute(sa.update(_OWNER_TABLE).where(_OWNER_TABLE.c.owner_id.in_(ancestors))
                    .values({count: _OWNER_TABLE.c[count] + step}))


def billing_status_conditions(today: date) -> dict[BillingStatus, sa.ColumnElement[bool]]:
    """SQL for each billing status (``BillingFacts.status_on``)."""
    return {
        BillingStatus.NONE: Account.billing_bills == 0,
        BillingStatus.CURRENT: sa.and_(Account.billing_bills > 0, Account.billing_overdue_from.is_(None)),
        BillingStatus.DUE: Account.billing_overdue_from > today,
        BillingStatus.OVERDUE: Account.billing_overdue_from <= today,
    }


def billing_status_case(today: date) -> sa.ColumnElement[str]:
    conditions = billing_status_conditions(today)
    return sa.case(*((conditions[status], status.value) for status in
                     (BillingStatus.NONE, BillingStatus.CURRENT, BillingStatus.OVERDUE)),
                   else_=BillingStatus.DUE.value)
