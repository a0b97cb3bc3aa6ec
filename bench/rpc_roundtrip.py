"""RPC round trips over the real broker: raw kombu request/reply against nameko RPC.

    .venv/bin/python bench/rpc_roundtrip.py [--calls 2000] [--output bench/results.json]

Three sequential measurements, one caller each, after a warm-up:

- ``kombu request/reply``: a bare consumer that answers on the caller's reply queue,
  the floor that any RPC over this broker pays;
- ``nameko rpc no-op``: a nameko service method that returns ``None``, called through
  a standalone ``ClusterRpcProxy`` (what the suite's services pay per call on top);
- ``nameko rpc health``: the kit's real ``health`` RPC, which reads its database
  (SQLite here): a round trip that touches storage.

Everything runs in this one process under eventlet (server and caller share a hub), in
a vhost of its own on the broker at ``AMQP_URI`` that is deleted afterwards. Figures are
for one machine and noisy: orders of magnitude, not a contract.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from kombu import Connection, Consumer, Producer, Queue  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from servicekit.logging import configure_logging  # noqa: E402
from tests.support.fixtures import fresh_vhost  # noqa: E402

configure_logging("bench", level="WARNING")  # one "handled" line per call would drown the figures


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def measure(name: str, call: Callable[[], Any], calls: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        call()
    samples = []
    started = time.perf_counter()
    for _ in range(calls):
        before = time.perf_counter()
        call()
        samples.append((time.perf_counter() - before) * 1000)
    elapsed = time.perf_counter() - started
    return {
        "name": name,
        "calls": calls,
        "p50_ms": round(percentile(samples, 0.50), 3),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "mean_ms": round(statistics.fmean(samples), 3),
        "max_ms": round(max(samples), 3),
        "calls_per_s": round(calls / elapsed, 1),
    }


class KombuEcho:
    """A bare request/reply server and its caller, each on its own connection."""

    def __init__(self, amqp_uri: str) -> None:
        self.request_queue = f"bench-echo-{uuid.uuid4().hex[:8]}"
        self.server = Connection(amqp_uri)
        self.client = Connection(amqp_uri)
        self.replies: dict[str, Any] = {}
        self._running = True

    def start(self) -> None:
        channel = self.server.channel()
        queue = Queue(self.request_queue, exclusive=True, channel=channel)
        queue.declare()
        producer = Producer(self.server.channel())

        def answer(body: Any, message: Any) -> None:
            producer.publish(body, routing_key=message.properties["reply_to"], serializer="json",
                             correlation_id=message.properties["correlation_id"])
            message.ack()

        self._consumer = Consumer(channel, [queue], callbacks=[answer], accept=["json"])
        self._consumer.consume()
        self._server_thread = eventlet.spawn(self._serve)

        client_channel = self.client.channel()
        self.reply_queue = Queue(f"bench-reply-{uuid.uuid4().hex[:8]}", exclusive=True, channel=client_channel)
        self.reply_queue.declare()
        self._reply_consumer = Consumer(client_channel, [self.reply_queue], callbacks=[self._on_reply],
                                        accept=["json"], no_ack=True)
        self._reply_consumer.consume()
        self.producer = Producer(self.client.channel())

    def _serve(self) -> None:
        while self._running:
            try:
                self.server.drain_events(timeout=0.5)
            except TimeoutError:
                continue

    def _on_reply(self, body: Any, message: Any) -> None:
        self.replies[message.properties["correlation_id"]] = body

    def call(self) -> None:
        correlation_id = uuid.uuid4().hex
        self.producer.publish({"args": []}, routing_key=self.request_queue, serializer="json",
                              reply_to=self.reply_queue.name, correlation_id=correlation_id)
        while correlation_id not in self.replies:
            self.client.drain_events(timeout=10)
        del self.replies[correlation_id]

    def stop(self) -> None:
        self._running = False
        self._server_thread.wait()
        self.client.release()
        self.server.release()


def bench_services(var_dir: str) -> tuple[type, str]:
    """A service with a no-op RPC beside the kit's ``health`` (on audit's migrations)."""
    from servicekit.base import ServiceBase
    from servicekit.db import Database
    from servicekit.rpc import rpc

    class BenchService(ServiceBase):
        name = "portal_bench"
        db = Database(ROOT / "services" / "audit" / "adapters" / "migrations", relay_outbox=False)

        @rpc
        def noop(self) -> None:
            return None

    os.environ["PORTAL_VAR_DIR"] = var_dir
    os.environ.pop("PORTAL_BENCH_DATABASE_URL", None)  # its own SQLite file in var_dir
    return BenchService, BenchService.name


def broker_version(amqp_uri: str) -> str | None:
    with Connection(amqp_uri) as connection:
        connection.connect()
        version = connection.connection.server_properties.get("version")
    return version.decode() if isinstance(version, bytes) else version


def run(calls: int, warmup: int) -> dict[str, Any]:
    from nameko.runners import ServiceRunner
    from nameko.standalone.rpc import ClusterRpcProxy

    results = []
    with fresh_vhost("portal_bench") as amqp_uri, tempfile.TemporaryDirectory() as var_dir:
        echo = KombuEcho(amqp_uri)
        echo.start()
        try:
            results.append(measure("kombu request/reply (raw)", echo.call, calls, warmup))
        finally:
            echo.stop()

        service_cls, name = bench_services(var_dir)
        config = {"AMQP_URI": amqp_uri, "serializer": "json", "max_workers": 10}
        runner = ServiceRunner(config)
        runner.add_service(service_cls)
        runner.start()
        try:
            with ClusterRpcProxy(config, timeout=10) as proxy:
                service = proxy[name]
                results.append(measure("nameko rpc no-op", service.noop, calls, warmup))
                results.append(measure("nameko rpc health (SQLite)", service.health, calls, warmup))
        finally:
            runner.stop()
        version = broker_version(amqp_uri)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "rabbitmq": version,
        },
        "setup": "sequential calls, one caller, server and caller in one eventlet process, "
                 "broker on loopback",
        "results": results,
    }


def print_table(report: dict[str, Any]) -> None:
    columns = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "calls_per_s")
    print(f"\n{'round trip':<30}" + "".join(f"{column:>13}" for column in columns))
    for row in report["results"]:
        print(f"{row['name']:<30}" + "".join(f"{row[column]:>13}" for column in columns))
    machine = report["machine"]
    print(f"\n{machine['cpus']} CPUs, Python {machine['python']}, RabbitMQ {machine['rabbitmq']}; "
          f"{report['results'][0]['calls']} calls each\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args(argv)
    report = run(args.calls, args.warmup)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
