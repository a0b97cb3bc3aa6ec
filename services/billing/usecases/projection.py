"""Billing's own picture of the tenant tree and of usage, fed by tenancy's events.

Billing never reads tenancy's database. Handlers are idempotent (``idempotent_handler``)
and tolerate any arrival order: a row is created by whichever event names it first, and
a lifecycle status only moves forward (trial → trial expired → subscribed → removed).

Usage: each reported run sets its task's seats (when it is the task's newest run) and the
task's snapshot of its day (the most seats seen that day). Days without a run are filled
by carrying the previous day forward (:func:`fill_snapshots`, run daily and before a bill);
a run reported late for an earlier day corrects the carried days after it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel

from contracts.envelope import EventEnvelope
from contracts.events import TenancyEvent
from contracts.tenancy import (
    AccountCreated,
    AccountGone,
    AccountSubscribed,
    BackupRunRecorded,
    BackupRunsRecorded,
    BackupTaskChanged,
    TrialExpired,
)
from contracts.vocabulary import TenantKind
from servicekit.bulk import any_of, insert_rows, update_rows
from servicekit.db import UnitOfWork
from services.billing.adapters.models import Account, Owner, SnapshotDay, Task, UsageSnapshot
from services.billing.adapters.sql import day_start, insert_for, insert_ignore, utc_day

M = TypeVar("M", bound=BaseModel)
_TASKS: sa.Table = Task.__table__  # type: ignore[assignment]
_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[assignment]

OWNER_KINDS = (TenantKind.DISTRIBUTOR, TenantKind.PARTNER)
UNKNOWN_KIND = "unknown"  # an owner named by an account before tenancy announced it
_RANK = {"trial": 0, "trial_expired": 1, "subscribed": 2, "removed": 3}


def payload_of(model: type[M], payload: dict[str, Any]) -> M:
    """The payload as ``model``, ignoring fields a newer publisher added (docs/events.md)."""
    return model.model_validate({key: value for key, value in payload.items() if key in model.model_fields})


def _now() -> datetime:
    return datetime.now(UTC)


def _advance(account: Account, status: str) -> None:
    if _RANK[status] > _RANK.get(account.status, 0):
        account.status = status


def _owner_row(uow: UnitOfWork, owner_id: uuid.UUID, kind: str, parent_id: uuid.UUID | None) -> Owner:
    insert_ignore(uow.session, Owner.__table__, {"id": owner_id, "kind": kind, "parent_id": parent_id,
                                                 "updated_at": _now()})
    owner = uow.session.get(Owner, owner_id, with_for_update=True, populate_existing=True)
    assert owner is not None
    return owner


def account_row(uow: UnitOfWork, account_id: uuid.UUID) -> Account:
    """The account's row, created empty if no event named it before; locked for this transaction."""
    insert_ignore(uow.session, Account.__table__, {"id": account_id, "status": "trial", "updated_at": _now()})
    account = uow.session.get(Account, account_id, with_for_update=True, populate_existing=True)
    assert account is not None
    return account


def _owned_account(uow: UnitOfWork, account_id: uuid.UUID, owner_id: uuid.UUID) -> Account:
    """The account's locked row, with its owner known from whichever event names it first."""
    account = account_row(uow, account_id)
    if account.owner_id is None:
        _set_owner(uow, account, owner_id, None)
    return account


def _set_owner(uow: UnitOfWork, account: Account, owner_id: uuid.UUID, owner_kind: str | None) -> None:
    # The owner's row is locked (created as a placeholder if tenancy has not announced it
    # yet): a concurrent ``tenant_created`` of the owner either ran before and is seen here,
    # or runs after and updates this account (on_tenant_created).
    owner = _owner_row(uow, owner_id, owner_kind or UNKNOWN_KIND, None)
    account.owner_id = owner_id
    kind = owner.kind if owner.kind != UNKNOWN_KIND else owner_kind
    account.owner_kind = kind
    if kind == TenantKind.DISTRIBUTOR:
        account.partner_id, account.distributor_id = None, owner_id
    elif kind == TenantKind.PARTNER:
        account.partner_id = owner_id
        account.distributor_id = owner.parent_id or account.distributor_id


