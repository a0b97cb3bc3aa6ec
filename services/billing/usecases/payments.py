"""Payments: card charges through the processor, and payments an operator records.

A card charge is three steps, so that a crash never charges twice nor loses a charge:
(1) a ``pending`` payment row with its idempotency key commits; (2) the processor is asked
to charge with that key; (3) the answer is recorded (``succeeded`` or ``failed``) with
``payment_received`` / ``payment_failed``. A crash between (1) and (3) leaves the row
pending; :func:`settle_pending` asks the processor again *with the same key*, which
answers with the original outcome — it completes the one charge, it never makes a second.
A failed charge stays failed: nothing retries it; the distributor pays again (a new
attempt, a new key) or an operator records a payment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.billing import (
    InvoiceKind,
    PaymentFailed,
    PaymentMethod,
    PaymentReceived,
    PaymentStatus,
    PaymentView,
    RecordPaymentRequest,
)
from contracts.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from contracts.events import BillingEvent
from servicekit.db import UnitOfWork
from servicekit.logging import get_logger
from services.billing.adapters.account_billing import announce_account_billing
from services.billing.adapters.models import Card, Invoice, Payment
from services.billing.adapters.processor import ChargeResult, PaymentProcessor
from services.billing.domain.pricebook import PriceBook
from services.billing.usecases.access import BillingScope
from services.billing.usecases.profiles import active_card

log = get_logger(__name__)

PENDING_GRACE = timedelta(minutes=2)


def _now() -> datetime:
    return datetime.now(UTC)


def payment_view(payment: Payment, reference: str) -> PaymentView:
    return PaymentView(id=payment.id, reference=reference, method=PaymentMethod(payment.method), amount=payment.amount,
                       currency=payment.currency, status=PaymentStatus(payment.status),
                       failure_code=payment.failure_code, failure_message=payment.failure_message,
                       created_at=payment.created_at, settled_at=payment.settled_at)


def invoice_by_reference(uow: UnitOfWork, reference: str, distributor_id: uuid.UUID | None,
                         lock: bool = False) -> Invoice:
    query = sa.select(Invoice).where(Invoice.reference == reference)
    invoice = uow.session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    # Another distributor's bill does not exist for this caller.
    if invoice is None or (distributor_id is not None and invoice.distributor_id != distributor_id):
        raise NotFound("invoice not found")
    return invoice


def scoped_invoice(uow: UnitOfWork, scope: BillingScope, reference: str) -> Invoice:
    """A bill the caller may see: of its distributor and, for a user limited to some
    accounts, the annual invoice of one of them. Any other does not exist for it (404)."""
    invoice = invoice_by_reference(uow, reference, scope.distributor_id)
    if not scope.sees_bill(invoice.kind == InvoiceKind.CONSOLIDATED.value, invoice.account_id):
        raise NotFound("invoice not found")
    return invoice


def _pending(uow: UnitOfWork, invoice_id: uuid.UUID) -> bool:
    return uow.session.execute(
        sa.select(Payment.id).where(Payment.invoice_id == invoice_id, Payment.status == PaymentStatus.PENDING.value)
    ).first() is not None


def _attempts(uow: UnitOfWork, invoice_id: uuid.UUID) -> int:
    return int(uow.session.execute(
        sa.select(sa.func.count()).select_from(Payment).where(Payment.invoice_id == invoice_id)
    ).scalar_one())


def _announce(uow: UnitOfWork, payment: Payment, invoice: Invoice) -> None:
    if payment.status == PaymentStatus.SUCCEEDED.value:
        assert payment.settled_at is not None
        uow.emit(BillingEvent.PAYMENT_RECEIVED, PaymentReceived(
            payment_id=payment.id, invoice_id=invoice.id, reference=invoice.reference,
            distributor_id=invoice.distributor_id, method=PaymentMethod(payment.method), amount=payment.amount,
            currency=payment.currency, paid_at=payment.settled_at,
        ).to_wire(), tenant_id=invoice.distributor_id)
    else:
        uow.emit(BillingEvent.PAYMENT_FAILED, PaymentFailed(
            payment_id=payment.id, invoice_id=invoice.id, reference=invoice.reference,
            distributor_id=invoice.distributor_id, method=PaymentMethod(payment.method), amount=payment.amount,
            currency=payment.currency, failure_code=payment.failure_code or "failed",
            failure_message=payment.failure_message or "the charge failed",
        ).to_wire(), tenant_id=invoice.distributor_id)


def _settle(uow: UnitOfWork, payment_id: uuid.UUID, result: ChargeResult) -> Payment:
    payment = uow.session.get(Payment, payment_id, with_for_update=True, populate_existing=True)
    assert payment is not None
    invoice = uow.session.get(Invoice, payment.invoice_id, with_for_update=True, populate_existing=True)
    assert invoice is not None
    if payment.status != PaymentStatus.PENDING.value:  # settled meanwhile by another worker
        uow.commit()
        return payment
    payment.processor_charge_id = result.charge_id
    payment.settled_at = _now()
    invoice.auto_charge_pending = False
    if result.succeeded and invoice.paid_at is None:
        payment.status = PaymentStatus.SUCCEEDED.value
        invoice.paid_at, invoice.paid_by = payment.settled_at, PaymentMethod.CARD.value
        invoice.charge_failed = False
        announce_account_billing(uow, invoice.id)
    else:
        payment.status = PaymentStatus.FAILED.value
        payment.failure_code = (result.failure_code or "failed")[:50]
        payment.failure_message = (result.failure_message or "the charge failed")[:200]
        invoice.charge_failed = True
    _announce(uow, payment, invoice)
    uow.commit()
    log.info("card charge settled", reference=invoice.reference, status=payment.status,
             failure_code=payment.failure_code)
    return payment


def charge_invoice(uow: UnitOfWork, invoice_id: uuid.UUID, card: Card | None, processor: PaymentProcessor,
                   key: str) -> Payment:
    """Charge the invoice's amount to ``card`` once per ``key`` (see the module's steps)."""
    invoice = uow.session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)
    assert invoice is not None
    if invoice.paid_at is not None:
        raise Conflict("this invoice is already paid")
    if _pending(uow, invoice.id):
        raise Conflict("a payment of this invoice is in progress")
    payment = Payment(id=uuid.uuid4(), invoice_id=invoice.id, distributor_id=invoice.distributor_id,
                      method=PaymentMethod.CARD.value, amount=invoice.total, currency=invoice.currency,
                      status=PaymentStatus.PENDING.value, idempotency_key=key, card_id=card.id if card else None,
                      created_at=_now())
    uow.session.add(payment)
    if card is None:
        payment.status, payment.settled_at = PaymentStatus.FAILED.value, _now()
        payment.failure_code, payment.failure_message = "no_active_card", "no active card to charge"
        invoice.charge_failed, invoice.auto_charge_pending = True, False
        _announce(uow, payment, invoice)
        uow.commit()
        return payment
    token, reference = card.processor_token, invoice.reference
    uow.commit()  # step 1: the pending row exists before the processor hears of it
    try:
        result = processor.charge(token, payment.amount, payment.currency, key, f"Invoice {reference}")
    except Exception as exc:
        log.warning("processor unreachable; the charge stays pending", reference=reference, error=type(exc).__name__)
        raise ServiceUnavailable("the payment processor did not answer; the charge will be completed later") from None
    return _settle(uow, payment.id, result)


def pay_invoice(uow: UnitOfWork, scope: BillingScope, reference: str, card_id: uuid.UUID | None,
                processor: PaymentProcessor) -> PaymentView:
    """The distributor pays a bill by card now (a new attempt: a new idempotency key)."""
    invoice = scoped_invoice(uow, scope, reference)
    if card_id is None:
        card = active_card(uow, scope.distributor_id)
        if card is None:
            raise ValidationFailed.for_field("card_id", "no active card: add a card or name one")
    else:
        card = uow.session.get(Card, card_id)
        if card is None or card.deleted_at is not None or card.distributor_id != scope.distributor_id:
            raise NotFound("card not found")
    key = f"pay:{invoice.id}:{_attempts(uow, invoice.id) + 1}"
    payment = charge_invoice(uow, invoice.id, card, processor, key)
    return payment_view(payment, reference)


def record_payment(uow: UnitOfWork, recorded_by: uuid.UUID | None, request: RecordPaymentRequest,
                   book: PriceBook) -> PaymentView:
    """An operator records a payment made outside the processor: PayPal, bank transfer (for
    bills over the price book's threshold, USD 1,000), or a card taken by phone."""
    invoice = invoice_by_reference(uow, request.reference, None, lock=True)
    if invoice.paid_at is not None:
        raise Conflict("this invoice is already paid")
    if request.currency != invoice.currency:
        raise ValidationFailed.for_field("currency", f"the invoice is in {invoice.currency}")
    if request.amount != invoice.total:
        raise ValidationFailed.for_field("amount", f"must be the invoice total, {invoice.total} {invoice.currency}")
    if request.method is PaymentMethod.BANK_TRANSFER and not book.bank_transfer_allowed(invoice.currency,
                                                                                      invoice.total):
        limit = book.prices(invoice.currency).bank_transfer_over
        raise ValidationFailed.for_field("method", f"bank transfer is for invoices over {limit} {invoice.currency}")
    paid_at = datetime.combine(request.paid_on, time(12), tzinfo=UTC) if request.paid_on else _now()
    payment = Payment(id=uuid.uuid4(), invoice_id=invoice.id, distributor_id=invoice.distributor_id,
                      method=request.method.value, amount=request.amount, currency=request.currency,
                      status=PaymentStatus.SUCCEEDED.value, idempotency_key=f"recorded:{uuid.uuid4()}",
                      external_reference=request.external_reference, recorded_by=recorded_by,
                      created_at=_now(), settled_at=paid_at)
    uow.session.add(payment)
    invoice.paid_at, invoice.paid_by = paid_at, request.method.value
    invoice.auto_charge_pending = False
    announce_account_billing(uow, invoice.id)
    _announce(uow, payment, invoice)
    uow.commit()
    return payment_view(payment, invoice.reference)


def _ids(uow: UnitOfWork, query: sa.Select[Any]) -> Iterator[uuid.UUID]:
    ids = list(uow.session.execute(query).scalars())
    uow.commit()
    yield from ids


def charge_due_invoices(uow: UnitOfWork, as_of: date, processor: PaymentProcessor,
                        distributor_id: uuid.UUID | None = None) -> tuple[int, int]:
    """The automated monthly card charge of every card-method bill due by ``as_of``, once."""
    query = sa.select(Invoice.id).where(Invoice.auto_charge_pending.is_(True), Invoice.paid_at.is_(None),
                                        Invoice.due_date <= as_of)
    if distributor_id is not None:
        query = query.where(Invoice.distributor_id == distributor_id)
    succeeded = failed = 0
    for invoice_id in _ids(uow, query.order_by(Invoice.due_date, Invoice.reference)):
        invoice = uow.session.get(Invoice, invoice_id, populate_existing=True)
        if invoice is None or not invoice.auto_charge_pending or invoice.paid_at is not None:
            continue
        card = active_card(uow, invoice.distributor_id)
        try:
            payment = charge_invoice(uow, invoice_id, card, processor, f"auto:{invoice_id}")
        except (Conflict, ServiceUnavailable) as exc:
            uow.rollback()
            log.warning("automatic charge not made", reference=invoice.reference, error=exc.code)
            continue
        if payment.status == PaymentStatus.SUCCEEDED.value:
            succeeded += 1
        else:
            failed += 1
    return succeeded, failed


def settle_pending(uow: UnitOfWork, processor: PaymentProcessor, now: datetime | None = None) -> int:
    """Complete charges left pending by a crash, with their original idempotency keys."""
    cutoff = (now or _now()) - PENDING_GRACE
    query = sa.select(Payment.id).where(Payment.status == PaymentStatus.PENDING.value, Payment.created_at < cutoff)
    settled = 0
    for payment_id in _ids(uow, query):
        payment = uow.session.get(Payment, payment_id, populate_existing=True)
        card = uow.session.get(Card, payment.card_id) if payment and payment.card_id else None
        if payment is None or card is None:
            continue
        key, token, amount, currency = payment.idempotency_key, card.processor_token, payment.amount, payment.currency
        uow.commit()
        try:
            result = processor.charge(token, amount, currency, key, "completion of an interrupted charge")
        except Exception as exc:
            log.warning("pending charge not settled yet", error=type(exc).__name__)
            continue
        _settle(uow, payment_id, result)
        settled += 1
    return settled
