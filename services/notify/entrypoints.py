"""notify: recipients, outgoing mail, reports, webhook endpoints and deliveries.

Entrypoints only: parse the wire input, call a use case, return the wire output.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.envelope import EventEnvelope
from contracts.errors import ValidationFailed
from contracts.events import BillingEvent, IdentityEvent, TenancyEvent
from contracts.notify import (
    BackupRadarUpdate,
    DeliveryListQuery,
    NotificationSettings,
    RecipientListQuery,
    RecipientRequest,
    RecipientUpdate,
    SendMailRequest,
)
from contracts.tenancy import BackupRunsRecorded
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging, get_logger
from servicekit.loops import PollingLoop
from servicekit.rpc import rpc
from servicekit.subscriptions import On, subscribe
from servicekit.timers import every
from servicekit.validation import parse
from services.notify.adapters.delivery import MailDelivery, WebhookDelivery
from services.notify.adapters.http_sender import check_url_here
from services.notify.adapters.keys import NotifyKeys, load_keys
from services.notify.adapters.upstream import TENANT_PARENTS, BillingRpc, SystemRpcProxy, TenancyRpc, expiring_passwords
from services.notify.domain.ssrf import Target
from services.notify.settings import NotifySettings
from services.notify.usecases import integrations, reactions, recipients, scheduled_reports, scheduling, webhooks
from services.notify.usecases.mail import enqueue_mail

configure_logging("notify")
log = get_logger(__name__)


def _invoice_mail(service: Any, envelope: EventEnvelope) -> reactions.PendingMail | None:
    """Asks billing, outside any transaction (the handler's gather step)."""
    return reactions.invoice_mail(envelope, BillingRpc(service.billing), service.settings.public_base_url)


def _backup_result_webhooks(service: Any, envelope: EventEnvelope) -> list[reactions.PendingWebhook]:
    """Asks tenancy for the distributors above each account, outside any transaction."""
    runs = BackupRunsRecorded.from_wire(envelope.payload).runs
    return reactions.backup_result_webhooks(service.db, runs, TenancyRpc(service.tenancy), TENANT_PARENTS)


def _wake_mail(service: Any) -> None:
    service.delivery.wake()


def _wake_webhooks(service: Any) -> None:
    service.webhook_delivery.wake()


# Reactions. One that needs another service asks it in its gather step, before its transaction
# opens; if it (or the database) is away, the kit's handler gives the event back after a
# growing pause and parks it after the limit.
EVENT_HANDLERS: dict[IdentityEvent | BillingEvent | TenancyEvent, On] = {
    IdentityEvent.RECOVERY_CODE_USED: On(
        lambda service, envelope: reactions.on_recovery_code_used(service.db, envelope),
        method="mail_recovery_code_use", then=_wake_mail),
    BillingEvent.INVOICE_ISSUED: On(
        lambda service, envelope, mail: reactions.queue_pending_mail(service.db, mail),
        method="mail_invoice", gather=_invoice_mail, then=_wake_mail),
    TenancyEvent.BACKUP_RUNS_RECORDED: On(
        lambda service, envelope, pending: reactions.queue_pending_webhooks(service.db, pending),
        method="push_backup_results", gather=_backup_result_webhooks, then=_wake_webhooks),
}


@subscribe(EVENT_HANDLERS)
class NotifyService(ServiceBase):
    name = "notify"

    db = Database(Path(__file__).parent / "adapters" / "migrations")
    delivery: PollingLoop = MailDelivery()
    webhook_delivery: PollingLoop = WebhookDelivery()
    tenancy = SystemRpcProxy("tenancy")
    identity = SystemRpcProxy("identity")
    billing = SystemRpcProxy("billing")

    @property
    def settings(self) -> NotifySettings:
        return NotifySettings()

    @property
    def keys(self) -> NotifyKeys:
        return load_keys(self.settings)

    # ---- mail ----------------------------------------------------------------------------

    @rpc
    def send_mail(self, request: dict[str, Any]) -> dict[str, Any]:
        """Queue a templated mail (``SendMailRequest``); idempotent on ``idempotency_key``."""
        reply = enqueue_mail(self.db, parse(SendMailRequest, request))
        if not reply.duplicate:
            self.delivery.wake()
        return reply.to_wire()

    # ---- recipients and settings ------------------------------------------------------------

    @rpc
    def list_recipients(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        return recipients.list_recipients(self.db, self.context, parse(RecipientListQuery, query or {})).to_wire()

    @rpc
    def add_recipient(self, request: dict[str, Any]) -> dict[str, Any]:
        return recipients.add_recipient(self.db, self.context, parse(RecipientRequest, request)).to_wire()

    @rpc
    def update_recipient(self, recipient_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return recipients.update_recipient(
            self.db, self.context, parse_uuid(recipient_id, "id"), parse(RecipientUpdate, request)
        ).to_wire()

    @rpc
    def remove_recipient(self, recipient_id: str) -> None:
        recipients.remove_recipient(self.db, self.context, parse_uuid(recipient_id, "id"))

    @rpc
    def get_notification_settings(self) -> dict[str, Any]:
        return recipients.get_settings(self.db, self.context).to_wire()

    @rpc
    def put_notification_settings(self, request: dict[str, Any]) -> dict[str, Any]:
        return recipients.put_settings(self.db, self.context, parse(NotificationSettings, request)).to_wire()

    @rpc
    def get_report_csv(self, report_id: str, expires: int, signature: str) -> dict[str, Any]:
        """A report's CSV through its signed link (no caller needed: the signature is the credential)."""
        if not isinstance(expires, int) or not isinstance(signature, str) or len(signature) > 100:
            raise ValidationFailed.for_field("signature", "is not a report link signature")
        return reactions.report_csv(self.db, self.keys, parse_uuid(report_id, "id"), expires, signature).to_wire()

    # ---- Backup Radar ------------------------------------------------------------------------

    @rpc
    def get_backup_radar(self, distributor_id: str | None = None) -> dict[str, Any]:
        target = parse_uuid(distributor_id, "distributor_id") if distributor_id is not None else None
        return integrations.get_backup_radar(self.db, self.context, target, self.keys).to_wire()

    @rpc
    def update_backup_radar(self, request: dict[str, Any]) -> dict[str, Any]:
        settings = self.settings

        def url_check(url: str) -> Target:
            return check_url_here(url, allow_loopback=settings.webhooks_allow_loopback)

        reply = integrations.update_backup_radar(self.db, self.context, parse(BackupRadarUpdate, request),
                                                 self.keys, url_check, self._is_distributor)
        self.webhook_delivery.wake()
        return reply.to_wire()

    def _is_distributor(self, tenant_id: uuid.UUID) -> bool:
        return integrations.is_distributor(TenancyRpc(self.tenancy), tenant_id)

    @rpc
    def list_webhook_deliveries(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        return webhooks.list_deliveries(self.db, self.context, parse(DeliveryListQuery, query or {})).to_wire()

    @rpc
    def replay_webhook_delivery(self, delivery_id: str, distributor_id: str | None = None) -> dict[str, Any]:
        target = parse_uuid(distributor_id, "distributor_id") if distributor_id is not None else None
        reply = webhooks.replay_delivery(self.db, self.context, parse_uuid(delivery_id, "id"), target)
        self.webhook_delivery.wake()
        return reply.to_wire()

    @rpc
    def send_backup_radar_test(self, distributor_id: str | None = None) -> dict[str, Any]:
        target = parse_uuid(distributor_id, "distributor_id") if distributor_id is not None else None
        reply = webhooks.send_test_event(self.db, self.context, target)
        self.webhook_delivery.wake()
        return reply.to_wire()

    # ---- the scheduler -------------------------------------------------------------------------

    @every(lambda: NotifySettings().schedule_seconds)
    def run_schedules(self) -> None:
        """Reports whose period is over, Backup Radar's daily CSV and health, password reminders."""
        settings = self.settings
        scheduling.run_due_jobs(
            self.db, TenancyRpc(self.tenancy), scheduled_reports.Links(self.keys, settings.public_base_url,
                                                                settings.report_link_days),
            lambda days: expiring_passwords(self.identity, days), settings, datetime.now(UTC))
        self.delivery.wake()
        self.webhook_delivery.wake()
