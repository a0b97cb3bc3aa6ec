"""The suite as `make run` starts it: health, a stopped service, a crash, correlation ids."""

from __future__ import annotations

import functools
import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import SERVICES, Suite, poll

# Generous: the first test also pays for starting the suite (session fixture).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CORRELATION_HEADER = "X-Correlation-ID"


def log_records(path: Path) -> list[dict]:
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a traceback or a library's plain-text warning
        if isinstance(record, dict):
            records.append(record)
    return records


def records_with(path: Path, correlation_id: str) -> list[dict]:
    return [record for record in log_records(path) if record.get("correlation_id") == correlation_id]


def test_every_service_is_ok_on_healthz(suite: Suite, postgres_admin_url: str | None) -> None:
    response = suite.get("/healthz")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["services"]) == set(SERVICES)
    dialect = "postgresql" if postgres_admin_url else "sqlite"
    for name, health in body["services"].items():
        assert health["status"] == "ok", (name, health)
        assert health["database"] == dialect, (name, health)  # its own database, from the env


def test_make_run_loaded_the_demo_data(suite: Suite) -> None:
    assert suite.state is not None
    assert suite.state["seed"] == "ok", suite.state.get("seed_output")


def test_a_stopped_service_is_down_within_2s_and_back_after_start(suite: Suite) -> None:
    victim = "billing"
    suite.stop_service(victim)
    try:
        started = time.monotonic()
        response = suite.get("/healthz")
        elapsed = time.monotonic() - started

        assert response.status_code == 503, response.text
        services = response.json()["services"]
        assert services[victim]["status"] == "down"
        assert elapsed < 2.0, f"/healthz took {elapsed:.2f}s with {victim} down"
        assert all(services[name]["status"] == "ok" for name in SERVICES if name != victim), services
        openapi = suite.get("/openapi.json", timeout=2)
        assert openapi.status_code == 200
        assert "/healthz" in openapi.json()["paths"]
    finally:
        suite.start_service(victim)

    back = poll(lambda: suite.get("/healthz").status_code == 200, timeout=30, interval=0.2)
    assert back, f"{victim} is still not ok after start:\n{suite.diagnostics()}"


def test_a_crashed_service_is_restarted_by_supervisord(suite: Suite) -> None:
    victim = "audit"
    pid = int(suite.supervisorctl("pid", f"portal:{victim}").strip())
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        output = suite.supervisorctl("pid", f"portal:{victim}").strip()
        return output.isdigit() and int(output) not in (0, pid)

    assert poll(restarted, timeout=20, interval=0.2), suite.diagnostics()
    ok = poll(lambda: suite.get("/healthz").status_code == 200, timeout=30, interval=0.2)
    assert ok, f"{victim} did not come back:\n{suite.diagnostics()}"


def test_the_correlation_id_travels_to_the_gateway_and_service_logs(suite: Suite) -> None:
    correlation_id = f"e2e-{uuid.uuid4()}"

    response = suite.get("/healthz", headers={CORRELATION_HEADER: correlation_id})

    assert response.status_code == 200, response.text
    assert response.headers[CORRELATION_HEADER] == correlation_id
    gateway_lines = poll(lambda: records_with(suite.log_path("gateway"), correlation_id), timeout=5)
    assert gateway_lines, f"no gateway log line carries {correlation_id}"
    assert any(line.get("path") == "/healthz" for line in gateway_lines)
    # Every service answered the health RPC, and logs one line per handled call (written
    # just after its reply is sent, hence the polling).
    for name in SERVICES:
        lines = poll(functools.partial(records_with, suite.log_path(name), correlation_id), timeout=5)
        assert lines, f"no {name} log line carries {correlation_id}"
        assert any(line.get("entrypoint") == "rpc:health" for line in lines), lines
        assert all(line.get("service") == name for line in lines), lines
