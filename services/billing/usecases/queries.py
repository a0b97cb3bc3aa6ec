"""What billing answers: status per account, roll-ups and filters for the dashboard,
history, and the documents (PDF, CSV) of a bill. Read-only."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa

from contracts.billing import (
    CONSOLIDATED_BILL,
    ROLLUP_LABELS,
    AccountAmount,
    AccountAmountPage,
    AccountAmountRequest,
    AccountBillingPage,
    AccountBillingRow,
    BillingFilterReply,
    BillingFilterRequest,
    BillingStatus,
    DocumentFormat,
    DocumentReply,
    HistoryPage,
    HistoryQuery,
    HistoryRow,
    InvoiceKind,
    OwnerAmountPage,
    OwnerPageRequest,
    OwnerRollup,
    RollupList,
    RollupQuery,
    RollupStatus,
    StatusQuery,
)
from contracts.tenancy import Plan
from contracts.vocabulary import TenantKind
from servicekit.db import UnitOfWork
from services.billing.adapters import documents
from services.billing.adapters.documents import BillDocument
from services.billing.adapters.models import (
    Account,
    Invoice,
    InvoiceLineRow,
    InvoiceOwnerTotal,
    Owner,
    Task,
    UsageSnapshot,
)
from services.billing.adapters.sql import money
from services.billing.domain import status
from services.billing.domain.forecast import DEFAULT_WINDOW_DAYS, blended_unit_price, forecast_amount, forecast_seats
from services.billing.domain.invoicing import InvoiceLine, LineItem
from services.billing.domain.money import ZERO
from services.billing.domain.periods import active_days, month_of, renewal_date
from services.billing.domain.pricebook import PriceBook
from services.billing.usecases.access import BillingScope
from services.billing.usecases.payments import scoped_invoice
from services.billing.usecases.profiles import profile_of

T = TypeVar("T")

# ---- account bill summaries -------------------------------------------------------------------


def bills_by_account(uow: UnitOfWork, distributor_id: uuid.UUID,
                     account_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, status.AccountBills]:
    """Bill summaries per account of the distributor (only of ``account_ids`` when given)."""
    unpaid = Invoice.paid_at.is_(None)
    only = [InvoiceLineRow.account_id.in_(sorted(set(account_ids)))] if account_ids is not None else []
    rows = uow.session.execute(
        sa.select(
            InvoiceLineRow.account_id,
            sa.func.count(),
            sa.func.sum(sa.case((unpaid, InvoiceLineRow.amount), else_=None)),
            sa.func.min(sa.case((unpaid, Invoice.due_date), else_=None)),
            sa.func.max(sa.case((sa.and_(unpaid, Invoice.charge_failed.is_(True)), 1), else_=0)),
        )
        .join(Invoice, Invoice.id == InvoiceLineRow.invoice_id)
        .where(Invoice.distributor_id == distributor_id, *only)
        .group_by(InvoiceLineRow.account_id)
    )
    return {
        account_id: status.AccountBills(int(count), money(unpaid_amount) if unpaid_amount is not None else ZERO,
                                        earliest_due, bool(failed))
        for account_id, count, unpaid_amount, earliest_due, failed in rows
    }


def _accounts(uow: UnitOfWork, scope: BillingScope, partner_id: uuid.UUID | None, direct: bool,
              account_ids: Iterable[uuid.UUID] | None) -> list[Account]:
    query = sa.select(Account).where(Account.distributor_id == scope.distributor_id)
    if partner_id is not None:
        query = query.where(Account.partner_id == partner_id)
    if direct:
        query = query.where(Account.partner_id.is_(None))
    wanted: frozenset[uuid.UUID] | None = frozenset(account_ids) if account_ids is not None else None
    if scope.accessible_accounts is not None:
        wanted = scope.accessible_accounts if wanted is None else wanted & scope.accessible_accounts
    if wanted is not None:
        query = query.where(Account.id.in_(list(wanted)))
    return list(uow.session.execute(query.order_by(sa.func.lower(Account.name), Account.id)).scalars())


def _shown(account: Account, bills: status.AccountBills) -> bool:
    """Removed accounts stay listed while they still owe something."""
    return account.status != "removed" or bills.unpaid_amount > 0


# ---- forecast ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Usage:
    daily: dict[uuid.UUID, dict[date, int]]
    by_service: dict[uuid.UUID, list[tuple[str | None, int]]]


def _usage(uow: UnitOfWork, account_ids: list[uuid.UUID], today: date) -> _Usage:
    daily: dict[uuid.UUID, dict[date, int]] = {}
    by_service: dict[uuid.UUID, list[tuple[str | None, int]]] = {}
    if not account_ids:
        return _Usage(daily, by_service)
    first = today - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    for account_id, day, seats in uow.session.execute(
        sa.select(UsageSnapshot.account_id, UsageSnapshot.day, sa.func.sum(UsageSnapshot.seats))
        .where(UsageSnapshot.account_id.in_(account_ids), UsageSnapshot.day >= first, UsageSnapshot.day <= today)
        .group_by(UsageSnapshot.account_id, UsageSnapshot.day)
    ):
        daily.setdefault(account_id, {})[day] = int(seats or 0)
    for account_id, service, seats in uow.session.execute(
        sa.select(Task.account_id, Task.service, sa.func.sum(Task.seats))
        .where(Task.account_id.in_(account_ids)).group_by(Task.account_id, Task.service)
    ):
        by_service.setdefault(account_id, []).append((service, int(seats or 0)))
    return _Usage(daily, by_service)


def daily_series(observed: dict[date, int], today: date, fallback: int) -> list[int]:
    """One value per day from the first observation to ``today``, carrying values forward."""
    if not observed:
        return [fallback] if fallback else []
    series, value = [], 0
    day = min(observed)
    while day <= today:
        value = observed.get(day, value)
        series.append(value)
        day += timedelta(days=1)
    return series


def _forecast(account: Account, usage: _Usage, book: PriceBook, currency: str, today: date) -> Decimal | None:
    if account.status != "subscribed" or account.plan is None or account.subscribed_on is None:
        return None
    plan = Plan(account.plan)
    observed = usage.daily.get(account.id, {})
    series = daily_series(observed, today, account.seats)
    if not series:
        return ZERO
    mix = usage.by_service.get(account.id, [])
    unit = blended_unit_price([(seats, book.unit_price(currency, service, plan)) for service, seats in mix],
                              book.unit_price(currency, None, plan))
    bill_day = renewal_date(plan is Plan.ANNUAL, account.subscribed_on, today)
    if plan is Plan.ANNUAL:
        seats = forecast_seats(series, (bill_day - today).days)
        return forecast_amount(seats or 0, unit)
    period = month_of(today)
    peak = max((seats for day, seats in observed.items() if period.contains(day)), default=0)
    seats = forecast_seats(series, (period.end - today).days, floor=peak)
    days = active_days(period, account.subscribed_on, account.removed_on)
    return forecast_amount(seats or 0, unit, days, period.days)


# ---- status ------------------------------------------------------------------------------------


def _renewal(account: Account, today: date) -> date | None:
    if account.status != "subscribed" or account.plan is None or account.subscribed_on is None:
        return None
    return renewal_date(account.plan == Plan.ANNUAL.value, account.subscribed_on, today)


STATUS_ORDER = {state: rank for rank, state in enumerate(BillingStatus)}


def _sorted_status_rows(rows: list[tuple[Account, status.AccountBills, BillingStatus]],
                        sort: str) -> list[tuple[Account, status.AccountBills, BillingStatus]]:
    """Billing Status in the order asked; the name (then the id) breaks ties, so pages are stable."""
    by_name = sorted(rows, key=lambda row: (row[0].name.lower(), str(row[0].id)), reverse=sort == "-name")
    if sort.lstrip("-") == "name":
        return by_name
    key = (lambda row: STATUS_ORDER[row[2]]) if sort.lstrip("-") == "status" else (lambda row: row[1].unpaid_amount)
    return sorted(by_name, key=key, reverse=sort.startswith("-"))


def account_status_page(uow: UnitOfWork, scope: BillingScope, query: StatusQuery, book: PriceBook,
                        today: date) -> AccountBillingPage:
    currency = profile_of(uow, scope.distributor_id).currency
    bills = bills_by_account(uow, scope.distributor_id)
    rows = []
    for account in _accounts(uow, scope, query.partner_id, query.direct, query.account_ids):
        summary = bills.get(account.id, status.AccountBills())
        state = status.account_status(summary, today)
        if _shown(account, summary) and (query.billing_status is None or state is query.billing_status):
            rows.append((account, summary, state))
    rows = _sorted_status_rows(rows, query.sort)
    page = rows[(query.page - 1) * query.page_size:query.page * query.page_size]
    usage = _usage(uow, [account.id for account, _, _ in page], today)
    items = [
        AccountBillingRow(
            account_id=account.id, account_name=account.name, email=account.email, partner_id=account.partner_id,
            billing_status=state, subscription=Plan(account.plan) if account.plan and account.status == "subscribed"
            else None, renewal_date=_renewal(account, today), amount_due=summary.unpaid_amount, currency=currency,
            next_payment_forecast=_forecast(account, usage, book, currency, today),
        )
        for account, summary, state in page
    ]
    uow.commit()
    return AccountBillingPage(items=items, page=query.page, page_size=query.page_size, total=len(rows))


# ---- roll-ups and filters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _OwnerTotals:
    """What an owner's accounts owe: the sum of their unpaid shares and the earliest due date."""

    owed: Decimal
    earliest_due: date

    def rollup(self, today: date) -> RollupStatus:
        unpaid = status.AccountBills(bills=1, unpaid_amount=self.owed, earliest_unpaid_due=self.earliest_due)
        return status.rollup_status([status.account_status(unpaid, today)])


