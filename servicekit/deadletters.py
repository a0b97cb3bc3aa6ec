"""Inspect and replay the events that handlers gave up on (``dlq.<queue>``).

    portal dead-letters list                         every dead-letter queue and its depth
    portal dead-letters show QUEUE [--limit N]       the parked events (type, id, tries)
    portal dead-letters replay QUEUE [--limit N]     put them back on their queue

QUEUE is the handler's queue (``evt-<source>-<type>--<service>.<method>``). Replaying
publishes a copy to that queue and then acknowledges the dead letter, so a crash in
between replays a duplicate, which the idempotent handler absorbs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kombu import Connection, Exchange, Producer, Queue

from servicekit.events import DEAD_LETTER_EXCHANGE, dead_letter_exchange, dead_letter_queue_name
from servicekit.rpc_queues import dead_letter_queue_arguments, is_rpc_queue


@dataclass(frozen=True)
class DeadLetter:
    event_type: str | None
    event_id: str | None
    deliveries: int | None
    reason: str | None


def _dead_letter_queue(queue: str) -> Queue:
    return Queue(
        dead_letter_queue_name(queue),
        exchange=dead_letter_exchange(),
        routing_key=queue,
        durable=True,
        queue_arguments=dead_letter_queue_arguments(queue),
    )


def _describe(message: Any) -> DeadLetter:
    body = message.payload if isinstance(message.payload, dict) else {}
    deaths = (message.headers or {}).get("x-death") or [{}]
    return DeadLetter(
        body.get("type"), body.get("event_id"), (message.headers or {}).get("x-delivery-count"), deaths[0].get("reason")
    )


def show(amqp_uri: str, queue: str, limit: int = 100) -> list[DeadLetter]:
    """Peek: messages are taken and then given back, in order."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        bound = _dead_letter_queue(queue)(channel)
        taken: list[Any] = []
        while len(taken) < limit and (message := bound.get(no_ack=False)) is not None:
            taken.append(message)
        found = [_describe(m) for m in taken]
        for message in taken:
            message.requeue()
        channel.close()
        return found


def replay(amqp_uri: str, queue: str, limit: int = 1000) -> int:
    if is_rpc_queue(queue):
        # Their callers were answered 503 long ago: running the command now would surprise them.
        raise ValueError(f"{queue} holds RPC requests whose callers gave up; inspect them with show, "
                         "never replay them")
    # Confirmed publishes: a dead letter is acked (gone) only once the broker holds its copy.
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        bound = _dead_letter_queue(queue)(channel)
        producer = Producer(channel, exchange=Exchange(""))  # the default exchange routes by queue name
        replayed = 0
        while replayed < limit and (message := bound.get(no_ack=False)) is not None:
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            producer.publish(
                message.body,
                routing_key=queue,
                headers=headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=2,
                message_id=message.properties.get("message_id"),
            )
            message.ack()
            replayed += 1
        channel.close()
        return replayed


def dead_letter_queues(management_url: str, vhost: str) -> list[tuple[str, int]]:
    """(queue, depth) of every dead-letter queue, from the management API."""
    from urllib.parse import quote, urlsplit

    import requests

    parts = urlsplit(management_url)
    base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}"
    response = requests.get(
        f"{base}/api/queues/{quote(vhost, safe='')}",
        timeout=10,
        auth=(parts.username or "guest", parts.password or "guest"),
    )
    response.raise_for_status()
    return sorted(
        (q["name"][len("dlq.") :], int(q.get("messages", 0))) for q in response.json() if q["name"].startswith("dlq.")
    )


__all__ = ["DEAD_LETTER_EXCHANGE", "DeadLetter", "dead_letter_queues", "replay", "show"]
