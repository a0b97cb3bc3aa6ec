"""A three-node RabbitMQ cluster and a PostgreSQL primary with a synchronous streaming
standby, all of the cluster test's own, and the suite on them.

Like the chaos suite's servers (tests/chaos/infra.py, whose pieces these reuse), they run
on free ports under a temporary directory, as the ``rabbitmq`` and ``postgres`` users; the
shared servers on 5672/5432 are never touched.

- :class:`OwnCluster`: three nodes ``cluster<port>@localhost``, each with its own AMQP and
  distribution ports and data directory, the one Erlang cookie of the ``rabbitmq`` user,
  joined with ``stop_app; join_cluster <first>; start_app``. The suite is given the list
  of the three URIs (kombu's failover syntax, ``;`` between them) as ``AMQP_URI``.
- :class:`StreamingPair`: a primary made by ``initdb`` and a standby made by
  ``pg_basebackup -R -X stream`` from it; once the standby streams, the primary commits
  only when the standby has the WAL (``synchronous_standby_names = '*'``, set with
  ``ALTER SYSTEM`` on the primary alone, so the promoted standby waits for no one). The
  services get libpq's multi-host URL with ``target_session_attrs=read-write``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from tests.chaos.infra import SERVICES, ChaosSuite, OwnBroker, OwnPostgres, launched_twins
from tests.chaos.infra import missing_prerequisites as chaos_prerequisites
from tests.e2e.conftest import poll


def missing_prerequisites() -> str | None:
    """Why the cluster test cannot run here, or None."""
    missing = chaos_prerequisites()
    if missing:
        return missing.replace("chaos suite", "cluster test")
    if not shutil.which("haproxy"):
        return "haproxy is not installed (the suite runs two gateways behind it)"
    return None


class OwnCluster:
    """Three RabbitMQ nodes on this machine, clustered."""

    def __init__(self, base: Path, size: int = 3) -> None:
        self.nodes = [OwnBroker(base / f"node{number}", name="cluster") for number in range(size)]
        # kombu's failover syntax: a client tries the next URI when one refuses it.
        self.uri = ";".join(node.uri for node in self.nodes)
        self.stopped: set[str] = set()

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            for args in (("stop_app",), ("join_cluster", first.node), ("start_app",)):
                result = node.ctl(*args, timeout=120)
                if result.returncode != 0:
                    raise RuntimeError(f"{node.node} {' '.join(args)}: {result.stdout}{result.stderr}")
        if not poll(lambda: self.running_nodes() == {node.node for node in self.nodes}, 90, interval=1):
            raise RuntimeError(f"the cluster did not form: {self.running_nodes()}")

    def node(self, name: str) -> OwnBroker:
        return next(node for node in self.nodes if node.node == name)

    def running(self) -> OwnBroker:
        """A node that is up, to ask about the cluster."""
        return next(node for node in self.nodes if node.node not in self.stopped)

    def running_nodes(self) -> set[str]:
        result = self.running().ctl("cluster_status", "--formatter", "json")
        try:
            return set(json.loads(result.stdout).get("running_nodes", []))
        except ValueError:
            return set()

    def stop_node(self, name: str) -> None:
        self.stopped.add(name)
        self.node(name).stop()

    def start_node(self, name: str) -> None:
        self.node(name).start()
        self.stopped.discard(name)
        if not poll(lambda: name in self.running_nodes(), 90, interval=1):
            raise RuntimeError(f"{name} did not rejoin the cluster: {self.running_nodes()}")

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()

    # --- what OwnBroker answers, asked of a node that is up ---------------------------------

    def queues(self) -> list[tuple[str, int]]:
        return self.running().queues()

    def consumer_channels(self, queue: str) -> set[str]:
        return self.running().consumer_channels(queue)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(f"--- {node.node}\n{node.log_tail(lines)}" for node in self.nodes)

    # --- quorum queues ------------------------------------------------------------------------

    def quorum_queues(self) -> dict[str, dict[str, Any]]:
        """The services' quorum queues (``rpc-*``, ``evt-*``): leader, members, online members."""
        result = self.running().ctl("list_queues", "name", "type", "leader", "members", "online",
                                    "--formatter", "json")
        queues = {}
        for row in json.loads(result.stdout or "[]"):
            if row.get("type") == "quorum" and row["name"].startswith(("rpc-", "evt-")):
                queues[row["name"]] = {"leader": row["leader"], "members": sorted(row["members"]),
                                       "online": sorted(row["online"])}
        return queues

    def leaders(self) -> Counter[str]:
        """How many of the services' quorum queues each node leads."""
        return Counter(queue["leader"] for queue in self.quorum_queues().values())