def _owner_totals(uow: UnitOfWork, scope: BillingScope,
                  owners: Sequence[uuid.UUID] | None = None) -> dict[uuid.UUID | None, _OwnerTotals]:
    """Unpaid amounts and exceptions per partner (None: the direct accounts), over the
    accounts the caller may see; only of ``owners`` when given (a page: the distributor's
    id stands for its direct accounts).

    From each unpaid invoice's per-owner totals (``invoice_owner_totals``, a few rows per
    invoice); a user limited to some accounts sums those accounts' lines instead.
    """
    if scope.accessible_accounts is not None:
        return _owner_totals_of_lines(uow, scope, owners)
    query = (
        sa.select(InvoiceOwnerTotal.owner_id, sa.func.sum(InvoiceOwnerTotal.amount), sa.func.min(Invoice.due_date))
        .join(Invoice, Invoice.id == InvoiceOwnerTotal.invoice_id)
        .where(Invoice.distributor_id == scope.distributor_id, Invoice.paid_at.is_(None))
        .group_by(InvoiceOwnerTotal.owner_id)
    )
    if owners is not None:
        query = query.where(InvoiceOwnerTotal.owner_id.in_(list(owners)))
    return {None if owner_id == scope.distributor_id else owner_id: _OwnerTotals(money(owed), earliest)
            for owner_id, owed, earliest in uow.session.execute(query)}


