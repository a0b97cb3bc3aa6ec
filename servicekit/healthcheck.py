"""Container health check: ``python -m servicekit.healthcheck <service>``.

Calls the service's ``health`` RPC (which touches its database) and exits 0 when it
answers within the timeout (3 s), 1 otherwise. docker-compose.yml runs it every few
seconds per service, so it speaks nameko's RPC protocol with plain kombu and an
*exclusive* reply queue that disappears with its connection: a standalone
``ClusterRpcProxy`` would leave a durable reply queue behind for five minutes on every
run (docs/runtime-traps.md §4). The request expires with the deadline, so a stopped service is
not handed a pile of stale health checks when it comes back.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from kombu import Connection, Exchange, Producer, Queue

from contracts.context import CORRELATION_ID_KEY
from servicekit.settings import KitSettings

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True, auto_delete=False)


def call_health(service: str, amqp_uri: str, timeout: float = 3.0) -> dict[str, Any]:
    """The ``health`` reply of ``service``; raises TimeoutError or RuntimeError."""
    correlation_id = str(uuid.uuid4())
    reply_to = f"healthcheck-{uuid.uuid4().hex}"
    replies: list[dict[str, Any]] = []

    def on_reply(body: Any, message: Any) -> None:
        if message.properties.get("correlation_id") == correlation_id:
            replies.append(body)
        message.ack()

    with Connection(amqp_uri, connect_timeout=timeout) as connection:
        channel = connection.channel()
        reply_queue = Queue(reply_to, exchange=RPC_EXCHANGE, routing_key=reply_to,
                            exclusive=True, durable=False, channel=channel)
        reply_queue.declare()
        with connection.Consumer(reply_queue, callbacks=[on_reply], accept=["json"]):
            Producer(channel).publish(
                {"args": [], "kwargs": {}},
                exchange=RPC_EXCHANGE,
                routing_key=f"{service}.health",
                serializer="json",
                reply_to=reply_to,
                correlation_id=correlation_id,
                headers={f"nameko.{CORRELATION_ID_KEY}": f"healthcheck-{correlation_id}"},
                expiration=timeout,
                declare=[RPC_EXCHANGE],
            )
            try:
                while not replies:
                    connection.drain_events(timeout=timeout)
            except TimeoutError as exc:
                raise TimeoutError(f"{service} did not answer within {timeout:g}s") from exc
    body = replies[0]
    if body.get("error"):
        raise RuntimeError(f"{service}.health failed: {body['error']}")
    result: dict[str, Any] = body.get("result") or {}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.healthcheck", description=__doc__)
    parser.add_argument("service")
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    try:
        reply = call_health(args.service, KitSettings().amqp_uri, args.timeout)
    except Exception as exc:  # any failure means "not healthy"
        print(f"{args.service}: unhealthy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply))
    return 0


if __name__ == "__main__":
    sys.exit(main())
