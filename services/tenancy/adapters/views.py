"""Rows → contract views."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from contracts.tenancy import (
    DATA_CENTER_LABELS,
    AccountRow,
    AccountView,
    BackupRunView,
    BackupStatus,
    BackupTaskView,
    DataCenter,
    DefaultSubscription,
    Plan,
    TenantProfile,
)
from contracts.vocabulary import TenantKind
from services.tenancy.adapters.models import Account, BackupTask, Tenant
from services.tenancy.adapters.rows import billing_facts_of, subscription_of
from services.tenancy.domain.account_lifecycle import account_status


def _data_center(value: str | None) -> DataCenter | None:
    return DataCenter(value) if value else None


def profile_view(tenant: Tenant) -> TenantProfile:
    data_center = _data_center(tenant.data_center)
    return TenantProfile(
        id=tenant.id,
        kind=tenant.kind,
        parent_id=tenant.parent_id,
        name=tenant.name,
        email=tenant.email,
        partner_code=tenant.code,
        contact_name=tenant.contact_name,
        country=tenant.country,
        data_center=data_center,
        data_center_label=DATA_CENTER_LABELS[data_center] if data_center else None,
        address=tenant.address,
        phone=tenant.phone,
        default_subscription=DefaultSubscription(tenant.default_subscription),
        created_at=tenant.created_at,
    )


def task_view(task: BackupTask) -> BackupTaskView:
    last_run = None
    if task.last_run_id is not None:
        assert task.last_started_at and task.last_finished_at and task.last_status
        last_run = BackupRunView(
            run_id=task.last_run_id, task_id=task.id, status=task.last_status,  # type: ignore[arg-type]
            started_at=task.last_started_at, finished_at=task.last_finished_at,
            size_bytes=task.last_size_bytes, seats=task.last_seats,
        )
    return BackupTaskView(
        id=task.id, account_id=task.account_id, service=task.service,  # type: ignore[arg-type]
        name=task.name, state=task.state,  # type: ignore[arg-type]
        created_at=task.created_at, activated_at=task.activated_at, paused_at=task.paused_at,
        last_run=last_run, runs=task.runs,
    )


def account_view(tenant: Tenant, account: Account, owner: Tenant, tasks: list[BackupTask],
                 now: datetime) -> AccountView:
    sub = subscription_of(account)
    return AccountView(
        id=tenant.id,
        owner_id=owner.id,
        owner_kind=owner.kind,
        partner_id=owner.id if owner.kind == TenantKind.PARTNER else None,
        name=tenant.name,
        email=tenant.email,
        country=tenant.country,
        data_center=_data_center(tenant.data_center),
        account_status=account_status(sub, now),
        backup_status=BackupStatus(account.backup_status),
        subscription=DefaultSubscription(account.subscription),
        **{name: value for name, value in asdict(sub).items() if name != "status"},
        size_bytes=account.size_bytes,
        seats=account.seats,
        tasks=[task_view(task) for task in tasks],
        created_at=account.created_at,
    )


def account_row(account: Account, name: str, email: str | None, now: datetime) -> AccountRow:
    facts = billing_facts_of(account)
    return AccountRow(
        id=account.id,
        owner_id=account.owner_id,
        name=name,
        email=email,
        account_status=account_status(subscription_of(account), now),
        backup_status=BackupStatus(account.backup_status),
        plan=Plan(account.plan) if account.plan else None,
        trial_ends_at=account.trial_ends_at,
        size_bytes=account.size_bytes,
        seats=account.seats,
        tasks=account.tasks,
        billing_status=facts.status_on(now.date()),
        amount_due=facts.amount_due,
        currency=facts.currency,
    )