def _owner_totals_of_lines(uow: UnitOfWork, scope: BillingScope,
                           owners: Sequence[uuid.UUID] | None) -> dict[uuid.UUID | None, _OwnerTotals]:
    assert scope.accessible_accounts is not None
    query = (
        sa.select(InvoiceLineRow.partner_id, sa.func.sum(InvoiceLineRow.amount), sa.func.min(Invoice.due_date))
        .join(Invoice, Invoice.id == InvoiceLineRow.invoice_id)
        .where(Invoice.distributor_id == scope.distributor_id, Invoice.paid_at.is_(None),
               InvoiceLineRow.account_id.in_(sorted(scope.accessible_accounts)))
        .group_by(InvoiceLineRow.partner_id)
    )
    if owners is not None:
        partners = [owner for owner in owners if owner != scope.distributor_id]
        of_page = InvoiceLineRow.partner_id.in_(partners)
        query = query.where(sa.or_(of_page, InvoiceLineRow.partner_id.is_(None))
                            if scope.distributor_id in owners else of_page)
    return {partner_id: _OwnerTotals(money(owed), earliest)
            for partner_id, owed, earliest in uow.session.execute(query)}


def _rollup(owner_id: uuid.UUID, direct: bool, totals: _OwnerTotals | None, currency: str,
            today: date) -> OwnerRollup:
    state = totals.rollup(today) if totals else status.rollup_status([])
    return OwnerRollup(owner_id=owner_id, direct=direct, amount_owed=totals.owed if totals else ZERO,
                       currency=currency, billing_status=state, label=ROLLUP_LABELS[state])


