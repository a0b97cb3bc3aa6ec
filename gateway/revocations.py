"""Identity's ``sessions_revoked`` events, heard by every gateway instance.

Each instance binds a queue of its own (exclusive, deleted with its connection) to
``identity.events`` for that one routing key, on a daemon thread, and drops the revoked
sessions from its :class:`~gateway.auth.SessionCache`. Whenever the feed (re)connects it
clears the cache, since revocations announced while it was away were not heard; while it
is away the cache's short TTL is the backstop.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import structlog
from kombu import Connection, Consumer, Exchange, Queue
from pydantic import ValidationError

from contracts.envelope import EventEnvelope, events_exchange
from contracts.events import IdentityEvent
from contracts.identity import SessionsRevoked
from gateway.auth import SessionCache

log = structlog.stdlib.get_logger("gateway.revocations")

HEARTBEAT_SECONDS = 15
RETRY_SECONDS = 1.0


class RevocationFeed:
    def __init__(self, amqp_uri: str, cache: SessionCache, connect_timeout: float = 2.0,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.amqp_uri = amqp_uri
        self.cache = cache
        self.connect_timeout = connect_timeout
        self.retry_seconds = retry_seconds
        self.queue = Queue(
            f"gateway.session-revocations.{uuid.uuid4().hex}",
            # As identity declares it (servicekit.outbox.declare_events_exchange).
            Exchange(events_exchange("identity"), type="topic", durable=True, auto_delete=False),
            routing_key=IdentityEvent.SESSIONS_REVOKED.value,
            exclusive=True, auto_delete=True, durable=False,
        )
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="session-revocations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as exc:  # any broker or network error: connect again shortly
                log.warning("session_revocation_feed_lost", error=type(exc).__name__)
            self.connected.clear()
            self._stop.wait(self.retry_seconds)

    def _consume(self) -> None:
        with Connection(self.amqp_uri, connect_timeout=self.connect_timeout,
                        heartbeat=HEARTBEAT_SECONDS) as connection:
            connection.connect()
            with Consumer(connection, queues=[self.queue], callbacks=[self._on_message],
                          accept=["json"], no_ack=True):
                # Bound from here on; what was announced before is covered by forgetting all.
                self.cache.clear()
                self.connected.set()
                log.info("session_revocation_feed_connected", queue=self.queue.name)
                while not self._stop.is_set():
                    try:
                        connection.drain_events(timeout=1)
                    except TimeoutError:  # socket.timeout too
                        connection.heartbeat_check()

    def _on_message(self, body: Any, message: Any) -> None:
        try:
            revoked = SessionsRevoked.model_validate(EventEnvelope.model_validate(body).payload)
        except ValidationError:
            log.warning("session_revocation_unreadable")
            return
        self.cache.revoke(revoked.user_id, revoked.session_ids, announced=True)