class StreamingPair:
    """A PostgreSQL primary and a standby streaming from it, synchronously."""

    def __init__(self, base: Path) -> None:
        self.primary = OwnPostgres(base / "primary")
        self.standby = OwnPostgres(base / "standby", initialise=False)
        self.databases: list[str] = []

    def start(self, databases: list[str]) -> None:
        self.primary.start()
        for name in databases:
            self.primary.create_database(name)
        self.databases = databases
        # -R: the standby's primary_conninfo and standby.signal; -X stream: the WAL written
        # during the copy comes along; -c fast: no wait for the next checkpoint.
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.primary.bin_dir / "pg_basebackup"),
                        "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                        "-D", str(self.standby.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"],
                       check=True, capture_output=True, timeout=300)
        self.standby.start()
        if not poll(lambda: self.replication_state() == ("streaming", "async"), 60, interval=0.5):
            raise RuntimeError(f"the standby does not stream: {self.replication_state()}")
        with psycopg.connect(self.primary.admin_url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            conn.execute("SELECT pg_reload_conf()")
        if not poll(lambda: self.replication_state() == ("streaming", "sync"), 30, interval=0.5):
            raise RuntimeError(f"the standby is not synchronous: {self.replication_state()}")

    def replication_state(self) -> tuple[str, str] | None:
        with psycopg.connect(self.primary.admin_url) as conn:
            row = conn.execute("SELECT state, sync_state FROM pg_stat_replication").fetchone()
        return (row[0], row[1]) if row else None

    def url(self, database: str) -> str:
        """libpq's multi-host URL: whichever of the two accepts writes."""
        hosts = ",".join(f"127.0.0.1:{server.port}" for server in (self.primary, self.standby))
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    def fail_over(self, mode: str, detection: float) -> dict[str, float]:
        """Stop the primary (``pg_ctl -m mode``), wait ``detection`` seconds (a failover
        manager noticing), promote the standby; the seconds each step took."""
        started = time.monotonic()
        self.primary.stop(mode)
        stopped = time.monotonic()
        time.sleep(detection)
        self.standby._as_postgres("pg_ctl", "-D", str(self.standby.data), "-w", "promote")
        promoted = time.monotonic()
        return {"primary_stopped_after_s": round(stopped - started, 2),
                "promoted_after_s": round(promoted - started, 2)}

    def in_recovery(self, server: OwnPostgres) -> bool:
        with psycopg.connect(server.admin_url) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        return bool(row and row[0])

    def stop(self) -> None:
        for server in (self.primary, self.standby):
            with contextlib.suppress(Exception):
                server.stop()


@contextlib.contextmanager
def start_cluster_suite(extra_env: dict[str, str] | None = None) -> Iterator[ChaosSuite]:
    """The cluster, the PostgreSQL pair, and the suite (two of everything behind HAProxy) on
    them; torn down on exit, the directory kept with ``PORTAL_CLUSTER_KEEP=1``."""
    tmp = Path(tempfile.mkdtemp(prefix="portal-cluster-"))
    tmp.chmod(0o755)
    rabbit = OwnCluster(tmp / "rabbitmq")
    pair = StreamingPair(tmp / "postgres")
    try:
        rabbit.start()
        databases = {service: f"cluster_{service}" for service in SERVICES}
        pair.start(list(databases.values()))
        urls = {service: pair.url(name) for service, name in databases.items()}
        with launched_twins(tmp, rabbit, pair, urls, extra_env) as chaos:
            yield chaos
    finally:
        rabbit.stop()
        pair.stop()
        if os.environ.get("PORTAL_CLUSTER_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