def _partners(uow: UnitOfWork, distributor_id: uuid.UUID) -> list[uuid.UUID]:
    return list(uow.session.execute(
        sa.select(Owner.id).where(Owner.parent_id == distributor_id, Owner.kind == TenantKind.PARTNER)
    ).scalars())


def rollups(uow: UnitOfWork, scope: BillingScope, query: RollupQuery, today: date) -> RollupList:
    currency = profile_of(uow, scope.distributor_id).currency
    totals = _owner_totals(uow, scope, query.owner_ids)
    owners = query.owner_ids if query.owner_ids is not None else [*_partners(uow, scope.distributor_id),
                                                                  scope.distributor_id]
    items = [
        _rollup(owner, True, totals.get(None), currency, today) if owner == scope.distributor_id
        else _rollup(owner, False, totals.get(owner), currency, today)
        for owner in owners
    ]
    uow.commit()
    return RollupList(items=items)


def billing_filter(uow: UnitOfWork, scope: BillingScope, request: BillingFilterRequest,
                   today: date) -> BillingFilterReply:
    if request.level == "owners":
        totals = _owner_totals(uow, scope)
        exceptions = {partner for partner, t in totals.items() if t.rollup(today) is RollupStatus.WITH_EXCEPTIONS}
        partners = set(_partners(uow, scope.distributor_id)) | {p for p in totals if p is not None}
        want_exceptions = request.owner_status is RollupStatus.WITH_EXCEPTIONS
        ids = sorted((p for p in partners if (p in exceptions) == want_exceptions), key=str)
        uow.commit()
        return BillingFilterReply(ids=ids, includes_direct=(None in exceptions) == want_exceptions)
    owner = request.owner_id
    direct = owner is None or owner == scope.distributor_id
    bills = bills_by_account(uow, scope.distributor_id)
    matching = [
        account.id for account in _accounts(uow, scope, None if direct else owner, direct, None)
        if _shown(account, bills.get(account.id, status.AccountBills()))
        and status.account_status(bills.get(account.id, status.AccountBills()), today) is request.account_status
    ]
    uow.commit()
    return BillingFilterReply(ids=matching)


# ---- ordered by amount (the dashboard's and the drill-down's amount sort) ----------------------------


def _descending(sort: str) -> bool:
    return sort.startswith("-")


UNKNOWN_NAME = "\uffff"  # a name billing has not learnt yet sorts after every known one


def _name_key(name: str | None) -> str:
    return name.lower() if name else UNKNOWN_NAME


