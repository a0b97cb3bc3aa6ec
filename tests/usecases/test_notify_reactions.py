"""notify's reactions to other services' events (SQLite, fakes for the other services)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.billing import BillingDetails, InvoiceIssued
from contracts.envelope import Actor, EventEnvelope
from contracts.errors import NotFound
from contracts.tenancy import AccountView, BackupRunRecorded, BackupTaskView
from services.notify.adapters.models import MailAttachment, OutgoingMail, WebhookDelivery
from services.notify.adapters.upstream import TenantInfo
from services.notify.domain import backup_radar_content
from services.notify.domain.messages import Attachment
from services.notify.usecases import reactions
from tests.usecases import test_notify_recipients
from tests.usecases.test_notify_webhooks_delivery import DISTRIBUTOR, configured

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
PARTNER, ACCOUNT, TASK = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
notify_db = test_notify_recipients.notify_db  # the fixture: a migrated notify database


def stored(db: Any) -> list[OutgoingMail]:
    return list(db.unit_of_work().session.scalars(sa.select(OutgoingMail)))


def test_a_used_recovery_code_is_mailed_to_its_user_once_per_event(notify_db):
    envelope = EventEnvelope(type="recovery_code_used", source="identity", tenant_id=uuid.uuid4(), occurred_at=T0,
                             actor=Actor(ip="203.0.113.9"),
                             payload={"user_id": str(uuid.uuid4()), "email": "ann@northwind.example", "remaining": 1})

    for _ in range(2):
        uow = notify_db.unit_of_work()
        reactions.on_recovery_code_used(uow, envelope)
        uow.commit()

    [mail] = stored(notify_db)
    assert mail.recipient == "ann@northwind.example" and mail.subject == "Security notice: A recovery code was used"
    assert "203.0.113.9" in mail.text_body and "1 unused recovery code is left" in mail.text_body
    assert mail.idempotency_key == f"recovery-code-used:{envelope.event_id}"


class FakeBilling:
    def __init__(self, delivery: str | None) -> None:
        self.delivery = delivery

    def details(self, distributor_id: uuid.UUID) -> BillingDetails | None:
        if self.delivery is None:
            return None
        return BillingDetails(first_name="Bea", last_name="Bills", billing_email="billing@northwind.example",
                              company="Northwind", company_tax_id="US123456", address_line1="1 Main St",
                              city="Springfield", zip="12345", country="US", phone="+1 555 0100",
                              invoice_delivery=self.delivery)

    def invoice_pdf(self, reference: str, distributor_id: uuid.UUID) -> Attachment:
        return Attachment(f"{reference}.pdf", "application/pdf", b"%PDF-1.4 fake")


def invoice_event() -> EventEnvelope:
    issued = InvoiceIssued(invoice_id=uuid.uuid4(), reference="INV-2026-000042", distributor_id=DISTRIBUTOR,
                           consolidated=True, period_start=date(2026, 10, 1), period_end=date(2026, 10, 31),
                           issue_date=date(2026, 11, 1), due_date=date(2026, 12, 1), amount=Decimal("1234.50"),
                           currency="USD", lines=3, method="invoice")
    return EventEnvelope(type="invoice_issued", source="billing", tenant_id=DISTRIBUTOR, payload=issued.to_wire())


@pytest.mark.parametrize(("delivery", "attachments"), [("link", 0), ("attachment", 1)])
def test_an_issued_invoice_is_mailed_to_the_billing_address_as_link_or_attachment(notify_db, delivery,
                                                                                   attachments):
    uow = notify_db.unit_of_work()
    mail = reactions.invoice_mail(invoice_event(), FakeBilling(delivery), "https://portal.test")
    assert reactions.queue_pending_mail(uow, mail)
    uow.commit()

    [mail] = stored(notify_db)
    assert mail.recipient == "billing@northwind.example" and mail.recipient_name == "Bea Bills"
    assert "1,234.50 USD, due on 2026-12-01" in mail.text_body
    assert "https://portal.test/api/v1/billing/invoices/INV-2026-000042.pdf" in mail.text_body
    assert len(notify_db.unit_of_work().session.scalars(sa.select(MailAttachment)).all()) == attachments


def test_an_invoice_without_billing_details_is_not_mailed(notify_db):
    assert reactions.invoice_mail(invoice_event(), FakeBilling(None), "https://x") is None
    assert not reactions.queue_pending_mail(notify_db.unit_of_work(), None)
    assert stored(notify_db) == []


class FakeTree:
    """account → partner → distributor → root."""

    def __init__(self) -> None:
        self.parents = {PARTNER: DISTRIBUTOR, DISTRIBUTOR: uuid.UUID(int=1), uuid.UUID(int=1): None}
        self.lookups = 0
        self.account_exists = True

    def tenant(self, tenant_id: uuid.UUID) -> TenantInfo:
        self.lookups += 1
        return TenantInfo(id=tenant_id, parent_id=self.parents[tenant_id], kind="partner", name="x")

    def account(self, account_id: uuid.UUID) -> AccountView:
        if not self.account_exists:
            raise NotFound("account not found")
        task = BackupTaskView(id=TASK, account_id=ACCOUNT, service="sharepoint", name="Sites", state="active",
                              created_at=T0)
        return AccountView(id=ACCOUNT, owner_id=PARTNER, owner_kind="partner", name="Coho Winery",
                           account_status="monthly_subscribed", backup_status="successful", subscription="subscribe_monthly",
                           size_bytes=1, seats=1, tasks=[task], created_at=T0)


def run_recorded(status: str = "partial") -> BackupRunRecorded:
    return BackupRunRecorded(run_id=uuid.uuid4(), task_id=TASK, account_id=ACCOUNT, owner_id=PARTNER, status=status,
                             started_at=T0, finished_at=T0, size_bytes=10, seats=2, latest=True)


def test_a_backup_result_becomes_a_webhook_for_the_distributor_above_the_account(notify_db):
    configured(notify_db)
    tree, parents = FakeTree(), {}
    run = run_recorded()

    uow = notify_db.unit_of_work()
    assert reactions.on_backup_runs_recorded(uow, [run], tree, parents) == 1
    uow.commit()
    assert reactions.on_backup_runs_recorded(notify_db.unit_of_work(), [run], tree, parents) == 0  # same run again

    [delivery] = notify_db.unit_of_work().session.scalars(sa.select(WebhookDelivery)).all()
    body = backup_radar_content.backup_result_data(run, tree.account(ACCOUNT))
    assert delivery.source_key == f"run:{run.run_id}" and delivery.event_type == "backup.result"
    assert '"status":"Warning"' in delivery.body and '"task_name":"Sites"' in delivery.body
    assert body["account_name"] == "Coho Winery"
    assert tree.lookups == 3  # the chain is looked up once, then cached


def test_each_run_of_a_batch_becomes_its_own_webhook(notify_db):
    configured(notify_db)
    tree, parents = FakeTree(), {}
    batch = [run_recorded("success"), run_recorded("failure"), run_recorded("partial")]

    uow = notify_db.unit_of_work()
    assert reactions.on_backup_runs_recorded(uow, batch, tree, parents) == 3
    uow.commit()

    deliveries = notify_db.unit_of_work().session.scalars(sa.select(WebhookDelivery)).all()
    assert sorted(d.source_key for d in deliveries) == sorted(f"run:{run.run_id}" for run in batch)
    assert tree.lookups == 3  # one chain for the batch, cached


def test_without_an_active_integration_a_backup_result_costs_no_lookup(notify_db):
    tree = FakeTree()

    assert reactions.on_backup_runs_recorded(notify_db.unit_of_work(), [run_recorded(), run_recorded()], tree, {}) == 0
    assert tree.lookups == 0


def test_a_result_of_an_account_removed_meanwhile_still_goes_without_names(notify_db):
    configured(notify_db)
    tree = FakeTree()
    tree.account_exists = False

    uow = notify_db.unit_of_work()
    assert reactions.on_backup_runs_recorded(uow, [run_recorded("failure")], tree, {}) == 1
    uow.commit()
    [delivery] = notify_db.unit_of_work().session.scalars(sa.select(WebhookDelivery)).all()
    assert '"account_name":null' in delivery.body and '"status":"Failure"' in delivery.body
