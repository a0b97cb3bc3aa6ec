"""A RabbitMQ node and a PostgreSQL cluster of the chaos suite's own, and the suite on them.

The chaos tests restart the broker and the database. The shared servers on 5672/5432 are
never touched: :class:`OwnBroker` boots a second RabbitMQ node (its own node name, ports,
data and log directories) and :class:`OwnPostgres` a throwaway cluster (``initdb`` +
``pg_ctl``), both on free ports under a temporary directory, removed afterwards.
:func:`start_suite` then runs ``scripts/run_suite.py`` against them, the way ``make run``
and the e2e tests do (supervisord restarts any program that dies).

Both servers are started as their usual OS users (``rabbitmq``, ``postgres``), so the
chaos suite runs as root, like CI.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

from tests.chaos.scaled import scaled_supervisor_config
from tests.e2e.conftest import (
    LAUNCHER,
    START_TIMEOUT,
    Suite,
    _die_with_pytest,
    _read_state,
    _stop,
    _suite_environment,
    poll,
)

SERVICES = ("identity", "tenancy", "billing", "audit", "notify")
INSTANCES = 2
# Two of everything: each service's instances and the two gateways behind HAProxy.
PROGRAMS = (*(f"{service}-{number}" for service in SERVICES for number in range(INSTANCES)),
            *(f"gateway-{number}" for number in range(INSTANCES)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def missing_prerequisites() -> str | None:
    """Why the chaos suite cannot run here, or None."""
    if os.geteuid() != 0:
        return "the chaos suite starts its own RabbitMQ node and PostgreSQL cluster: run it as root"
    if not shutil.which("rabbitmq-server") or not shutil.which("rabbitmqctl"):
        return "rabbitmq-server is not installed"
    if not postgres_bin_dir():
        return "PostgreSQL's initdb/pg_ctl are not installed (/usr/lib/postgresql/*/bin)"
    return None


def postgres_bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


def chown(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for sub in [path, *path.rglob("*")]:
        os.chown(sub, entry.pw_uid, entry.pw_gid)


class OwnBroker:
    """A RabbitMQ node beside the shared one: ``chaos<port>@localhost`` (``name`` for another prefix)."""

    def __init__(self, base: Path, name: str = "chaos") -> None:
        self.base = base
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"{name}{self.port}@localhost"
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        (base / "mnesia").mkdir(parents=True)
        (base / "log").mkdir()
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        chown(base, "rabbitmq")

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
        }

    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["rabbitmqctl", "-n", self.node, *args], capture_output=True, text=True,
                              timeout=timeout, check=False)

    def start(self, timeout: float = 90) -> None:
        # docs/runtime-traps.md §5: with the default 1,024 open files a node with many queues hangs.
        subprocess.run(["bash", "-c", "ulimit -n 20000 && exec rabbitmq-server -detached"], env=self._env(),
                       check=True, capture_output=True, timeout=30)
        deadline = time.monotonic() + timeout
        while self.ctl("await_startup", "--timeout", "10", timeout=30).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {self.node} did not start:\n{self.log_tail()}")
            time.sleep(1)
        poll(lambda: port_open(self.port), 30)

    def stop(self) -> None:
        self.ctl("stop", timeout=60)
        poll(lambda: not port_open(self.port), 30)

    def restart(self, pause: float) -> None:
        self.stop()
        time.sleep(pause)  # an outage, not a blip
        self.start()

    def queues(self) -> list[tuple[str, int]]:
        result = self.ctl("list_queues", "name", "messages", "--quiet", "--no-table-headers")
        rows = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
        return [(name, int(messages)) for name, messages in rows]

    def consumer_channels(self, queue: str) -> set[str]:
        """The channels (one per connection here) consuming from ``queue``."""
        result = self.ctl("list_consumers", "--quiet", "--no-table-headers", "queue_name", "channel_pid")
        rows = [line.split("\t") for line in result.stdout.splitlines() if line.count("\t") == 1]
        return {channel for name, channel in rows if name == queue}

    def log_tail(self, lines: int = 30) -> str:
        path = self.base / "log" / f"{self.node}.log"
        with contextlib.suppress(OSError):
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


class OwnPostgres:
    """A throwaway PostgreSQL cluster owned by the ``postgres`` OS user.

    ``initialise=False`` leaves the data directory to be made otherwise (a base backup of a
    primary); ``settings`` are passed to the server as ``-c name=value`` at every start.
    """

    def __init__(self, base: Path, initialise: bool = True, settings: dict[str, str] | None = None) -> None:
        bin_dir = postgres_bin_dir()
        assert bin_dir is not None
        self.bin_dir = bin_dir
        self.base = base
        self.data = base / "data"
        self.port = free_port()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        base.mkdir(parents=True)
        base.chmod(0o700)  # PostgreSQL's socket directory
        chown(base, "postgres")
        self.settings = settings or {}
        if initialise:
            self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _as_postgres(self, tool: str, *args: str) -> None:
        result = subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin_dir / tool), *args],
                                capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stdout}{result.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=300"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-o", options,
                          "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, pause: float) -> None:
        self.stop()  # -m fast: every open connection is cut
        time.sleep(pause)
        self.start()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@dataclass
class ChaosSuite:
    suite: Suite
    broker: OwnBroker
    postgres: OwnPostgres
    database_urls: dict[str, str]
    launcher: subprocess.Popen[bytes] | None = None
    notes: list[str] = field(default_factory=list)
    gateway_ports: list[int] = field(default_factory=list)

    def pid(self, program: str) -> int | None:
        output = self.suite.supervisorctl("pid", f"portal:{program}").strip()
        return int(output) if output.isdigit() and output != "0" else None

    def states(self) -> dict[str, str]:
        states = {}
        for line in self.suite.supervisorctl("status").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith("portal:"):
                states[parts[0].removeprefix("portal:")] = parts[1]
        return states

    def kill_9(self, program: str) -> dict[str, Any]:
        """SIGKILL the instance; once supervisord has restarted it and it is ready again,
        returns the old and new pids and how long it took to be ready."""
        old = self.pid(program)
        assert old is not None, f"{program} is not running: {self.states()}"
        before = self._consumers_of(program)
        killed = time.monotonic()
        os.kill(old, signal.SIGKILL)
        new = poll(lambda: (pid := self.pid(program)) not in (None, old) and pid, 90, interval=0.1)
        assert new, f"supervisord did not restart {program}: {self.states()}"
        ready = poll(lambda: self.ready(program, before), 90, interval=0.1)
        return {"old_pid": old, "new_pid": int(new),
                "ready_after_s": round(time.monotonic() - killed, 2) if ready else None}

    def _consumers_of(self, program: str) -> set[str]:
        name = program.rpartition("-")[0]
        return set() if name == "gateway" else self.broker.consumer_channels(f"rpc-{name}")

    def ready(self, program: str, consumers_before: set[str]) -> bool:
        """A gateway answers HTTP on its own port; a service instance consumes its RPC
        queue again: on a channel that was not there before the kill (the dead instance's
        consumer may outlive it for a moment), beside its twin's."""
        name, _, number = program.rpartition("-")
        if name == "gateway":
            try:
                return requests.get(f"http://127.0.0.1:{self.gateway_ports[int(number)]}/healthz",
                                    timeout=2).status_code in (200, 503)
            except requests.RequestException:
                return False
        channels = self.broker.consumer_channels(f"rpc-{name}")
        return len(channels) >= INSTANCES and bool(channels - consumers_before)

    def healthy(self) -> bool:
        try:
            return self.suite.get("/healthz", timeout=5).status_code == 200
        except OSError:
            return False


