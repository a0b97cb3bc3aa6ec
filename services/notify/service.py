"""notify: recipients, outgoing mail, webhook endpoints and deliveries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contracts.notify import SendMailRequest
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.logging import configure_logging
from servicekit.loops import PollingLoop
from servicekit.rpc import rpc
from servicekit.validation import parse
from services.notify.delivery import MailDelivery
from services.notify.mail import enqueue_mail

configure_logging("notify")


class NotifyService(ServiceBase):
    name = "notify"

    db = Database(Path(__file__).parent / "migrations")
    delivery: PollingLoop = MailDelivery()

    @rpc
    def send_mail(self, request: dict[str, Any]) -> dict[str, Any]:
        """Queue a templated mail (``SendMailRequest``); idempotent on ``idempotency_key``."""
        reply = enqueue_mail(self.db, parse(SendMailRequest, request))
        if not reply.duplicate:
            self.delivery.wake()
        return reply.to_wire()