def _in_amount_order(rows: list[tuple[Decimal, str, uuid.UUID, T]], sort: str) -> list[T]:
    """Amount first, then name (A to Z whatever the direction of the amount; unknown names
    last), then id."""
    sign = -1 if _descending(sort) else 1
    return [item for *_, item in sorted(rows, key=lambda r: (sign * r[0], r[1], r[2]))]


def owner_page(uow: UnitOfWork, scope: BillingScope, request: OwnerPageRequest, today: date) -> OwnerAmountPage:
    """One page of the candidate partners in the order of what they owe, with the Direct Accounts row.

    Candidates are tenancy's (its search, filters and the caller's scope applied); a
    partner billing knows under another distributor is dropped, one it does not know yet
    owes nothing.
    """
    currency = profile_of(uow, scope.distributor_id).currency
    totals = _owner_totals(uow, scope)
    candidates = {owner for owner in request.ids if owner != scope.distributor_id}
    known = {
        owner_id: (parent_id, name)
        for owner_id, parent_id, name in uow.session.execute(
            sa.select(Owner.id, Owner.parent_id, Owner.name).where(Owner.id.in_(sorted(candidates)))
        )
    } if candidates else {}
    rows = []
    for owner in candidates:
        parent, name = known.get(owner, (None, None))
        if parent not in (None, scope.distributor_id):
            continue  # another distributor's partner
        rollup = _rollup(owner, False, totals.get(owner), currency, today)
        if request.owner_status is None or rollup.billing_status is request.owner_status:
            rows.append((rollup.amount_owed, _name_key(name), owner, rollup))
    ordered = _in_amount_order(rows, request.sort)
    direct: OwnerRollup | None = _rollup(scope.distributor_id, True, totals.get(None), currency, today)
    if request.owner_status is not None and direct is not None and direct.billing_status is not request.owner_status:
        direct = None
    start = (request.page - 1) * request.page_size
    uow.commit()
    return OwnerAmountPage(items=ordered[start:start + request.page_size], direct=direct, page=request.page,
                           page_size=request.page_size, total=len(ordered))


def account_amounts(uow: UnitOfWork, scope: BillingScope, request: AccountAmountRequest,
                    today: date) -> AccountAmountPage:
    """Status and amount due of the given accounts; with ``sort``, one page of them by amount.

    Accounts billing knows under another distributor, or outside the caller's accessible
    accounts, are left out; an account billing has not heard of yet is None, 0.
    """
    currency = profile_of(uow, scope.distributor_id).currency
    wanted = set(request.ids)
    if scope.accessible_accounts is not None:
        wanted &= scope.accessible_accounts
    known = {
        row.id: row
        for row in uow.session.execute(
            sa.select(Account.id, Account.distributor_id, Account.name, Account.status)
            .where(Account.id.in_(sorted(wanted)))
        )
    } if wanted else {}
    wanted = {a for a in wanted if a not in known or known[a].distributor_id in (None, scope.distributor_id)}
    bills = bills_by_account(uow, scope.distributor_id, wanted) if wanted else {}
    rows = []
    for account_id in wanted:
        summary = bills.get(account_id, status.AccountBills())
        item = AccountAmount(account_id=account_id, billing_status=status.account_status(summary, today),
                             amount_due=summary.unpaid_amount, currency=currency)
        account = known.get(account_id)
        if request.account_status is not None and (
                item.billing_status is not request.account_status
                # as billing_filter: a removed account matches a status only while it owes something
                or (account is not None and account.status == "removed" and summary.unpaid_amount <= 0)):
            continue
        rows.append((item.amount_due, _name_key(account.name if account else None), account_id, item))
    uow.commit()
    if request.sort is None:
        items = [item for *_, item in sorted(rows, key=lambda r: r[2])]
        return AccountAmountPage(items=items, page=1, page_size=max(len(items), 1), total=len(items))
    ordered = _in_amount_order(rows, request.sort)
    start = (request.page - 1) * request.page_size
    return AccountAmountPage(items=ordered[start:start + request.page_size], page=request.page,
                             page_size=request.page_size, total=len(ordered))


