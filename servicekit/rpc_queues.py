"""RPC request queues that survive a broker node and never loop on a poison request.

nameko's ``RpcConsumer`` declares ``rpc-<service>`` as a classic durable queue: on a
RabbitMQ cluster it lives on one node, and a request that kills its worker (the process
dies before the ack) is redelivered forever. The kit's consumer declares it instead as a
**quorum queue** (replicated over the cluster's nodes) with a **delivery limit**
(``PORTAL_RPC_DELIVERY_LIMIT``, default 5) and the dead-letter exchange
``portal.dead-letter``: after that many deliveries the request is parked in
``dlq.rpc-<service>``. Requests the caller gave up on expire there too (the gateway sets
an AMQP ``expiration`` equal to its deadline), so the dead-letter queue of an RPC queue is
bounded (``x-max-length``, oldest dropped first). Its messages are for inspection only:
their callers were answered 503 long ago, so ``portal dead-letters replay`` refuses them.

Reply queues are untouched: the gateway's are exclusive to their connection, and
``PORTAL_RPC_QUEUE_TYPE=classic`` keeps nameko's declaration for a broker without quorum
queues (RabbitMQ before 3.8).

A call that fails because the service cannot reach its database (PostgreSQL restarting,
a failover, the pool timing out) answers :class:`~contracts.errors.ServiceUnavailable`
(503, "try again") instead of an unexpected error (500): the chaos suite found a database
restart answered with 500s.

An empty classic ``rpc-<service>`` queue left by an older version is replaced on start,
the way event queues are (:func:`servicekit.events.replace_empty_classic_queue`); one that
holds requests makes the service refuse to start, naming it.
"""

from __future__ import annotations

from typing import Any, Literal

import nameko.rpc
import sqlalchemy.exc
from kombu import Connection, Queue
from nameko.rpc import RpcConsumer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.errors import ServiceUnavailable
from servicekit.context import REDELIVERED_KEY
from servicekit.events import (
    DEAD_LETTER_EXCHANGE,
    dead_letter_exchange,
    dead_letter_queue_name,
    replace_empty_classic_queue,
)
from servicekit.logging import get_logger

log = get_logger(__name__)

RPC_QUEUE_PREFIX = "rpc-"
RPC_DEAD_LETTER_MAX_LENGTH = 10_000


class RpcQueueSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_RPC_", extra="ignore")

    queue_type: Literal["quorum", "classic"] = "quorum"
    delivery_limit: int = Field(default=5, ge=1, le=100)


def is_rpc_queue(name: str) -> bool:
    return name.startswith(RPC_QUEUE_PREFIX)


def dead_letter_queue_arguments(queue_name: str) -> dict[str, Any]:
    """Arguments of ``dlq.<queue_name>``: every declaration must use the same ones."""
    arguments: dict[str, Any] = {"x-queue-type": "quorum"}
    if is_rpc_queue(queue_name):  # expired requests land here too: keep it bounded
        arguments["x-max-length"] = RPC_DEAD_LETTER_MAX_LENGTH
    return arguments


def rpc_queue_arguments(name: str, settings: RpcQueueSettings) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": settings.delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": name,
    }


class QuorumRpcConsumer(RpcConsumer):
    """nameko's shared RPC consumer, its ``rpc-<service>`` queue declared as a quorum queue."""

    queue: Any

    def setup(self) -> None:
        first = self.queue is None  # shared: set up once for all of the service's entrypoints
        super().setup()  # builds nameko's queue (name, exchange, routing key) and registers
        settings = RpcQueueSettings()
        if first and settings.queue_type == "quorum":
            self._declare_quorum_queue(settings)

    def _declare_quorum_queue(self, settings: RpcQueueSettings) -> None:
        classic: Queue = self.queue
        quorum = self.queue = Queue(
            classic.name,
            exchange=classic.exchange,
            routing_key=classic.routing_key,
            durable=True,
            queue_arguments=rpc_queue_arguments(classic.name, settings),
        )
        dlq = Queue(dead_letter_queue_name(classic.name), exchange=dead_letter_exchange(),
                    routing_key=classic.name, durable=True,
                    queue_arguments=dead_letter_queue_arguments(classic.name))
        with Connection(self.container.config["AMQP_URI"]) as connection:
            dlq(connection.default_channel).declare()
            replace_empty_classic_queue(connection, quorum)


class Rpc(nameko.rpc.Rpc):
    """nameko's ``@rpc`` entrypoint on :class:`QuorumRpcConsumer`.

    Named like nameko's, so that log lines still name the entrypoint ``rpc:<method>``.
    The consumer is a shared extension keyed by its type: every RPC entrypoint of a service
    must use this one (``servicekit.rpc.rpc``), or nameko would declare the same queue twice
    with different arguments.
    """

    rpc_consumer = QuorumRpcConsumer()

    def unpack_message_headers(self, message: Any) -> dict[str, Any]:
        """nameko's context data, and whether the broker delivers this request again (its
        first consumer died or lost its connection before answering): an idempotency claim
        that consumer left is then taken over at once (servicekit.request_keys)."""
        data: dict[str, Any] = super().unpack_message_headers(message)
        data.pop(REDELIVERED_KEY, None)  # only the broker says so, never a caller's header
        if message.delivery_info.get("redelivered"):
            data[REDELIVERED_KEY] = True
        return data

    def handle_result(self, message: Any, worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        if exc_info is not None and database_unreachable(exc_info[1]):
            service = self.container.service_name
            log.warning("database unreachable; answering service_unavailable", entrypoint=self.method_name,
                        error=type(exc_info[1]).__name__)
            error = ServiceUnavailable(f"the {service} service cannot reach its database right now",
                                       {"service": service, "reason": "database unavailable"})
            exc_info = (type(error), error, exc_info[2])
        return super().handle_result(message, worker_ctx, result, exc_info)


def database_unreachable(exc: BaseException) -> bool:
    """A connection-level database failure: refused, cut, or no pooled connection in time.

    SQLAlchemy's ``OperationalError`` wraps the driver's (psycopg's covers refused and
    terminated connections, and also lock and deadlock timeouts: all worth a retry);
    ``connection_invalidated`` marks a connection that died mid-statement.
    """
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.TimeoutError):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and bool(exc.connection_invalidated)
