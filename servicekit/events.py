"""Event handlers that neither lose an event nor loop on a poison one.

nameko acknowledges (drops) an event whose handler raised, unless ``requeue_on_error``,
which then retries it at once, forever (docs/runtime-traps.md §9). The kit's ``event_handler``
instead consumes from a **quorum queue with a delivery limit** and a **dead-letter
exchange**: a failing handler is retried with a growing pause (a database restart is
ridden out), and after ``PORTAL_EVENT_DELIVERY_LIMIT`` tries the message is parked in
``dlq.<queue>`` for a person to inspect and replay (docs/operations.md).
"""

from __future__ import annotations

from typing import Any

import eventlet
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Exchange, Queue
from nameko.events import SERVICE_POOL, EventHandler
from prometheus_client import Counter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.logging import get_logger

log = get_logger(__name__)

DEAD_LETTER_EXCHANGE = "portal.dead-letter"

# Counted here, where the delivery count is known (servicekit.metrics serves it).
EVENTS_DEAD_LETTERED = Counter("portal_events_dead_lettered", "Events whose handler failed for the last allowed "
                               "time: the broker parks them in their dead-letter queue", ["service", "event"])


class EventSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_EVENT_", extra="ignore")

    delivery_limit: int = Field(default=8, ge=1, le=100)
    # Pause before a failed event goes back to its queue: min(base * 2**(tries-1), max).
    retry_base_seconds: float = Field(default=0.5, ge=0, le=60)
    retry_max_seconds: float = Field(default=30.0, ge=0, le=600)


def dead_letter_queue_name(queue_name: str) -> str:
    return f"dlq.{queue_name}"


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)


def retry_pause(deliveries: int, settings: EventSettings) -> float:
    """How long to wait before giving a message back after its ``deliveries``-th failure."""
    return float(min(settings.retry_base_seconds * 2 ** max(deliveries - 1, 0), settings.retry_max_seconds))


class ReliableEventHandler(EventHandler):
    def __init__(self, source_service: str, event_type: str, handler_type: str = SERVICE_POOL, **kwargs: Any) -> None:
        kwargs.setdefault("requeue_on_error", True)
        super().__init__(source_service, event_type, handler_type=handler_type, **kwargs)

    def setup(self) -> None:
        super().setup()  # builds nameko's queue (name, exchange, binding) and registers
        self.settings = EventSettings()
        classic: Queue = self.queue  # type: ignore[has-type]
        name = classic.name
        self.queue = Queue(
            name,
            exchange=classic.exchange,
            routing_key=classic.routing_key,
            durable=True,
            queue_arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self.settings.delivery_limit,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": name,
            },
        )
        self._declare_queues(name)

    def _declare_queues(self, name: str) -> None:
        dlq = Queue(dead_letter_queue_name(name), exchange=dead_letter_exchange(), routing_key=name,
                    durable=True, queue_arguments={"x-queue-type": "quorum"})
        with Connection(self.container.config["AMQP_URI"]) as connection:
            dlq(connection.default_channel).declare()
            replace_empty_classic_queue(connection, self.queue)

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        if exc_info is not None:
            deliveries = int((message.headers or {}).get("x-delivery-count", 0)) + 1
            pause = retry_pause(deliveries, self.settings)
            log.warning(
                "event handler failed; the event goes back to its queue",
                queue=self.queue.name,
                deliveries=deliveries,
                limit=self.settings.delivery_limit,
                retry_in_seconds=pause,
                error=type(exc_info[1]).__name__,
            )
            if deliveries > self.settings.delivery_limit:  # the broker parks it now
                EVENTS_DEAD_LETTERED.labels(self.container.service_name, self.event_type).inc()
            # The pause holds this worker's slot, which is the back-pressure we want while
            # a dependency is away; the broker dead-letters after the delivery limit.
            eventlet.sleep(pause)
        super().handle_message_processed(message, result, exc_info)


def replace_empty_classic_queue(connection: Connection, queue: Queue) -> None:
    """Upgrade a broker that still has this handler's queue as a classic queue.

    RabbitMQ refuses to redeclare a queue with other arguments (PRECONDITION_FAILED). An
    empty old queue is deleted and declared again the new way; one holding events is left
    alone and the service refuses to start, naming it (docs/operations.md: drain it first).
    """
    try:
        queue(connection.channel()).declare()
    except PreconditionFailed:  # the queue exists with other arguments: an older version's
        _replace_classic_queue(connection, queue)


def _replace_classic_queue(connection: Connection, queue: Queue) -> None:
    channel = connection.channel()
    _, messages, _ = channel.queue_declare(queue.name, passive=True)
    if messages:
        raise RuntimeError(f"queue {queue.name} is an old classic queue holding {messages} events: "
                           "drain or move them, delete it, then start again (docs/operations.md)")
    channel.queue_delete(queue.name, if_empty=True)
    log.warning("replaced an empty classic event queue by a quorum queue", queue=queue.name)
    queue(connection.channel()).declare()

event_handler = ReliableEventHandler.decorator