# ---- history and documents ---------------------------------------------------------------------------


def history(uow: UnitOfWork, scope: BillingScope, query: HistoryQuery) -> HistoryPage:
    """The distributor's bills, newest first; for a user limited to some accounts, only the
    annual invoices of those accounts (``BillingScope.sees_bill``)."""
    base = sa.select(Invoice).where(Invoice.distributor_id == scope.distributor_id)
    if scope.accessible_accounts is not None:
        base = base.where(Invoice.kind == InvoiceKind.ANNUAL.value,
                          Invoice.account_id.in_(sorted(scope.accessible_accounts)))
    total = int(uow.session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one())
    column = {"date": Invoice.issue_date, "due": Invoice.due_date, "amount": Invoice.total}[query.sort.lstrip("-")]
    order = (column.desc(), Invoice.reference.desc()) if query.sort.startswith("-") else (column, Invoice.reference)
    invoices = list(uow.session.execute(
        base.order_by(*order)
        .offset((query.page - 1) * query.page_size).limit(query.page_size)
    ).scalars())
    annual = [i.id for i in invoices if i.kind == InvoiceKind.ANNUAL.value]
    names = dict(uow.session.execute(
        sa.select(InvoiceLineRow.invoice_id, InvoiceLineRow.account_name).where(InvoiceLineRow.invoice_id.in_(annual))
    ).all()) if annual else {}
    items = [
        HistoryRow(
            reference=i.reference, account_id=i.account_id,
            account_name=CONSOLIDATED_BILL if i.kind == InvoiceKind.CONSOLIDATED.value else names.get(i.id, ""),
            issue_date=i.issue_date, due_date=i.due_date, amount=i.total, currency=i.currency,
            consolidated=i.kind == InvoiceKind.CONSOLIDATED.value, period_start=i.period_start,
            period_end=i.period_end, paid=i.paid_at is not None, document="receipt" if i.paid_at else "invoice",
        )
        for i in invoices
    ]
    uow.commit()
    return HistoryPage(items=items, page=query.page, page_size=query.page_size, total=total)


def _line(row: InvoiceLineRow) -> InvoiceLine:
    items = tuple(LineItem(item.get("service"), int(item["seats"]), Decimal(item["unit_price"]),
                           Decimal(item["amount"])) for item in row.items)
    return InvoiceLine(row.account_id, row.account_name, row.partner_id, Plan(row.plan), row.seats, row.days,
                       row.period_days, items)


def bill_document(uow: UnitOfWork, scope: BillingScope, reference: str) -> BillDocument:
    invoice = scoped_invoice(uow, scope, reference)
    rows = uow.session.execute(
        sa.select(InvoiceLineRow).where(InvoiceLineRow.invoice_id == invoice.id)
        .order_by(sa.func.lower(InvoiceLineRow.account_name), InvoiceLineRow.id)
    ).scalars()
    document = BillDocument(
        reference=invoice.reference, consolidated=invoice.kind == InvoiceKind.CONSOLIDATED.value,
        issue_date=invoice.issue_date, due_date=invoice.due_date, period_start=invoice.period_start,
        period_end=invoice.period_end, currency=invoice.currency, total=invoice.total, bill_to=list(invoice.bill_to),
        lines=[_line(row) for row in rows], paid_on=invoice.paid_at.date() if invoice.paid_at else None,
        paid_by=(invoice.paid_by or "").replace("_", " ") or None,
    )
    uow.commit()
    return document


def invoice_document(uow: UnitOfWork, scope: BillingScope, reference: str, fmt: DocumentFormat) -> DocumentReply:
    """A bill as PDF, or a consolidated bill's lines as CSV (rendered off the eventlet hub)."""
    document = bill_document(uow, scope, reference)
    uow.rollback()  # nothing stays open while the document renders
    return documents.render_off_the_hub(document, fmt)

