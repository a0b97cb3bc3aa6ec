"""The whole suite as real processes, started exactly the way ``make run`` starts it.

``suite`` runs ``make run``, i.e. ``scripts/run_suite.py`` (migrations, supervisord with
``config/supervisord.conf``, wait for ``/healthz``, ``portal seed``) with its own
``PORTAL_VAR_DIR``, a vhost of its own, a fresh database per service and a free gateway
port, once per test session. The vhost is not the session's ``amqp_uri``: in-process
services of other tests must never become competing consumers of this suite's queues.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.identity_client import DEMO_ADMIN, Client, Mailbox, signed_in
from tests.support.fixtures import fresh_databases, fresh_vhost
from tests.support.oidc import OidcProvider, running_provider
from tests.support.otlp_receiver import OtlpReceiver, running_receiver

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "scripts" / "run_suite.py"
SUPERVISOR_CONFIG = ROOT / "config" / "supervisord.conf"
SERVICES = ("identity", "tenancy", "billing", "audit", "notify")
START_TIMEOUT = 120.0
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def poll(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """The first truthy value of ``predicate()`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _die_with_pytest() -> None:
    # A killed test run must not leave the suite behind: the launcher then gets SIGTERM.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Suite:
    base_url: str
    var_dir: Path
    env: dict[str, str]
    launcher_log: Path
    state: dict[str, Any] | None = None

    def log_path(self, program: str) -> Path:
        return self.var_dir / "log" / f"{program}.log"

    @property
    def log_paths(self) -> dict[str, Path]:
        return {name: self.log_path(name) for name in (*SERVICES, "gateway", "processor")}

    def get(self, path: str, timeout: float = 10, **kwargs: Any) -> requests.Response:
        return requests.get(self.base_url + path, timeout=timeout, **kwargs)

    def supervisorctl(self, *args: str) -> str:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "supervisorctl"), "-c", str(SUPERVISOR_CONFIG), *args],
            env=self.env, capture_output=True, text=True, timeout=60, check=False,
        )
        return result.stdout + result.stderr

    def stop_service(self, name: str) -> None:
        """Returns once supervisord has seen the program exit."""
        output = self.supervisorctl("stop", f"portal:{name}")
        assert "stopped" in output or "not running" in output, output

    def start_service(self, name: str) -> None:
        """Returns once the program has stayed up for its ``startsecs``."""
        output = self.supervisorctl("start", f"portal:{name}")
        assert "started" in output or "already started" in output, output

    def diagnostics(self) -> str:
        parts = [f"--- launcher ({self.launcher_log})", _tail(self.launcher_log, 40)]
        for name, path in self.log_paths.items():
            parts += [f"--- {name} ({path})", _tail(path, 15)]
        return "\n".join(parts)


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no file)"


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state if state.get("state") in ("ready", "unhealthy") else None


def _suite_environment(amqp_uri: str, database_url: Callable[[str], str], var_dir: Path,
                       port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.endswith("_DATABASE_URL") and not key.startswith(("NOTIFY_SMTP_", "PYTEST_"))}
    env.update(
        AMQP_URI=amqp_uri,
        PORTAL_VAR_DIR=str(var_dir),
        PORTAL_GATEWAY_HOST="127.0.0.1",
        PORTAL_GATEWAY_PORT=str(port),
        GATEWAY_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        PORTAL_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        # The tests stand in for clients at other addresses through X-Forwarded-For.
        GATEWAY_TRUSTED_PROXIES="127.0.0.1",
        PORTAL_OPERATOR_EMAIL="operator@e2e.example",
        PORTAL_OPERATOR_PASSWORD="operator-e2e-password",
        PROCESSOR_PORT=str(free_port()),
    )
    for service in SERVICES:
        env[f"{service.upper()}_DATABASE_URL"] = database_url(service)
        env[f"PORTAL_METRICS_PORT_{service.upper()}"] = str(free_port())  # beside a `make run`, not on it
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def oidc_providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OidcProvider]]:
    """A real OpenID Connect provider on loopback for "microsoft" and one for "google", up
    before the suite starts (identity reads its providers from the environment)."""
    logs = tmp_path_factory.mktemp("oidc")
    with contextlib.ExitStack() as running:
        yield {name: running.enter_context(running_provider(name, logs / f"{name}.log",
                                                            preexec_fn=_die_with_pytest))
               for name in ("microsoft", "google")}


def _sso_environment(providers: dict[str, OidcProvider]) -> dict[str, str]:
    env = {}
    for name, provider in providers.items():
        env[f"IDENTITY_{name.upper()}_ISSUER"] = provider.issuer
        env[f"IDENTITY_{name.upper()}_CLIENT_ID"] = provider.client_id
        env[f"IDENTITY_{name.upper()}_CLIENT_SECRET"] = f"e2e-secret-of-{name}"
    return env


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """Where the suite exports its traces: the e2e suite runs with tracing on, as an
    operator would switch it on, through the standard OTEL_* variables."""
    with running_receiver() as receiver:
        yield receiver


def _tracing_environment(receiver: OtlpReceiver) -> dict[str, str]:
    # A short batch delay: a test waits for spans, not for the SDK's 5 s default.
    return {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200"}


@pytest.fixture(scope="session")
def suite(postgres_admin_url: str | None, tmp_path_factory: pytest.TempPathFactory,
          oidc_providers: dict[str, OidcProvider], otlp_receiver: OtlpReceiver) -> Iterator[Suite]:
    tmp = tmp_path_factory.mktemp("suite")
    port = free_port()
    with fresh_vhost("portal_e2e") as amqp_uri, fresh_databases(postgres_admin_url, tmp) as database_url:
        env = _suite_environment(amqp_uri, database_url, tmp / "var", port,
                                 {**_sso_environment(oidc_providers), **_tracing_environment(otlp_receiver)})
        suite = Suite(f"http://127.0.0.1:{port}", tmp / "var", env, tmp / "launcher.log")
        with suite.launcher_log.open("wb") as out:
            # `make run` itself, quieter, in a process group of its own as in a terminal
            # (Ctrl-C at the end goes to the whole group).
            launcher = subprocess.Popen(
                ["make", "--no-print-directory", "run",
                 f"RUN_ARGS=--no-follow --ready-timeout {START_TIMEOUT - 10:.0f}"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_pytest,
                process_group=0,
            )
        try:
            state = poll(lambda: launcher.poll() is not None or _read_state(tmp / "var" / "run" / "suite.json"),
                         START_TIMEOUT, interval=0.25)
            if not isinstance(state, dict) or state["state"] != "ready":
                pytest.fail(f"the suite did not come up ({state!r}):\n{suite.diagnostics()}")
            suite.state = state
            yield suite
        finally:
            _stop(launcher, suite)


def _stop(launcher: subprocess.Popen[bytes], suite: Suite) -> None:
    """Stop the suite as Ctrl-C in its terminal does (SIGINT to the process group of
    `make run`), then check that every program it ran has exited: the README promises that
    Ctrl-C stops everything."""
    if launcher.poll() is not None:
        return
    programs = _program_pids(suite)
    os.killpg(launcher.pid, signal.SIGINT)
    try:
        launcher.wait(timeout=60)
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait(timeout=10)
        pytest.fail(f"the launcher did not stop on Ctrl-C (SIGINT):\n{suite.diagnostics()}")
    poll(lambda: not any(_alive(pid) for pid in programs.values()), timeout=10)
    left = [name for name, pid in programs.items() if _alive(pid)]
    assert not left, f"still running after Ctrl-C: {left}"
    running = {name.rpartition("-")[0] if name[-1].isdigit() else name for name in programs}
    assert {*SERVICES, "gateway"} <= running, f"not every program was running: {programs}"


def _program_pids(suite: Suite) -> dict[str, int]:
    """Every program of the suite (``identity``, or ``identity-0``/``identity-1`` when scaled) and its pid."""
    pids = {}
    for line in suite.supervisorctl("status").splitlines():
        parts = line.replace(",", " ").split()
        if len(parts) >= 4 and parts[0].startswith("portal:") and parts[1] == "RUNNING" and parts[2] == "pid":
            pids[parts[0].removeprefix("portal:")] = int(parts[3])
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; it has exited all the same.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return False


@pytest.fixture(scope="module")
def admin(suite: Suite) -> Client:
    """The demo distributor's administrator, signed in (a module may define its own)."""
    return signed_in(suite.base_url, *DEMO_ADMIN)


@pytest.fixture(scope="module")
def mail(suite: Suite) -> Mailbox:
    """The suite's outgoing mail (its Maildir)."""
    return Mailbox(suite.var_dir)


# Chromium for the console's browser tests, for every module here.
from tests.e2e.browser import browser  # noqa: E402, F401
