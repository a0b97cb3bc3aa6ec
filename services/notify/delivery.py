"""The mail delivery loop: a managed green thread of the notify service.

Why a DependencyProvider with its own loop and not nameko's ``@timer``: a timer spawns a
worker every tick (one "handled" log line a second, a worker slot taken), cannot be
woken, and so a mail queued just after a tick waits for the next one. This loop sleeps
``NOTIFY_DELIVERY_POLL_SECONDS`` when idle, is woken by ``send_mail`` right after its
commit, and on stop lets the mail being sent finish before the service goes down.
Competing instances are safe: each mail is taken with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.extensions import DependencyProvider

from servicekit.db import Database
from servicekit.logging import get_logger
from servicekit.loops import PollingLoop
from servicekit.settings import KitSettings
from services.notify.mail import deliver_next
from services.notify.retry import RetryPolicy
from services.notify.settings import NotifySettings
from services.notify.transports import Transport, make_transport

log = get_logger(__name__)


class MailDelivery(DependencyProvider):
    """Injects the loop; ``self.delivery.wake()`` asks for a pass now."""

    def __init__(self, db_attr: str = "db") -> None:
        self.db_attr = db_attr
        self.loop: PollingLoop | None = None
        self._thread: Any = None

    def setup(self) -> None:
        settings = NotifySettings()
        self.sender = settings.mail_from
        self.batch_size = settings.delivery_batch_size
        self.stop_timeout = settings.smtp_timeout + 5
        self.policy = RetryPolicy(settings.retry_backoff_seconds, settings.max_attempts)
        self.transport: Transport = make_transport(settings, KitSettings().var_dir)
        self.loop = PollingLoop(self.deliver_batch, settings.delivery_poll_seconds, "mail delivery")
        log.info("mail transport ready", transport=self.transport.describe())

    def _find_database(self) -> Database:
        # nameko binds a copy of each provider per container: find this service's own.
        for dependency in self.container.dependencies:
            if isinstance(dependency, Database) and dependency.attr_name == self.db_attr:
                return dependency
        raise LookupError(f"{self.container.service_name} has no Database at .{self.db_attr}")

    def start(self) -> None:
        assert self.loop is not None
        self.database = self._find_database()
        self._thread = self.container.spawn_managed_thread(self.loop.run, identifier="mail_delivery")

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self._thread is not None:
            # Let a mail in flight be marked sent rather than sent again after a restart.
            with eventlet.Timeout(self.stop_timeout, False):
                self._thread.wait()

    def kill(self) -> None:
        if self.loop is not None:
            self.loop.stop()

    def get_dependency(self, worker_ctx: Any) -> PollingLoop:
        assert self.loop is not None
        return self.loop

    def deliver_batch(self) -> int:
        """One pass: up to ``delivery_batch_size`` due mails, each in its own transaction."""
        delivered = 0
        for _ in range(self.batch_size):
            uow = self.database.new_unit_of_work()
            try:
                outcome = deliver_next(uow, self.transport, self.sender, self.policy)
            finally:
                uow.close()
            if outcome is None:
                break
            delivered += 1
        return delivered
