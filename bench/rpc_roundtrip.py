"""RPC round trips over the real broker: raw kombu request/reply against nameko RPC.

    .venv/bin/python bench/rpc_roundtrip.py [--calls 2000] [--output bench/results.json]

Three sequential measurements, one caller each, after a warm-up:

- ``kombu request/reply``: a bare consumer that answers on the caller's reply queue,
  the floor that any RPC over this broker pays;
- ``nameko rpc no-op``: a nameko service method that returns ``None``, called through
  a standalone ``ClusterRpcProxy`` (what the suite's services pay per call on top);
- ``nameko rpc health``: the kit's real ``health`` RPC, which reads its database
  (SQLite here): a round trip that touches storage.

Then the RPC *request* queue's type, quorum against classic (``PORTAL_RPC_QUEUE_TYPE``,
decision 0017): the same no-op service in a fresh vhost for each type, called by one caller
in sequence and by ten callers at once, with the broker's CPU (``beam.smp``) and this
process's CPU per call read from ``/proc``.

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
from collections.abc import Callable, Iterator  # noqa: E402
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


def process_cpu_times() -> Iterator[tuple[str, str, float]]:
    """Every process's pid, command line and CPU seconds so far (utime + stime), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield proc.name, cmdline, (int(fields[11]) + int(fields[12])) / tick


def cpu_seconds_of(match: Callable[[str], bool]) -> float:
    """CPU seconds of every process whose command line ``match``es."""
    return sum(seconds for _, cmdline, seconds in process_cpu_times() if match(cmdline))


def broker_cpu() -> float:
    return cpu_seconds_of(lambda cmdline: "beam.smp" in cmdline)


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def concurrent_calls(name: str, proxies: list[Any], method: str, seconds: float) -> dict[str, Any]:
    """Every proxy calls ``method`` in a loop for ``seconds``, all at once (one greenthread each)."""
    samples: list[float] = []
    deadline = time.perf_counter() + seconds

    def caller(proxy: Any) -> None:
        call = getattr(proxy, method)
        while time.perf_counter() < deadline:
            before = time.perf_counter()
            call()
            samples.append((time.perf_counter() - before) * 1000)

    broker_before, own_before, started = broker_cpu(), own_cpu(), time.perf_counter()
    pool = eventlet.GreenPool(len(proxies))
    for proxy in proxies:
        pool.spawn(caller, proxy)
    pool.waitall()
    elapsed = time.perf_counter() - started
    calls = len(samples)
    return {
        "name": name,
        "clients": len(proxies),
        "calls": calls,
        "p50_ms": round(percentile(samples, 0.50), 3),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "calls_per_s": round(calls / elapsed, 1),
        "broker_cpu_ms_per_call": round((broker_cpu() - broker_before) * 1000 / calls, 3),
        "service_and_caller_cpu_ms_per_call": round((own_cpu() - own_before) * 1000 / calls, 3),
    }


def compare_queue_types(var_dir: str, calls: int, warmup: int, seconds: float) -> list[dict[str, Any]]:
    """The no-op RPC with its request queue declared quorum, then classic (a fresh vhost each)."""
    from nameko.runners import ServiceRunner
    from nameko.standalone.rpc import ClusterRpcProxy

    results = []
    for queue_type in ("quorum", "classic"):
        os.environ["PORTAL_RPC_QUEUE_TYPE"] = queue_type
        with fresh_vhost("portal_bench") as amqp_uri:
            service_cls, name = bench_services(var_dir)
            config = {"AMQP_URI": amqp_uri, "serializer": "json", "max_workers": 10}
            runner = ServiceRunner(config)
            runner.add_service(service_cls)
            runner.start()
            proxies = [ClusterRpcProxy(config, timeout=10) for _ in range(10)]
            try:
                services = [proxy.start()[name] for proxy in proxies]
                label = f"no-op, {queue_type} request queue"
                broker_before, own_before = broker_cpu(), own_cpu()
                one = measure(f"{label}, 1 caller", services[0].noop, calls, warmup)
                one["broker_cpu_ms_per_call"] = round((broker_cpu() - broker_before) * 1000 / (calls + warmup), 3)
                one["service_and_caller_cpu_ms_per_call"] = round(
                    (own_cpu() - own_before) * 1000 / (calls + warmup), 3)
                results.append(one)
                results.append(concurrent_calls(f"{label}, 10 callers", services, "noop", seconds))
            finally:
                for proxy in proxies:
                    proxy.stop()
                runner.stop()
        os.environ.pop("PORTAL_RPC_QUEUE_TYPE", None)
    return results


def broker_version(amqp_uri: str) -> str | None:
    with Connection(amqp_uri) as connection:
        connection.connect()
        version = connection.connection.server_properties.get("version")
    return version.decode() if isinstance(version, bytes) else version


def run(calls: int, warmup: int, seconds: float) -> dict[str, Any]:
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
        queue_types = compare_queue_types(var_dir, calls, warmup, seconds)
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
        "rpc_request_queue_types": queue_types,
    }


def print_table(report: dict[str, Any]) -> None:
    columns = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "calls_per_s")
    print(f"\n{'round trip':<30}" + "".join(f"{column:>13}" for column in columns))
    for row in report["results"]:
        print(f"{row['name']:<30}" + "".join(f"{row[column]:>13}" for column in columns))
    machine = report["machine"]
    print(f"\n{machine['cpus']} CPUs, Python {machine['python']}, RabbitMQ {machine['rabbitmq']}; "
          f"{report['results'][0]['calls']} calls each\n")
    columns = ("clients", "p50_ms", "p95_ms", "calls_per_s", "broker_cpu_ms_per_call",
               "service_and_caller_cpu_ms_per_call")
    print(f"{'request queue':<40}" + "".join(f"{column:>14}" for column in columns))
    for row in report["rpc_request_queue_types"]:
        print(f"{row['name']:<40}" + "".join(f"{row.get(column, 1):>14}" for column in columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0, help="of each ten-caller measurement")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    args = parser.parse_args(argv)
    report = run(args.calls, args.warmup, args.seconds)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
