"""notify: recipients, outgoing mail, reports, webhook endpoints and deliveries.

Entrypoints only: parse the wire input, call a use case, return the wire output.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nameko.timer import Timer

from contracts.envelope import EventEnvelope
from contracts.errors import NotFound, ValidationFailed
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
from servicekit.events import event_handler
from servicekit.idempotency import idempotent_handler
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging, get_logger
from servicekit.loops import PollingLoop, short_error
from servicekit.rpc import rpc
from servicekit.validation import parse
from services.notify import integrations, reactions, recipients, scheduling, webhooks
from services.notify.delivery import MailDelivery, WebhookDelivery
from services.notify.keys import NotifyKeys, load_keys
from services.notify.mail import enqueue_mail
from services.notify.settings import NotifySettings
from services.notify.ssrf import Target, check_url
from services.notify.upstream import BillingRpc, SystemRpcProxy, TenancyRpc, expiring_passwords

configure_logging("notify")
log = get_logger(__name__)

# Tenants' parents, for finding the distributors above an account (a parent never changes).
PARENTS: dict[uuid.UUID, uuid.UUID | None] = {}


class ScheduleTimer(Timer):
    """nameko's timer, its interval read from ``NOTIFY_SCHEDULE_SECONDS`` when the service starts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(interval=NotifySettings().schedule_seconds, **kwargs)

    def setup(self) -> None:
        self.interval = NotifySettings().schedule_seconds


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
            return check_url(url, allow_loopback=settings.webhooks_allow_loopback)

        reply = integrations.update_backup_radar(self.db, self.context, parse(BackupRadarUpdate, request),
                                                 self.keys, url_check, self._is_distributor)
        self.webhook_delivery.wake()
        return reply.to_wire()

    def _is_distributor(self, tenant_id: uuid.UUID) -> bool:
        try:
            return bool(TenancyRpc(self.tenancy).tenant(tenant_id).kind == "distributor")
        except NotFound:
            return False

    @rpc
    def list_webhook_deliveries(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        return webhooks.list_deliveries(self.db, self.context, parse(DeliveryListQuery, query or {})).to_wire()

    @rpc
    def replay_webhook_delivery(self, delivery_id: str, distributor_id: str | None = None) -> dict[str, Any]:
        target = parse_uuid(distributor_id, "distributor_id") if distributor_id is not None else None
        reply = webhooks.replay_delivery(self.db, self.context, parse_uuid(delivery_id, "id"), target)
        self.webhook_delivery.wake()
        return reply.to_wire()

    # ---- reactions -----------------------------------------------------------------------------

    @event_handler("identity", "recovery_code_used")
    @idempotent_handler()
    def mail_recovery_code_use(self, envelope: EventEnvelope) -> None:
        reactions.on_recovery_code_used(self.db, envelope)
        self.delivery.wake()

    # Reactions that need another service: if it (or the database) is away, the kit's
    # handler gives the event back after a growing pause and parks it after the limit.
    # The other service is asked in the handler's gather step, before its transaction opens.
    @event_handler("billing", "invoice_issued")
    def mail_invoice(self, body: Any) -> None:
        self._mail_invoice(body)
        self.delivery.wake()

    def _invoice_mail(self, envelope: EventEnvelope) -> reactions.PendingMail | None:
        return reactions.invoice_mail(envelope, BillingRpc(self.billing), self.settings.public_base_url)

    @idempotent_handler(gather=_invoice_mail)
    def _mail_invoice(self, envelope: EventEnvelope, mail: reactions.PendingMail | None) -> None:
        reactions.queue_pending_mail(self.db, mail)

    @event_handler("tenancy", "backup_runs_recorded")
    def push_backup_results(self, body: Any) -> None:
        self._push_backup_result(body)
        self.webhook_delivery.wake()

    def _backup_result_webhooks(self, envelope: EventEnvelope) -> list[reactions.PendingWebhook]:
        runs = BackupRunsRecorded.from_wire(envelope.payload).runs
        return reactions.backup_result_webhooks(self.db, runs, TenancyRpc(self.tenancy), PARENTS)

    @idempotent_handler(gather=_backup_result_webhooks)
    def _push_backup_result(self, envelope: EventEnvelope, webhooks: list[reactions.PendingWebhook]) -> None:
        reactions.queue_pending_webhooks(self.db, webhooks)

    # ---- the scheduler -------------------------------------------------------------------------

    @ScheduleTimer.decorator
    def run_schedules(self) -> None:
        """Reports whose period is over, Backup Radar's daily CSV and health, password reminders."""
        settings, now = self.settings, datetime.now(UTC)
        source = TenancyRpc(self.tenancy)
        links = scheduling.Links(self.keys, settings.public_base_url, settings.report_link_days)
        jobs = {
            "reports": lambda: scheduling.run_scheduled_reports(self.db, source, links, now),
            "backup_radar": lambda: scheduling.run_backup_radar_daily(self.db, source, now),
            "password_reminders": lambda: scheduling.run_password_reminders(
                self.db, lambda days: expiring_passwords(self.identity, days), settings.password_reminder_days,
                settings.public_base_url, now),
        }
        for name, job in jobs.items():
            try:
                done = job()
            except Exception as exc:  # one job's trouble never stops the others; next tick retries
                self.db.rollback()
                log.warning("scheduled job failed", job=name, error=short_error(exc))
                continue
            if done:
                log.info("scheduled job done", job=name, count=done)
        self.delivery.wake()
        self.webhook_delivery.wake()
