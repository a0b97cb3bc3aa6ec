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
from tests.e2e.identity_client import DEMO_ADMIN, Client, signed_in

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


def test_make_run_loaded_the_demo_data_and_says_how_to_sign_in(suite: Suite) -> None:
    assert suite.state is not None
    assert suite.state["seed"] == "ok", suite.state.get("seed_output")
    printed = suite.launcher_log.read_text(errors="replace")
    port = suite.base_url.rsplit(":", 1)[1]
    assert f"Backup portal is up: http://localhost:{port}" in printed, printed[-3000:]
    assert DEMO_ADMIN[0] in printed and DEMO_ADMIN[1] in printed  # the demo sign-in it prints
    assert "Operator: operator@e2e.example" in printed
    assert "Ctrl-C stops everything." in printed
    # ... and what it prints works.
    assert Client(suite.base_url).sign_in(*DEMO_ADMIN).status_code == 200


def test_stopped_services_are_down_within_2s_and_the_others_still_answer(suite: Suite) -> None:
    # Two services down: each health call has a 1.5 s deadline, so /healthz can only answer
    # within 2 s if it asks the services in parallel.
    victims = ("billing", "notify")
    admin = signed_in(suite.base_url, *DEMO_ADMIN)
    for victim in victims:
        suite.stop_service(victim)
    try:
        started = time.monotonic()
        response = suite.get("/healthz")
        elapsed = time.monotonic() - started

        assert response.status_code == 503, response.text
        services = response.json()["services"]
        assert all(services[victim]["status"] == "down" for victim in victims), services
        assert elapsed < 2.0, f"/healthz took {elapsed:.2f}s with {victims} down"
        assert all(services[name]["status"] == "ok" for name in SERVICES if name not in victims), services

        # The gateway answers other requests normally: a sign-in (identity) and the direct
        # accounts (tenancy; their billing columns empty) while billing and notify are away ...
        other = Client(suite.base_url)
        assert other.sign_in(*DEMO_ADMIN).status_code == 200
        accounts = admin.get("/api/v1/direct-accounts")
        assert accounts.status_code == 200, accounts.text
        assert accounts.json()["items"], accounts.text
        # Adding a user (identity asks notify to mail the confirmation) is answered, not a
        # 503 for a change that was made: identity gives up on notify first (decision 0010).
        email = f"while-notify-is-down-{uuid.uuid4().hex[:8]}@northwind-backup.example"
        added = admin.post("/api/v1/users", json={"email": email, "display_name": "Notify Down",
                                                  "role": "administrator"})
        assert added.status_code == 201, added.text
        # ... and a billing route says what is wrong instead of hanging or answering 500.
        started = time.monotonic()
        billing = admin.get("/api/v1/billing/status")
        assert billing.status_code == 503, billing.text
        assert billing.json()["error"]["code"] == "service_unavailable"
        assert time.monotonic() - started < 15
    finally:
        for victim in victims:
            suite.start_service(victim)

    back = poll(lambda: suite.get("/healthz").status_code == 200, timeout=30, interval=0.2)
    assert back, f"{victims} are still not ok after start:\n{suite.diagnostics()}"


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


def test_the_correlation_id_travels_with_the_events_a_request_causes(suite: Suite) -> None:
    # A sign-in is announced as an event (identity's outbox → RabbitMQ → audit): audit's log
    # line for handling it carries the id of the HTTP request that caused it.
    correlation_id = f"e2e-{uuid.uuid4()}"
    client = Client(suite.base_url)

    response = client.post(
        "/api/v1/auth/sign-in",
        json={"email": DEMO_ADMIN[0], "password": DEMO_ADMIN[1]},
        headers={CORRELATION_HEADER: correlation_id},
    )

    assert response.status_code == 200, response.text
    identity_lines = poll(lambda: records_with(suite.log_path("identity"), correlation_id), timeout=5)
    assert identity_lines, f"no identity log line carries {correlation_id}"
    audit_lines = poll(lambda: [line for line in records_with(suite.log_path("audit"), correlation_id)
                                if "event" in str(line.get("entrypoint", ""))], timeout=15)
    assert audit_lines, f"no audit event-handler log line carries {correlation_id}:\n{suite.diagnostics()}"
    assert all(line.get("service") == "audit" for line in audit_lines), audit_lines
