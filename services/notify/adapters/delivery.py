"""The delivery loops (mail, webhooks): managed green threads of the notify service.

Why a DependencyProvider with its own loop and not nameko's ``@timer``: a timer spawns a
worker every tick (one "handled" log line a second, a worker slot taken), cannot be
woken, and so a mail queued just after a tick waits for the next one. This loop sleeps
``NOTIFY_DELIVERY_POLL_SECONDS`` when idle, is woken by ``send_mail`` right after its
commit, and on stop lets the mail being sent finish before the service goes down.
Competing instances are safe: each mail is taken with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider

from servicekit.db import Database, UnitOfWork
from servicekit.logging import get_logger
from servicekit.loops import PollingLoop
from servicekit.settings import KitSettings
from services.notify.adapters.http_sender import PinnedHttpSender, WebhookSender
from services.notify.adapters.keys import load_keys
from services.notify.adapters.transports import Transport, make_transport
from services.notify.domain.retry import RetryPolicy
from services.notify.settings import NotifySettings
from services.notify.usecases.mail import deliver_next
from services.notify.usecases.webhooks import WebhookRules, deliver_next_webhook

log = get_logger(__name__)


class DeliveryLoop(DependencyProvider):
    """A managed green thread delivering one item per transaction; ``self.<attr>.wake()``
    asks for a pass now. Subclasses set up what they send with and implement ``deliver_one``."""

    identifier = "delivery"

    def __init__(self, db_attr: str = "db") -> None:
        self.db_attr = db_attr
        self.loop: PollingLoop | None = None
        self._thread: Any = None
        self.batch_size = 20
        self.stop_timeout = 15.0

    def make_loop(self, poll_seconds: float, batch_size: int, stop_timeout: float) -> None:
        self.batch_size = batch_size
        self.stop_timeout = stop_timeout
        self.loop = PollingLoop(self.deliver_batch, poll_seconds, self.identifier.replace("_", " "))

    def _find_database(self) -> Database:
        # nameko binds a copy of each provider per container: find this service's own.
        for dependency in self.container.dependencies:
            if isinstance(dependency, Database) and dependency.attr_name == self.db_attr:
                return dependency
        raise LookupError(f"{self.container.service_name} has no Database at .{self.db_attr}")

    def start(self) -> None:
        assert self.loop is not None
        self.database = self._find_database()
        self._thread = self.container.spawn_managed_thread(self.loop.run, identifier=self.identifier)

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self._thread is not None:
            # Let the item in flight be marked done rather than sent again after a restart.
            with eventlet.Timeout(self.stop_timeout, False):
                self._thread.wait()

    def kill(self) -> None:
        if self.loop is not None:
            self.loop.stop()

    def get_dependency(self, worker_ctx: Any) -> PollingLoop:
        assert self.loop is not None
        return self.loop

    def deliver_one(self, uow: UnitOfWork) -> object | None:
        """Deliver the next due item, if any (committing its outcome); None when nothing is due."""
        raise NotImplementedError

    def deliver_batch(self) -> int:
        """One pass: up to ``batch_size`` due items, each in its own transaction."""
        delivered = 0
        for _ in range(self.batch_size):
            uow = self.database.new_unit_of_work()
            try:
                outcome = self.deliver_one(uow)
            finally:
                uow.close()
            if outcome is None:
                break
            delivered += 1
        return delivered


class MailDelivery(DeliveryLoop):
    identifier = "mail_delivery"

    def setup(self) -> None:
        settings = NotifySettings()
        self.sender = settings.mail_from
        self.policy = RetryPolicy(settings.retry_backoff_seconds, settings.max_attempts)
        self.transport: Transport = make_transport(settings, KitSettings().var_dir)
        self.make_loop(settings.delivery_poll_seconds, settings.delivery_batch_size, settings.smtp_timeout + 5)
        log.info("mail transport ready", transport=self.transport.describe())

    def deliver_one(self, uow: UnitOfWork) -> object | None:
        return deliver_next(uow, self.transport, self.sender, self.policy)


class WebhookDelivery(DeliveryLoop):
    identifier = "webhook_delivery"

    def setup(self) -> None:
        settings = NotifySettings()
        self.keys = load_keys(settings)
        self.sender: WebhookSender = PinnedHttpSender(settings.webhook_timeout_seconds,
                                                      allow_loopback=settings.webhooks_allow_loopback)
        self.rules = WebhookRules(
            RetryPolicy(settings.webhook_backoff_seconds, settings.webhook_max_attempts),
            timedelta(hours=settings.webhook_disable_after_hours),
            settings.public_base_url,
        )
        self.make_loop(settings.webhook_poll_seconds, settings.delivery_batch_size,
                       settings.webhook_timeout_seconds + 5)
        if settings.webhooks_allow_loopback:
            log.warning("webhooks to loopback addresses are allowed (development setting)")

    def deliver_one(self, uow: UnitOfWork) -> object | None:
        return deliver_next_webhook(uow, self.sender, self.keys, self.rules)