@contextlib.contextmanager
def start_suite(extra_env: dict[str, str] | None = None) -> Iterator[ChaosSuite]:
    """Own broker, own PostgreSQL, the whole suite under supervisord with two instances of
    every service and two gateways behind HAProxy (tests/chaos/scaled.py); torn down on exit.

    Everything lives in a new directory under the system's temporary directory that the
    ``rabbitmq`` and ``postgres`` users can reach (pytest's own are private to root);
    it is removed afterwards unless ``PORTAL_CHAOS_KEEP=1``.
    """
    tmp = Path(tempfile.mkdtemp(prefix="portal-chaos-"))
    tmp.chmod(0o755)
    try:
        with _start_suite(tmp, extra_env) as chaos:
            yield chaos
    finally:
        if os.environ.get("PORTAL_CHAOS_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def launched(env: dict[str, str], tmp: Path, port: int,
             start_timeout: float = START_TIMEOUT) -> Iterator[tuple[Suite, subprocess.Popen[bytes]]]:
    """``scripts/run_suite.py`` with ``env`` (see tests/e2e/conftest.py), until it is ready."""
    suite = Suite(f"http://127.0.0.1:{port}", tmp / "var", env, tmp / "launcher.log")
    with suite.launcher_log.open("wb") as out:
        launcher = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "--no-follow", "--ready-timeout", str(start_timeout - 10)],
            cwd=LAUNCHER.parent.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_pytest, process_group=0,  # _stop sends Ctrl-C to the group
        )
    try:
        state = poll(lambda: launcher.poll() is not None or _read_state(tmp / "var" / "run" / "suite.json"),
                     start_timeout, interval=0.25)
        if not isinstance(state, dict) or state["state"] != "ready":
            raise RuntimeError(f"the suite did not come up ({state!r}):\n{suite.diagnostics()}")
        suite.state = state
        yield suite, launcher
    finally:
        try:
            _stop(launcher, suite)
        except BaseException:  # a chaos test may leave it broken: still take everything down
            with contextlib.suppress(ProcessLookupError):
                os.killpg(launcher.pid, signal.SIGTERM)  # supervisord stops its programs on TERM
            with contextlib.suppress(subprocess.TimeoutExpired):
                launcher.wait(timeout=60)


