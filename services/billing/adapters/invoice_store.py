"""The invoice store. Issuing a bill: a gap-free reference number, the invoice and its lines,
each owner's share, and ``invoice_issued``, all in one transaction. A period already billed is not billed again:
``period_key`` is unique, and a second issuer (another run, another instance) finds the
first one's row and rolls back, giving its reference number back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from contracts.events import BillingEvent
from servicekit.db import UnitOfWork
from services.billing.adapters.account_billing import announce_account_billing
from services.billing.adapters.models import Invoice, InvoiceLineRow, InvoiceOwnerTotal, ReferenceCounter
from services.billing.adapters.sql import insert_for
from services.billing.domain.billing_plan import NewBill, issued_event, owed_by_owner
from services.billing.domain.invoicing import InvoiceLine
from services.billing.domain.references import format_reference


def next_reference(uow: UnitOfWork, year: int) -> str:
    """The year's next number; the counter row stays locked until this transaction ends."""
    table = ReferenceCounter.__table__
    statement = (
        insert_for(uow.session, table)
        .values(year=year, last_value=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last_value": table.c.last_value + 1})
        .returning(table.c.last_value)
    )
    return format_reference(year, int(uow.session.execute(statement).scalar_one()))


@dataclass(frozen=True)
class IssuedBill:
    id: uuid.UUID
    reference: str
    total: Decimal
    auto_charge: bool


def line_items(line: InvoiceLine) -> list[dict[str, str | int | None]]:
    return [{"service": item.service, "seats": item.seats, "unit_price": str(item.unit_price),
             "amount": str(item.amount)} for item in line.items]


def already_billed(uow: UnitOfWork, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        found.update(uow.session.execute(sa.select(Invoice.period_key).where(Invoice.period_key.in_(chunk))).scalars())
    return found


def _write_lines(uow: UnitOfWork, invoice_id: uuid.UUID, bill: NewBill) -> None:
    """The bill's lines and what each owner owes of it, a statement each."""
    uow.session.execute(sa.insert(InvoiceLineRow), [
        {"invoice_id": invoice_id, "account_id": line.account_id, "account_name": line.account_name[:200],
         "partner_id": line.partner_id, "plan": line.plan.value, "seats": line.seats, "days": line.days,
         "period_days": line.period_days, "amount": line.amount, "items": line_items(line)}
        for line in bill.composition.lines
    ])
    owed = owed_by_owner(bill)
    if owed:
        uow.session.execute(sa.insert(InvoiceOwnerTotal), [
            {"invoice_id": invoice_id, "owner_id": owner_id, "amount": amount} for owner_id, amount in owed.items()
        ])


def issue(uow: UnitOfWork, bill: NewBill, in_batch: bool = False) -> IssuedBill | None:
    """Issue ``bill`` and commit; None (nothing written) when its period is already billed.

    ``in_batch`` (PostgreSQL): the bill is written under a savepoint and the caller commits
    a batch of bills at once; a bill already billed rolls back to its savepoint only.
    """
    session = uow.session
    savepoint = session.begin_nested() if in_batch else None
    reference = next_reference(uow, bill.issue_date.year)
    invoice_id = uuid.uuid4()
    composition = bill.composition
    inserted = session.execute(
        insert_for(session, Invoice.__table__)
        .values(
            id=invoice_id, reference=reference, period_key=bill.period_key, kind=bill.kind.value,
            distributor_id=bill.distributor_id, account_id=bill.account_id, period_start=composition.period.start,
            period_end=composition.period.end, issue_date=bill.issue_date, due_date=bill.due_date,
            currency=composition.currency, total=composition.total, method=bill.method.value,
            charge_failed=False, auto_charge_pending=bill.auto_charge, bill_to=bill.bill_to,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
        .returning(Invoice.__table__.c.id)
    ).first()
    if inserted is None:
        # The counter's increment goes with it: no gap.
        if savepoint is not None:
            savepoint.rollback()
        else:
            uow.rollback()
        return None
    _write_lines(uow, invoice_id, bill)
    announce_account_billing(uow, invoice_id)
    uow.emit(BillingEvent.INVOICE_ISSUED, issued_event(bill, invoice_id, reference).to_wire(),
             tenant_id=bill.distributor_id)
    if savepoint is not None:
        savepoint.commit()
    else:
        uow.commit()
    return IssuedBill(invoice_id, reference, composition.total, bill.auto_charge)
