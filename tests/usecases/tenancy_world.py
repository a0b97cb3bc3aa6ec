"""A small portal for tenancy use-case tests: a distributor, its partners, callers, a clock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.context import OPERATOR_TENANT_ID, Caller
from contracts.tenancy import (
    AccountCreateRequest,
    AccountView,
    BackupRunReport,
    BackupTaskRequest,
    DistributorCreateRequest,
    PartnerCreateRequest,
    TaskState,
    TenantProfile,
)
from servicekit.context import SYSTEM_CALLER
from services.tenancy.usecases import accounts, backups, partners
from services.tenancy.usecases.tenant_creation import ensure_operator_root
from tests.support.fixtures import MigratedDatabase

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def operator() -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=OPERATOR_TENANT_ID, tenant_kind="operator", role="administrator")


def admin_of(tenant: TenantProfile | uuid.UUID, kind: str = "distributor", **extra: Any) -> Caller:
    tenant_id = tenant.id if isinstance(tenant, TenantProfile) else tenant
    return Caller(user_id=uuid.uuid4(), tenant_id=tenant_id, tenant_kind=kind, role="administrator", **extra)


def user_of(tenant: TenantProfile, *permissions: str, accessible: list[uuid.UUID] | None = None) -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=tenant.id, tenant_kind=tenant.kind, role="custom",
                  permissions=list(permissions), accessible_accounts=accessible)


@dataclass
class World:
    db: MigratedDatabase
    distributor: TenantProfile
    partners: list[TenantProfile] = field(default_factory=list)

    @property
    def admin(self) -> Caller:
        return admin_of(self.distributor)

    def uow(self, caller: Caller | None = None) -> Any:
        return self.db.unit_of_work(caller or self.admin)

    def add_partner(self, name: str, email: str | None = None, **extra: Any) -> TenantProfile:
        request = PartnerCreateRequest(name=name, email=email or f"{name.lower().replace(' ', '.')}@msp.example",
                                       country="US", data_center="us-east-1", **extra)
        uow = self.uow()
        partner = partners.create_partner(uow, uow.context, request, now=NOW)
        self.partners.append(partner)
        return partner

    def add_account(self, name: str, owner: TenantProfile | None = None, subscription: str | None = None,
                    at: datetime = NOW, caller: Caller | None = None) -> AccountView:
        email = f"it@{name.lower().replace(' ', '-')}.example"
        request = AccountCreateRequest(name=name, email=email, subscription=subscription,
                                       partner_id=owner.id if owner is not None else None)
        uow = self.uow(caller)
        return accounts.create_account(uow, uow.context, request, now=at)

    def add_task(self, account: AccountView, service: str = "exchange", name: str = "Mailboxes") -> uuid.UUID:
        uow = self.uow()
        task = backups.add_backup_task(uow, uow.context, account.id, BackupTaskRequest(service=service, name=name),
                                       now=NOW)
        uow = self.uow()
        backups.set_task_state(uow, uow.context, account.id, task.id, TaskState.ACTIVE, now=NOW)
        return task.id

    def ingest(self, *runs: BackupRunReport) -> Any:
        uow = self.db.unit_of_work(SYSTEM_CALLER)
        return backups.ingest_runs(uow, uow.context, list(runs), now=NOW)


def run(task_id: uuid.UUID, status: str = "success", hours: float = 0, size: int = 1000, seats: int = 10,
        run_id: uuid.UUID | None = None) -> BackupRunReport:
    finished = NOW + timedelta(hours=hours)
    return BackupRunReport(run_id=run_id or uuid.uuid4(), task_id=task_id, status=status,
                           started_at=finished - timedelta(minutes=30), finished_at=finished,
                           size_bytes=size, seats=seats)


def build_world(db: MigratedDatabase, default_subscription: str = "trial_expiring") -> World:
    ensure_operator_root(db.unit_of_work())
    request = DistributorCreateRequest(name="Northwind", email="d@northwind.example", country="US",
                                       data_center="us-east-1", default_subscription=default_subscription)
    uow = db.unit_of_work(operator())
    distributor = partners.create_distributor(uow, uow.context, request, now=NOW)
    return World(db, distributor)
