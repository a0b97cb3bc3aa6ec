"""Backup runs of a subtree within a period, for reports (notify asks, paged)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from contracts.errors import ValidationFailed
from contracts.tenancy import RunListPage, RunListQuery, RunListRow
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.models import Account, BackupRun, BackupTask, Tenant
from services.tenancy.usecases.access import authorise, visible_tenant


def list_backup_runs(uow: UnitOfWork, ctx: CallContext, query: RunListQuery) -> RunListPage:
    if query.finished_to <= query.finished_from:
        raise ValidationFailed.for_field("finished_to", "must be after finished_from")
    scope = authorise(uow, ctx)
    root = visible_tenant(uow, scope, query.tenant_id)
    account = aliased(Tenant)
    conditions = [
        account.path.startswith(root.path, autoescape=True),
        BackupRun.finished_at >= query.finished_from,
        BackupRun.finished_at < query.finished_to,
    ]
    accessible = scope.account_filter()
    if accessible is not None:
        conditions.append(accessible)
    joined = (
        sa.select(BackupRun, BackupTask.name, BackupTask.service, account.id, account.name, Account.owner_id)
        .join(BackupTask, BackupTask.id == BackupRun.task_id)
        .join(account, account.id == BackupTask.account_id)
        .join(Account, Account.id == account.id)
        .where(*conditions)
    )
    total = uow.session.execute(sa.select(sa.func.count()).select_from(joined.subquery())).scalar_one()
    rows = uow.session.execute(
        joined.order_by(BackupRun.finished_at, BackupRun.run_id)
        .offset((query.page - 1) * query.page_size).limit(query.page_size)
    ).all()
    return RunListPage(
        items=[RunListRow(run_id=run.run_id, task_id=run.task_id, task_name=task_name, service=service,
                          account_id=account_id, account_name=account_name, owner_id=owner_id, status=run.status,
                          started_at=run.started_at, finished_at=run.finished_at, size_bytes=run.size_bytes,
                          seats=run.seats)
               for run, task_name, service, account_id, account_name, owner_id in rows],
        page=query.page, page_size=query.page_size, total=total,
    )