@contextlib.contextmanager
def _start_suite(tmp: Path, extra_env: dict[str, str] | None) -> Iterator[ChaosSuite]:
    broker = OwnBroker(tmp / "rabbitmq")
    postgres = OwnPostgres(tmp / "postgres")
    try:
        broker.start()
        postgres.start()
        urls = {service: postgres.create_database(f"chaos_{service}") for service in SERVICES}
        with launched_twins(tmp, broker, postgres, urls, extra_env) as chaos:
            yield chaos
    finally:
        with contextlib.suppress(Exception):
            broker.stop()
        with contextlib.suppress(Exception):
            postgres.stop()


@contextlib.contextmanager
def launched_twins(tmp: Path, broker: Any, postgres: Any, urls: dict[str, str],
                   extra_env: dict[str, str] | None) -> Iterator[ChaosSuite]:
    """The suite with two instances of everything behind HAProxy, on ``broker`` (its
    ``uri``: one node's, or a cluster's list) and the databases ``urls`` name."""
    port, gateway_ports = free_port(), [free_port() for _ in range(INSTANCES)]
    env = _suite_environment(broker.uri, lambda service: urls[service], tmp / "var", port)
    env["PORTAL_SUPERVISOR_CONFIG"] = str(scaled_supervisor_config(
        tmp / "supervisord-twins.conf", INSTANCES, gateway_ports=gateway_ports, listen_port=port))
    env.update(extra_env or {})
    with launched(env, tmp, port, start_timeout=300) as (suite, launcher):
        yield ChaosSuite(suite, broker, postgres, urls, launcher, gateway_ports=gateway_ports)


def diagnostics(chaos: ChaosSuite) -> str:
    parts: list[Any] = [chaos.suite.diagnostics(), "--- rabbitmq", chaos.broker.log_tail()]
    return "\n".join(str(part) for part in parts)
