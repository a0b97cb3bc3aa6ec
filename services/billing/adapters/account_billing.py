"""Announce what changed in an account's bills, for the lists that show billing status and
amount beside tenancy's columns (``account_billing_changed``, docs/events.md).

Called in the transaction that issues or pays a bill: each account on the bill gets its
version raised first (the row lock orders two transactions touching the same account), then
its facts are read, so the announcement with the higher version always carries the newer
facts. One statement each for the versions and the facts, whatever the bill's size.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from contracts.billing import AccountBillingChanged
from contracts.events import BillingEvent
from servicekit.db import UnitOfWork
from services.billing.adapters.models import Account, Invoice, InvoiceLineRow
from services.billing.adapters.sql import money
from services.billing.domain.money import ZERO


def announce_account_billing(uow: UnitOfWork, invoice_id: uuid.UUID) -> int:
    """Raise the version of every account on ``invoice_id`` and announce its bill facts;
    returns how many were announced. The caller commits."""
    return _announce(uow, sa.select(InvoiceLineRow.account_id).where(InvoiceLineRow.invoice_id == invoice_id))


def announce_every_account_billing(uow: UnitOfWork, distributor_id: uuid.UUID | None = None) -> int:
    """Announce the facts of every account on any bill (of one distributor when given) again,
    with a new version: how a reader that lost its copy, or never had one (tenancy before it
    kept these facts), gets them back. The caller commits."""
    billed = sa.select(InvoiceLineRow.account_id).distinct()
    if distributor_id is not None:
        billed = billed.join(Invoice, Invoice.id == InvoiceLineRow.invoice_id).where(
            Invoice.distributor_id == distributor_id)
    return _announce(uow, billed)


def _announce(uow: UnitOfWork, on_bill: sa.Select[Any]) -> int:
    session = uow.session
    versions = {
        account_id: (version, distributor_id)
        for account_id, version, distributor_id in session.execute(
            sa.update(Account)
            .where(Account.id.in_(on_bill))
            .values(billing_version=Account.billing_version + 1)
            .returning(Account.id, Account.billing_version, Account.distributor_id)
            .execution_options(synchronize_session=False)
        )
    }
    if not versions:
        return 0
    unpaid = Invoice.paid_at.is_(None)
    facts = session.execute(
        sa.select(
            InvoiceLineRow.account_id,
            sa.func.count(),
            sa.func.sum(sa.case((unpaid, InvoiceLineRow.amount), else_=None)),
            sa.func.min(sa.case((unpaid, Invoice.due_date), else_=None)),
            sa.func.max(Invoice.currency),
        )
        .join(Invoice, Invoice.id == InvoiceLineRow.invoice_id)
        .where(InvoiceLineRow.account_id.in_(on_bill))
        .group_by(InvoiceLineRow.account_id)
    )
    announced = 0
    for account_id, bills, unpaid_amount, earliest_due, currency in facts:
        version, distributor_id = versions.get(account_id, (None, None))
        if version is None or distributor_id is None:
            continue  # a line of an account billing no longer knows: nobody lists it
        uow.emit(BillingEvent.ACCOUNT_BILLING_CHANGED, AccountBillingChanged(
            account_id=account_id, distributor_id=distributor_id, version=version, bills=int(bills),
            amount_due=money(unpaid_amount) if unpaid_amount is not None else ZERO, currency=currency,
            overdue_from=earliest_due + timedelta(days=1) if earliest_due is not None else None,
        ).to_wire(), tenant_id=distributor_id)
        announced += 1
    return announced