def on_tenant_created(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """A distributor or partner joins the tree (``tenant_created``); accounts waiting for it learn
    their distributor."""
    kind = payload.get("kind")
    tenant_id = uuid.UUID(str(payload["tenant_id"]))
    parent_id = uuid.UUID(str(payload["parent_id"])) if payload.get("parent_id") else None
    if kind == TenantKind.ACCOUNT:
        account = account_row(uow, tenant_id)
        if parent_id and account.owner_id is None:
            _set_owner(uow, account, parent_id, None)
        account.name = account.name or str(payload.get("name") or "")
        return
    if kind not in OWNER_KINDS:
        return
    owner = _owner_row(uow, tenant_id, str(kind), parent_id)
    owner.kind, owner.parent_id, owner.updated_at = str(kind), parent_id, _now()
    owner.name = payload.get("name") or owner.name
    owner.code = payload.get("code") or owner.code
    values: dict[str, Any] = (
        {"partner_id": None, "distributor_id": tenant_id, "owner_kind": kind} if kind == TenantKind.DISTRIBUTOR
        else {"partner_id": tenant_id, "distributor_id": parent_id, "owner_kind": kind}
    )
    uow.session.execute(sa.update(Account).where(Account.owner_id == tenant_id).values(**values))


def on_account_created(uow: UnitOfWork, event: AccountCreated, at: datetime) -> None:
    account = account_row(uow, event.account_id)
    account.name, account.email = event.name, event.email
    account.created_at = account.created_at or at
    account.trial_ends_at = event.trial_ends_at
    _set_owner(uow, account, event.owner_id, event.owner_kind)
    if event.account_status.value == "trial_expired":
        _advance(account, "trial_expired")
    account.updated_at = _now()


def on_account_subscribed(uow: UnitOfWork, event: AccountSubscribed) -> None:
    account = _owned_account(uow, event.account_id, event.owner_id)
    if account.status == "removed":
        return
    account.plan = event.plan.value
    account.subscribed_at = event.subscribed_at
    account.subscribed_on = utc_day(event.subscribed_at)
    _advance(account, "subscribed")
    account.updated_at = _now()


def on_trial_expired(uow: UnitOfWork, event: TrialExpired) -> None:
    account = _owned_account(uow, event.account_id, event.owner_id)
    account.expired_at = event.trial_ends_at
    _advance(account, "trial_expired")
    account.updated_at = _now()


def on_account_gone(uow: UnitOfWork, event: AccountGone) -> None:
    """``account_removed`` and ``trial_deleted``: billed up to and including the day it went."""
    account = _owned_account(uow, event.account_id, event.owner_id)
    account.name = account.name or event.name
    account.email = account.email or event.email
    account.removed_at = event.at
    account.removed_on = utc_day(event.at)
    _advance(account, "removed")
    account.updated_at = _now()


def _task_row(uow: UnitOfWork, task_id: uuid.UUID, account_id: uuid.UUID) -> Task:
    insert_ignore(uow.session, Task.__table__, {"id": task_id, "account_id": account_id, "seats": 0})
    task = uow.session.get(Task, task_id, with_for_update=True, populate_existing=True)
    assert task is not None
    return task


def on_backup_task_changed(uow: UnitOfWork, event: BackupTaskChanged) -> None:
    task = _task_row(uow, event.task_id, event.account_id)
    task.service = event.service.value


def on_backup_runs_recorded(uow: UnitOfWork, runs: list[BackupRunRecorded]) -> None:
    """A batch of runs: each task's seats, each day's usage snapshot, then each account's seats.

    Set-based, a few statements per batch: rows are created where missing and locked in one
    order — accounts by id, then tasks by id, then snapshots by (task, day) — so two batches
    projected at once wait for each other instead of deadlocking; changed rows are written
    back one statement per table. A run for a day before the last filled day also corrects
    the days carried forward after it (rare: a late report).
    """
    if not runs:
        return
    session, now = uow.session, _now()
    accounts = _lock_rows(session, Account, [{"id": r.account_id, "status": "trial", "updated_at": now} for r in runs])
    for run in runs:
        if accounts[run.account_id].owner_id is None:  # the first event naming it: as the other handlers do
            accounts[run.account_id].owner_id = _owned_account(uow, run.account_id, run.owner_id).owner_id
    tasks = _lock_rows(session, Task, [{"id": r.task_id, "account_id": r.account_id, "seats": 0} for r in runs])
    peaks: dict[tuple[uuid.UUID, date], int] = {}
    changed: dict[uuid.UUID, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: (r.finished_at, str(r.run_id))):
        task = tasks[run.task_id]
        if task.last_finished_at is None or (run.finished_at, str(run.run_id)) > (
                task.last_finished_at, str(task.last_run_id)):
            task.seats, task.last_run_id, task.last_finished_at = run.seats, run.run_id, run.finished_at
            changed[task.id] = {"id": task.id, "seats": run.seats, "last_run_id": run.run_id,
                                "last_finished_at": run.finished_at}
        key = (run.task_id, run.finished_at.astimezone(UTC).date())
        peaks[key] = max(peaks.get(key, 0), run.seats)
    session.flush()  # an owner set above goes before the bulk writes
    update_rows(session, _TASKS, [changed[task_id] for task_id in sorted(changed)])
    _record_days(uow, peaks, {task_id: task.account_id for task_id, task in tasks.items()})
    totals = dict(session.execute(
        sa.select(Task.account_id, sa.func.coalesce(sa.func.sum(Task.seats), 0))
        .where(any_of(session, _TASKS.c.account_id, accounts)).group_by(Task.account_id)
    ).all())
    update_rows(session, _ACCOUNTS, [{"id": account_id, "seats": int(totals.get(account_id, 0)),
                                              "updated_at": now} for account_id in sorted(accounts)])


def _lock_rows(session: Any, model: Any, rows: list[dict[str, Any]]) -> dict[uuid.UUID, SimpleNamespace]:
    """The rows with these ids, created where missing (with these values), locked in id order,
    as plain values (written back with ``update_rows``, not one UPDATE per ORM object)."""
    unique = {row["id"]: row for row in rows}
    ids = sorted(unique)
    table = model.__table__
    insert_rows(session, insert_for(session, table).on_conflict_do_nothing(), [unique[i] for i in ids])
    query = sa.select(table).where(any_of(session, table.c.id, ids)).order_by(table.c.id).with_for_update()
    return {row["id"]: SimpleNamespace(**row) for row in session.execute(query).mappings()}


def _record_days(uow: UnitOfWork, peaks: dict[tuple[uuid.UUID, date], int],
                 account_of: dict[uuid.UUID, uuid.UUID]) -> None:
    """Each (task, day)'s snapshot takes the day's most seats (a carried copy is replaced)."""
    session = uow.session
    insert = insert_for(session, UsageSnapshot.__table__)
    upsert = insert.on_conflict_do_update(
        index_elements=["task_id", "day"],
        set_={"seats": sa.case((UsageSnapshot.__table__.c.carried, insert.excluded.seats),
                               else_=sa.func.max(UsageSnapshot.__table__.c.seats, insert.excluded.seats)
                               if session.get_bind().dialect.name == "sqlite"
                               else sa.func.greatest(UsageSnapshot.__table__.c.seats, insert.excluded.seats)),
              "carried": sa.false()},
    )
    keys = sorted(peaks, key=lambda k: (str(k[0]), k[1]))
    insert_rows(session, upsert, [{"task_id": task_id, "day": day, "account_id": account_of[task_id],
                                   "seats": peaks[(task_id, day)], "carried": False} for task_id, day in keys])
    last_filled = session.execute(sa.select(sa.func.max(SnapshotDay.day))).scalar_one_or_none()
    for task_id, day in keys:
        if last_filled is not None and day < last_filled:  # a late report: later days were carried forward
            seats = session.execute(sa.select(UsageSnapshot.seats).where(
                UsageSnapshot.task_id == task_id, UsageSnapshot.day == day)).scalar_one()
            _correct_carried_days(uow, task_id, account_of[task_id], day, seats)


def _correct_carried_days(uow: UnitOfWork, task_id: uuid.UUID, account_id: uuid.UUID, day: date,
                          seats: int) -> None:
    """A run for ``day`` reported after later days were filled: those days, up to the task's
    next observed day, carry its seats (corrected where carried, added where missing)."""
    next_observed = (
        sa.select(sa.func.min(UsageSnapshot.day))
        .where(UsageSnapshot.task_id == task_id, UsageSnapshot.day > day, UsageSnapshot.carried.is_(False))
        .scalar_subquery()
    )
    uow.session.execute(
        sa.update(UsageSnapshot)
        .where(UsageSnapshot.task_id == task_id, UsageSnapshot.day > day, UsageSnapshot.carried.is_(True),
               sa.or_(next_observed.is_(None), UsageSnapshot.day < next_observed))
        .values(seats=seats)
    )
    filled_days = sa.select(sa.literal(task_id, sa.Uuid()), SnapshotDay.day, sa.literal(account_id, sa.Uuid()),
                            sa.literal(seats), sa.true()).where(
        SnapshotDay.day > day, sa.or_(next_observed.is_(None), SnapshotDay.day < next_observed))
    uow.session.execute(
        insert_for(uow.session, UsageSnapshot.__table__)
        .from_select(["task_id", "day", "account_id", "seats", "carried"], filled_days)
        .on_conflict_do_nothing()
    )


def fill_snapshots(uow: UnitOfWork, day: date) -> None:
    """Carry every task's latest earlier snapshot forward to ``day`` where ``day`` has none
    (tasks of accounts removed before ``day`` stop), once per day (``snapshot_days``); a run
    reported later for an earlier day corrects the filled days itself. Commits."""
    if uow.session.get(SnapshotDay, day) is not None:
        uow.commit()
        return
    has_day = sa.exists().where(UsageSnapshot.task_id == Task.id, UsageSnapshot.day == day)
    latest = (
        sa.select(UsageSnapshot.seats)
        .where(UsageSnapshot.task_id == Task.id, UsageSnapshot.day < day)
        .order_by(UsageSnapshot.day.desc())
        .limit(1)
        .scalar_subquery()
    )
    candidates = (
        sa.select(Task.id.label("task_id"), Task.account_id.label("account_id"), latest.label("seats"))
        .join(Account, Account.id == Task.account_id)
        .where(sa.or_(Account.removed_at.is_(None), Account.removed_at >= day_start(day)), ~has_day)
        .subquery()
    )
    rows = sa.select(candidates.c.task_id, sa.literal(day, sa.Date()), candidates.c.account_id, candidates.c.seats,
                     sa.true()).where(candidates.c.seats.is_not(None))
    uow.session.execute(
        insert_for(uow.session, UsageSnapshot.__table__)
        .from_select(["task_id", "day", "account_id", "seats", "carried"], rows)
        .on_conflict_do_nothing()
    )
    insert_ignore(uow.session, SnapshotDay.__table__, {"day": day, "filled_at": _now()})
    uow.commit()


def apply(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    """Project one of tenancy's events (the handlers' body; does not commit)."""
    payload = envelope.payload
    match envelope.type:
        case TenancyEvent.TENANT_CREATED:
            on_tenant_created(uow, payload)
        case TenancyEvent.ACCOUNT_CREATED:
            on_account_created(uow, payload_of(AccountCreated, payload), envelope.occurred_at)
        case TenancyEvent.ACCOUNT_SUBSCRIBED:
            on_account_subscribed(uow, payload_of(AccountSubscribed, payload))
        case TenancyEvent.TRIAL_EXPIRED:
            on_trial_expired(uow, payload_of(TrialExpired, payload))
        case TenancyEvent.ACCOUNT_REMOVED | TenancyEvent.TRIAL_DELETED:
            on_account_gone(uow, payload_of(AccountGone, payload))
        case TenancyEvent.BACKUP_TASK_CHANGED:
            on_backup_task_changed(uow, payload_of(BackupTaskChanged, payload))
        case TenancyEvent.BACKUP_RUNS_RECORDED:
            on_backup_runs_recorded(uow, payload_of(BackupRunsRecorded, payload).runs)
        case _:
            raise ValueError(f"billing does not project {envelope.type!r}")


PROJECTED_EVENTS = (
    TenancyEvent.TENANT_CREATED, TenancyEvent.ACCOUNT_CREATED, TenancyEvent.ACCOUNT_SUBSCRIBED,
    TenancyEvent.TRIAL_EXPIRED, TenancyEvent.ACCOUNT_REMOVED, TenancyEvent.TRIAL_DELETED,
    TenancyEvent.BACKUP_TASK_CHANGED, TenancyEvent.BACKUP_RUNS_RECORDED,
)
