"""The demo tree that ``make run`` seeds into an empty install (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from contracts.context import OPERATOR_TENANT_ID
from servicekit.db import UnitOfWork
from services.tenancy.handlers import NewTenant, create_tenant, ensure_operator_root
from services.tenancy.models import Tenant
from services.tenancy.tree import TenantKind

DEMO_DISTRIBUTOR_EMAIL = "distributor@northwind-backup.example"

DEMO_PARTNERS: dict[tuple[str, str, str], list[tuple[str, str]]] = {
    ("Contoso IT Services", "billing@contoso-it.example", "US"): [
        ("Alpine Ski House", "it@alpineskihouse.example"),
        ("Coho Winery", "admin@cohowinery.example"),
        ("Wide World Importers", "it@wideworldimporters.example"),
    ],
    ("Fabrikam Managed Services", "msp@fabrikam.example", "GB"): [
        ("Adventure Works Cycles", "it@adventure-works.example"),
        ("Litware Inc.", "ops@litware.example"),
    ],
    ("Tailspin Cloud Partners", "hello@tailspin-cloud.example", "DE"): [
        ("Margie's Travel", "it@margiestravel.example"),
        ("Trey Research", "admin@treyresearch.example"),
        ("Lucerne Publishing", "it@lucernepublishing.example"),
        ("Proseware", "it@proseware.example"),
    ],
}
DEMO_DIRECT_ACCOUNTS = [
    ("Blue Yonder Airlines", "it@blueyonderairlines.example"),
    ("Humongous Insurance", "it@humongousinsurance.example"),
]


@dataclass(frozen=True)
class DemoTree:
    distributor_id: str
    created: bool
    partners: int
    accounts: int


def seed_demo_tree(uow: UnitOfWork) -> DemoTree:
    ensure_operator_root(uow)
    session = uow.session
    existing = session.execute(
        sa.select(Tenant).where(Tenant.email_normalised == DEMO_DISTRIBUTOR_EMAIL)
    ).scalar_one_or_none()
    if existing is not None:
        return _summary(uow, existing, created=False)
    distributor = create_tenant(
        uow,
        NewTenant(TenantKind.DISTRIBUTOR, OPERATOR_TENANT_ID, "Northwind Backup Distribution",
                  DEMO_DISTRIBUTOR_EMAIL, "US", "us-east-1"),
    )
    session.flush()
    for (name, email, country), accounts in DEMO_PARTNERS.items():
        partner = create_tenant(
            uow, NewTenant(TenantKind.PARTNER, distributor.id, name, email, country, "us-east-1")
        )
        session.flush()
        for account_name, account_email in accounts:
            create_tenant(uow, NewTenant(TenantKind.ACCOUNT, partner.id, account_name, account_email, country))
    for account_name, account_email in DEMO_DIRECT_ACCOUNTS:
        create_tenant(uow, NewTenant(TenantKind.ACCOUNT, distributor.id, account_name, account_email, "US"))
    uow.commit()
    return _summary(uow, distributor, created=True)


def _summary(uow: UnitOfWork, distributor: Tenant, created: bool) -> DemoTree:
    counts = dict(
        uow.session.execute(
            sa.select(Tenant.kind, sa.func.count())
            .where(Tenant.path.startswith(distributor.path, autoescape=True), Tenant.id != distributor.id)
            .group_by(Tenant.kind)
        ).all()
    )
    return DemoTree(str(distributor.id), created, counts.get("partner", 0), counts.get("account", 0))
