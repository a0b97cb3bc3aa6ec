"""The demo tree that ``make run`` seeds into an empty install (idempotent, resumable).

One distributor, three partners, eleven accounts in every state the portal shows —
trials started, expiring and expired, trials that subscribed themselves at day 14,
monthly and annual subscriptions — with backup tasks and a week of run history
(successes, partial runs and failures, growing sizes, protected seats).

Everything goes through the real use cases with a clock set back, so the roll-ups and
events are what production would have. Each piece is looked up before it is made, and
run ids are derived from names: a second call (or one after a crash) adds only what is
missing and records no run twice.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from contracts.context import OPERATOR_TENANT_ID
from contracts.errors import PermissionDenied
from contracts.tenancy import (
    AccountCreateRequest,
    BackupRunReport,
    BackupService,
    BackupTaskRequest,
    DefaultSubscription,
    RunStatus,
    TaskState,
)
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.models import BackupTask, Tenant
from services.tenancy.usecases.accounts import create_account
from services.tenancy.usecases.backups import add_backup_task, record_runs, set_task_state
from services.tenancy.usecases.tenant_creation import NewTenant, create_tenant, ensure_operator_root
from services.tenancy.usecases.trials import expire_trials

DEMO_DISTRIBUTOR_EMAIL = "distributor@northwind-backup.example"
RUN_IDS = uuid.UUID("5a1f3f4e-0c1d-4b7e-9d52-7e1f0c2b9a11")  # namespace of the demo's run ids

S, P, F = RunStatus.SUCCESS, RunStatus.PARTIAL, RunStatus.FAILURE
TRIAL = DefaultSubscription.TRIAL_EXPIRING
AUTO_MONTHLY, AUTO_ANNUAL = DefaultSubscription.TRIAL_AUTO_MONTHLY, DefaultSubscription.TRIAL_AUTO_ANNUAL
MONTHLY, ANNUAL = DefaultSubscription.SUBSCRIBE_MONTHLY, DefaultSubscription.SUBSCRIBE_ANNUAL


@dataclass(frozen=True)
class DemoTask:
    service: BackupService
    name: str
    runs: tuple[RunStatus, ...]  # one a day, oldest first; the last one is the latest


@dataclass(frozen=True)
class DemoAccount:
    name: str
    email: str
    subscription: DefaultSubscription
    days_ago: int  # created this many days ago
    tasks: tuple[DemoTask, ...] = ()


def _task(service: BackupService, name: str, runs: str) -> DemoTask:
    return DemoTask(service, name, tuple({"s": S, "p": P, "f": F}[c] for c in runs))


M365 = (
    _task(BackupService.EXCHANGE, "Mailboxes", "sssssss"),
    _task(BackupService.ONEDRIVE, "OneDrive for Business", "sssspss"),
)

DEMO_PARTNERS: dict[tuple[str, str, str], list[DemoAccount]] = {
    ("Contoso IT Services", "billing@contoso-it.example", "US"): [
        DemoAccount("Alpine Ski House", "it@alpineskihouse.example", MONTHLY, 60, M365),
        DemoAccount("Coho Winery", "admin@cohowinery.example", TRIAL, 12,
                    (_task(BackupService.GMAIL, "Mail", "ssssff"),)),
        DemoAccount("Wide World Importers", "it@wideworldimporters.example", ANNUAL, 200,
                    (*M365, _task(BackupService.SHAREPOINT, "Sites", "sspsspp"))),
    ],
    ("Fabrikam Managed Services", "msp@fabrikam.example", "GB"): [
        DemoAccount("Adventure Works Cycles", "it@adventure-works.example", AUTO_MONTHLY, 3,
                    (_task(BackupService.EXCHANGE, "Mailboxes", "sss"),)),
        DemoAccount("Litware Inc.", "ops@litware.example", TRIAL, 20),
    ],
    ("Tailspin Cloud Partners", "hello@tailspin-cloud.example", "DE"): [
        DemoAccount("Margie's Travel", "it@margiestravel.example", AUTO_ANNUAL, 16,
                    (_task(BackupService.SALESFORCE, "CRM", "sssssss"),)),
        DemoAccount("Trey Research", "admin@treyresearch.example", MONTHLY, 90,
                    (_task(BackupService.GMAIL, "Mail", "sssssss"),
                     _task(BackupService.GOOGLE_DRIVE, "Shared drives", "ssfssss"))),
        DemoAccount("Lucerne Publishing", "it@lucernepublishing.example", AUTO_MONTHLY, 5,
                    (_task(BackupService.DROPBOX, "Team folders", "ffff"),)),
        DemoAccount("Proseware", "it@proseware.example", ANNUAL, 120,
                    (_task(BackupService.BOX, "Enterprise", "sssssss"),
                     _task(BackupService.TEAMS, "Channels", "ssssssp"))),
    ],
}
DEMO_DIRECT_ACCOUNTS = [
    DemoAccount("Blue Yonder Airlines", "it@blueyonderairlines.example", ANNUAL, 400,
                (*M365, _task(BackupService.TEAMS, "Channels", "sssssss"))),
    DemoAccount("Humongous Insurance", "it@humongousinsurance.example", TRIAL, 1),
]


@dataclass(frozen=True)
class DemoTree:
    distributor_id: str
    created: bool
    partners: int
    accounts: int


def _find(uow: UnitOfWork, email: str) -> Tenant | None:
    return uow.session.execute(sa.select(Tenant).where(Tenant.email_normalised == email)).scalar_one_or_none()


def _owner(uow: UnitOfWork, new: NewTenant, now: datetime) -> Tenant:
    assert new.email is not None
    existing = _find(uow, new.email)
    if existing is not None:
        return existing
    tenant = create_tenant(uow, new, now)
    uow.commit()
    return tenant


def _runs(account: DemoAccount, task_id: uuid.UUID, spec: DemoTask, now: datetime) -> list[BackupRunReport]:
    rng = random.Random(f"{account.email}/{spec.name}")  # the same history on every call
    size = rng.randint(5, 400) * 2**30
    seats = rng.randint(5, 250)
    runs = []
    for day, status in enumerate(spec.runs):
        started = (now - timedelta(days=len(spec.runs) - day)).replace(hour=2, minute=0, second=0, microsecond=0)
        size += rng.randint(0, 4) * 2**28
        runs.append(BackupRunReport(
            run_id=uuid.uuid5(RUN_IDS, f"{account.email}/{spec.name}/{day}"), task_id=task_id, status=status,
            started_at=started, finished_at=started + timedelta(minutes=rng.randint(5, 90)),
            size_bytes=size if status is not RunStatus.FAILURE else size // 2, seats=seats,
        ))
    return runs


def _account(uow: UnitOfWork, owner: Tenant, spec: DemoAccount, now: datetime) -> None:
    tenant = _find(uow, spec.email)
    created_at = now - timedelta(days=spec.days_ago)
    ctx = uow.context
    if tenant is None:
        owner_field = "partner_id" if owner.kind == TenantKind.PARTNER else "distributor_id"
        request = AccountCreateRequest.model_validate(
            {"name": spec.name, "email": spec.email, "subscription": spec.subscription, owner_field: owner.id}
        )
        account_id = create_account(uow, ctx, request, now=created_at).id
    else:
        account_id = tenant.id
    existing = {
        task.name: task.id
        for task in uow.session.execute(sa.select(BackupTask).where(BackupTask.account_id == account_id)).scalars()
    }
    for task in spec.tasks:
        task_id = existing.get(task.name)
        if task_id is None:
            task_id = add_backup_task(uow, ctx, account_id, BackupTaskRequest(service=task.service, name=task.name),
                                      now=created_at).id
            set_task_state(uow, ctx, account_id, task_id, TaskState.ACTIVE, now=created_at)
        record_runs(uow, _runs(spec, task_id, task, now), now=now)


def seed_demo_tree(uow: UnitOfWork, now: datetime | None = None) -> DemoTree:
    now = now or datetime.now(UTC)
    ensure_operator_root(uow)
    created = _find(uow, DEMO_DISTRIBUTOR_EMAIL) is None
    distributor = _owner(uow, NewTenant(
        TenantKind.DISTRIBUTOR, OPERATOR_TENANT_ID, "Northwind Backup Distribution", DEMO_DISTRIBUTOR_EMAIL, "US",
        "us-east-1", "Nora Northwind", "1 Harbour Way, Seattle, WA", "+1 206 555 0100", AUTO_MONTHLY,
    ), now)
    for (name, email, country), demo_accounts in DEMO_PARTNERS.items():
        partner = _owner(uow, NewTenant(TenantKind.PARTNER, distributor.id, name, email, country, "us-east-1"), now)
        for spec in demo_accounts:
            _account(uow, partner, spec, now)
    for spec in DEMO_DIRECT_ACCOUNTS:
        _account(uow, distributor, spec, now)
    expire_trials(uow, now)  # the trials that ended before today
    return _summary(uow, distributor, created)


def _summary(uow: UnitOfWork, distributor: Tenant, created: bool) -> DemoTree:
    counts = dict(
        uow.session.execute(
            sa.select(Tenant.kind, sa.func.count())
            .where(Tenant.path.startswith(distributor.path, autoescape=True), Tenant.id != distributor.id)
            .group_by(Tenant.kind)
        ).all()
    )
    return DemoTree(str(distributor.id), created, counts.get(TenantKind.PARTNER, 0),
                    counts.get(TenantKind.ACCOUNT, 0))


def seed_demo(uow: UnitOfWork, ctx: CallContext) -> DemoTree:
    """The demo tree, for the operations tooling only (``portal seed``)."""
    if not ctx.caller.is_system:
        raise PermissionDenied("the demo seed is for the operations tooling only")
    return seed_demo_tree(uow)
