"""notify's RPC methods as the gateway calls them: typed arguments, typed replies.

Written once from the service's entry points (services/notify/entrypoints.py) and the contract
models; keep it in step with both by hand. Every call carries the request's correlation id
and caller, and a deadline (gateway.rpc).
"""

from __future__ import annotations

import uuid

from contracts.notify import (
    BackupRadarView,
    DeliveryPage,
    DeliveryView,
    NotificationSettings,
    RecipientPage,
    RecipientView,
    ReportCsv,
)
from gateway.clients.base import ServiceClient, Wire, as_text


class NotifyClient(ServiceClient):
    service = "notify"

    def add_recipient(self, request: Wire, *, timeout: float | None = None) -> RecipientView:
        return RecipientView.from_wire(self._call("add_recipient", request, timeout=timeout))

    def get_backup_radar(
        self, distributor_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> BackupRadarView:
        return BackupRadarView.from_wire(self._call("get_backup_radar", as_text(distributor_id), timeout=timeout))

    def get_notification_settings(self, *, timeout: float | None = None) -> NotificationSettings:
        return NotificationSettings.from_wire(self._call("get_notification_settings", timeout=timeout))

    def get_report_csv(
        self, report_id: uuid.UUID | str, expires: int, signature: str, *, timeout: float | None = None
    ) -> ReportCsv:
        """A report's CSV through its signed link (no caller needed: the signature is the credential)."""
        reply = self._call("get_report_csv", as_text(report_id), expires, signature, timeout=timeout)
        return ReportCsv.from_wire(reply)

    def list_recipients(self, query: Wire | None = None, *, timeout: float | None = None) -> RecipientPage:
        return RecipientPage.from_wire(self._call("list_recipients", query, timeout=timeout))

    def list_webhook_deliveries(self, query: Wire | None = None, *, timeout: float | None = None) -> DeliveryPage:
        return DeliveryPage.from_wire(self._call("list_webhook_deliveries", query, timeout=timeout))

    def put_notification_settings(self, request: Wire, *, timeout: float | None = None) -> NotificationSettings:
        return NotificationSettings.from_wire(self._call("put_notification_settings", request, timeout=timeout))

    def remove_recipient(self, recipient_id: uuid.UUID | str, *, timeout: float | None = None) -> None:
        self._call("remove_recipient", as_text(recipient_id), timeout=timeout)

    def replay_webhook_delivery(
        self, delivery_id: uuid.UUID | str, distributor_id: uuid.UUID | str | None = None, *,
        timeout: float | None = None,
    ) -> DeliveryView:
        reply = self._call("replay_webhook_delivery", as_text(delivery_id), as_text(distributor_id), timeout=timeout)
        return DeliveryView.from_wire(reply)

    def send_backup_radar_test(
        self, distributor_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> DeliveryView:
        return DeliveryView.from_wire(self._call("send_backup_radar_test", as_text(distributor_id), timeout=timeout))

    def update_backup_radar(self, request: Wire, *, timeout: float | None = None) -> BackupRadarView:
        return BackupRadarView.from_wire(self._call("update_backup_radar", request, timeout=timeout))

    def update_recipient(
        self, recipient_id: uuid.UUID | str, request: Wire, *, timeout: float | None = None
    ) -> RecipientView:
        return RecipientView.from_wire(self._call("update_recipient", as_text(recipient_id), request, timeout=timeout))
