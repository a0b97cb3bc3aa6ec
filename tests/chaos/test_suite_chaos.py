"""Broker and process faults under load: nothing accepted is lost or doubled, nothing hangs,
and losing one instance of anything costs the clients nothing.

While sign-ins, account creations, backup-run ingests and reads flow through HAProxy, the
suite (two instances of every service and two gateways, on a RabbitMQ node and a
PostgreSQL cluster of its own, under supervisord) gets:

1. a RabbitMQ restart (stopped for a few seconds),
2. ``kill -9`` of each of the twelve instances in turn, mid-work,
3. a PostgreSQL restart (``pg_ctl -m fast``: every connection cut).

While an instance is down and coming back, every request must still succeed: no connection
error and no 5xx (an RPC in flight on the killed service instance is redelivered to its twin;
a request in flight on the killed gateway is sent again by the proxy to the other one), and
the restarted instance must be ready within 10 s.

Then, once the suite is healthy again and every outbox and event queue has drained:

- every accepted (2xx) request's effect is present exactly once: its session, its account
  (by a unique name), its backup runs (and the task's run count in the roll-up equals the
  runs stored); a refused request's effect is there at most once;
- every event of the four producing services was published, and each audited one is in
  the audit trail exactly once, whose hash chains verify; every other subscribed handler
  that claims events (``processed_events``) claimed each once;
- nothing was parked in an event dead-letter queue;
- every program runs again (supervisord restarted the killed ones) and ``/healthz`` is 200;
- every request got an answer (an error during the faults, never a hang): the latencies
  are recorded, and none reached the client's limit.

Figures go to ``$PORTAL_CHAOS_RESULTS`` (``make chaos``: docs/chaos-results.json).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from contracts.envelope import EventEnvelope
from servicekit.healthcheck import call_health
from services.audit.domain.audited_events import map_event
from tests.chaos.infra import PROGRAMS, SERVICES, ChaosSuite, diagnostics, start_suite
from tests.chaos.load import HANG_LIMIT, Load, Outcome
from tests.e2e.conftest import poll
from tests.e2e.identity_client import OPERATOR

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
PRODUCERS = ("identity", "tenancy", "billing", "notify")
BROKER_PAUSE = 5.0
POSTGRES_PAUSE = 3.0
STEADY = 6.0  # seconds of load between faults, once healthy again
RECOVERY_LIMIT = 180.0
INGEST_TASKS = 4
READY_LIMIT = 10.0  # seconds from kill -9 to a restarted instance serving again


@pytest.fixture(scope="module")
def chaos() -> Any:
    # Faster event retries than production: a handler that failed during the database
    # restart is retried within seconds instead of up to 30.
    env = {"PORTAL_EVENT_RETRY_MAX_SECONDS": "5"}
    with start_suite(env) as suite:
        yield suite


# --- setting the scene ------------------------------------------------------------------------


def api(chaos: ChaosSuite, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, chaos.suite.base_url + path, headers=headers, timeout=30, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def prepare(chaos: ChaosSuite) -> Load:
    token = api(chaos, "POST", "/api/v1/auth/sign-in", json={"email": OPERATOR[0], "password": OPERATOR[1]})["token"]
    tag = uuid.uuid4().hex[:8]
    distributor = api(chaos, "POST", "/api/v1/operator/distributors", token, json={
        "name": f"Chaos {tag}", "email": f"dist-{tag}@chaos.example", "country": "US", "data_center": "us-east-1",
        "admin_email": f"admin-{tag}@chaos.example", "admin_password": "a storm is only weather"})["distributor"]
    key = api(chaos, "POST", "/api/v1/operator/engine-keys", token, json={"name": f"chaos engine {tag}"})["key"]
    tasks, accounts = [], []
    for number in range(INGEST_TASKS):
        account = api(chaos, "POST", "/api/v1/accounts", token, json={
            "name": f"Ingest target {tag} {number}", "email": f"ingest-{tag}-{number}@chaos.example",
            "distributor_id": distributor["id"], "subscription": "subscribe_monthly"})
        task = api(chaos, "POST", f"/api/v1/accounts/{account['id']}/backup-tasks", token,
                   json={"service": "exchange", "name": "Mailboxes"})
        api(chaos, "POST", f"/api/v1/accounts/{account['id']}/backup-tasks/{task['id']}/activate", token)
        tasks.append(task["id"])
        accounts.append(account["id"])
    return Load(chaos.suite.base_url, OPERATOR, distributor["id"], key, tasks, accounts)


# --- the faults ---------------------------------------------------------------------------------


def answering(chaos: ChaosSuite) -> bool:
    """Every program runs and every service answers its ``health`` RPC.

    With a generous deadline: right after a fault a service works through the backlog of
    events that waited for it with all its workers, and on this shared 2-core machine its
    health answer can take longer than ``/healthz``'s 1.5 s. The end of the test waits for
    ``/healthz`` itself to say 200.
    """
    if set(chaos.states().values()) != {"RUNNING"}:
        return False
    try:
        for service in SERVICES:
            call_health(service, chaos.broker.uri, timeout=15)
        return chaos.suite.get("/healthz", timeout=15).status_code in (200, 503)
    except (OSError, RuntimeError, requests.RequestException):
        return False


def recover(chaos: ChaosSuite, what: str) -> None:
    if not poll(lambda: answering(chaos), RECOVERY_LIMIT, interval=0.5):
        pytest.fail(f"the suite did not recover from {what}:\n{diagnostics(chaos)}")


def inject_faults(chaos: ChaosSuite, load: Load, faults: list[dict[str, Any]]) -> None:
    def fault(name: str, action: Any) -> None:
        load.phase = name
        started = time.monotonic()
        detail = action()
        recover(chaos, name)
        faults.append({"fault": name, "detail": detail, "recovered_after_s": round(time.monotonic() - started, 1)})
        load.phase = f"after {name}"
        time.sleep(STEADY)

    time.sleep(STEADY)
    fault("rabbitmq restart", lambda: chaos.broker.restart(BROKER_PAUSE))
    for program in PROGRAMS:
        fault(f"kill -9 {program}", lambda program=program: chaos.kill_9(program))
    fault("postgresql restart", lambda: chaos.postgres.restart(POSTGRES_PAUSE))


# --- reading the effects ------------------------------------------------------------------------


def query(chaos: ChaosSuite, service: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(chaos.database_urls[service]) as conn:
        return list(conn.execute(sql, params).fetchall())


def drained(chaos: ChaosSuite) -> bool:
    unpublished = sum(query(chaos, service, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
                      for service in PRODUCERS)
    waiting = sum(depth for name, depth in chaos.broker.queues() if name.startswith("evt-"))
    return unpublished == 0 and waiting == 0


def check_once(accepted: list[Any], refused: list[Any], counts: Counter[Any]) -> dict[str, int]:
    return {
        "accepted": len(accepted),
        "lost": sum(1 for key in accepted if counts[key] == 0),
        "duplicates": sum(1 for key in [*accepted, *refused] if counts[key] > 1),
        "refused_but_applied": sum(1 for key in refused if counts[key] == 1),
    }


def check_effects(chaos: ChaosSuite, load: Load) -> dict[str, Any]:
    figures: dict[str, Any] = {}

    tokens = [o.effect for o in load.accepted("sign_in")]
    sessions = Counter(row[0] for row in query(chaos, "identity", "SELECT token_hash FROM sessions"))
    figures["sign_ins"] = check_once([hashlib.sha256(t.encode()).hexdigest() for t in tokens], [], sessions)

    names = Counter(row[0] for row in query(
        chaos, "tenancy", "SELECT t.name FROM tenants t JOIN accounts a ON a.id = t.id WHERE t.name LIKE 'chaos-%%'"))
    figures["accounts"] = check_once([o.effect for o in load.accepted("create_account")],
                                     [o.effect for o in load.refused("create_account")], names)

    stored = Counter(str(row[0]) for row in query(
        chaos, "tenancy", "SELECT run_id FROM backup_runs WHERE task_id::text = ANY(%s)", load.task_ids))
    figures["backup_runs"] = check_once([r for o in load.accepted("ingest") for r in o.effect],
                                        [r for o in load.refused("ingest") for r in o.effect], stored)
    rollup = query(chaos, "tenancy", "SELECT sum(runs) FROM backup_tasks WHERE id::text = ANY(%s)", load.task_ids)
    figures["backup_runs"]["task_rollup_runs"] = int(rollup[0][0] or 0)
    figures["backup_runs"]["rows"] = sum(stored.values())
    return figures


def check_events(chaos: ChaosSuite) -> dict[str, Any]:
    audited = Counter(str(row[0]) for row in query(chaos, "audit", "SELECT event_id FROM audit_entries"))
    expected: list[str] = []
    events = 0
    for service in PRODUCERS:
        for (body,) in query(chaos, service, "SELECT body FROM outbox"):
            events += 1
            envelope = EventEnvelope.model_validate(body)
            if map_event(envelope) is not None:
                expected.append(str(envelope.event_id))
    figures: dict[str, Any] = {"events_published": events, "audited": check_once(expected, [], audited)}

    # Every other handler that claims events: each subscribed event claimed once.
    handlers: Counter[str] = Counter()
    missing = 0
    for name, _ in chaos.broker.queues():
        if not name.startswith("evt-") or "--" not in name:
            continue
        source_type, consumer = name[len("evt-"):].split("--", 1)
        source, event_type = source_type.split("-", 1)
        service, method = consumer.split(".", 1)
        if service not in chaos.database_urls or source not in PRODUCERS or service == "audit":
            continue
        claimed = {str(row[0]) for row in query(
            chaos, service, "SELECT event_id FROM processed_events WHERE handler LIKE %s", f"%.{method}")}
        if not claimed:
            continue  # a handler without an idempotency claim (it is idempotent by its data)
        sent = [str(row[0]) for row in query(chaos, source, "SELECT event_id FROM outbox WHERE routing_key = %s",
                                             event_type)]
        handlers[name] = len(sent)
        missing += sum(1 for event_id in sent if event_id not in claimed)
    figures["claimed_by_other_handlers"] = {"handlers": len(handlers), "deliveries": sum(handlers.values()),
                                            "lost": missing}
    return figures


def verify_audit_chains(chaos: ChaosSuite) -> int:
    env = {**os.environ, "AUDIT_DATABASE_URL": chaos.database_urls["audit"]}
    return subprocess.run([sys.executable, "-m", "services.audit.usecases.verify"], env=env, cwd=ROOT, capture_output=True,
                          timeout=120, check=False).returncode


# --- the test -----------------------------------------------------------------------------------


def latency_figures(outcomes: list[Outcome]) -> dict[str, Any]:
    by_phase: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        phase = by_phase.setdefault(outcome.phase, {"requests": 0, "errors": 0, "max_latency_s": 0.0,
                                                    "statuses": Counter()})
        phase["requests"] += 1
        phase["errors"] += 0 if outcome.accepted else 1
        phase["max_latency_s"] = round(max(phase["max_latency_s"], outcome.latency), 2)
        phase["statuses"][str(outcome.status)] += 1
    for phase in by_phase.values():
        phase["statuses"] = dict(sorted(phase["statuses"].items()))
    return by_phase


def instance_fault_figures(outcomes: list[Outcome], faults: list[dict[str, Any]]) -> dict[str, Any]:
    """For each killed instance: what the clients saw while it was down and coming back
    (its fault's phase and the steady phase after it), by kind of request."""
    figures: dict[str, Any] = {}
    for fault in faults:
        if not fault["fault"].startswith("kill -9 "):
            continue
        seen = [o for o in outcomes if o.phase in (fault["fault"], f"after {fault['fault']}")]
        figures[fault["fault"].removeprefix("kill -9 ")] = {
            "requests": len(seen),
            "connection_errors": sum(1 for o in seen if o.status == 0),
            "server_errors": sum(1 for o in seen if o.status >= 500),
            "failed_by_kind": dict(Counter(o.kind for o in seen if not o.accepted)),
            "max_latency_s": round(max((o.latency for o in seen), default=0.0), 2),
            "ready_after_s": fault["detail"]["ready_after_s"],
        }
    return figures


def failure_trails(chaos: ChaosSuite, outcomes: list[Outcome], faults: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each request that failed while an instance was down or coming back, with the log lines
    of every program (and the proxy's) that name it or fall within a second of it."""
    phases = {phase for fault in faults if fault["fault"].startswith("kill -9 ")
              for phase in (fault["fault"], f"after {fault['fault']}")}
    logs = {path.name: path.read_text(errors="replace").splitlines()
            for path in sorted((chaos.suite.var_dir / "log").glob("*.log"))}
    trails = []
    for outcome in outcomes:
        if outcome.accepted or outcome.phase not in phases:
            continue
        seconds = {time.strftime("%H:%M:%S", time.gmtime(outcome.at + shift)) for shift in (-1, 0, 1, 2)}
        lines = [f"{name}: {line[:300]}" for name, content in logs.items() for line in content
                 if (outcome.correlation_id and outcome.correlation_id in line)
                 or (name == "proxy.log" and any(second in line for second in seconds))]
        trails.append({"kind": outcome.kind, "status": outcome.status, "code": outcome.code, "phase": outcome.phase,
                       "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(outcome.at)),
                       "correlation_id": outcome.correlation_id, "log_lines": lines[:40]})
    return trails


def test_the_suite_loses_nothing_through_broker_database_and_process_faults(chaos):
    load = prepare(chaos)
    faults: list[dict[str, Any]] = []
    started = time.monotonic()
    load.start()
    try:
        inject_faults(chaos, load, faults)
    finally:
        load.stop()
    duration = time.monotonic() - started

    if not poll(lambda: drained(chaos), 120, interval=1):
        pytest.fail(f"outboxes or event queues did not drain: {chaos.broker.queues()}\n{diagnostics(chaos)}")
    effects = check_effects(chaos, load)
    events = check_events(chaos)
    dead_letters = {name: depth for name, depth in chaos.broker.queues() if name.startswith("dlq.") and depth}
    healthy = bool(poll(chaos.healthy, RECOVERY_LIMIT, interval=1))
    states = chaos.states()
    chains = verify_audit_chains(chaos)
    outcomes = load.outcomes
    outage = [o for o in outcomes if not o.phase.startswith(("warmup", "after"))]
    results = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(duration, 1),
        "requests_sent": len(outcomes),
        "requests_accepted": sum(1 for o in outcomes if o.accepted),
        "statuses": load.by_status(),
        "error_codes": dict(Counter(o.code for o in outcomes if o.code)),
        "faults_injected": len(faults),
        "faults": faults,
        "effects": effects,
        "events": events,
        "effects_checked": sum(f["accepted"] for f in effects.values()) + events["audited"]["accepted"]
        + events["claimed_by_other_handlers"]["deliveries"],
        "duplicates": sum(f["duplicates"] for f in effects.values()) + events["audited"]["duplicates"],
        "lost": sum(f["lost"] for f in effects.values()) + events["audited"]["lost"]
        + events["claimed_by_other_handlers"]["lost"],
        "dead_letters": dead_letters,
        "programs": states,
        "audit_chains_verify_exit": chains,
        "hangs": sum(1 for o in outcomes if o.status == -1),
        "max_latency_during_faults_s": round(max((o.latency for o in outage), default=0.0), 2),
        "client_hang_limit_s": HANG_LIMIT,
        "phases": latency_figures(outcomes),
        "instance_faults": instance_fault_figures(outcomes, faults),
        "instance_fault_failures": failure_trails(chaos, outcomes, faults),
    }
    target = os.environ.get("PORTAL_CHAOS_RESULTS")
    if target:
        Path(target).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))

    assert results["lost"] == 0, results
    assert results["duplicates"] == 0, results
    assert effects["backup_runs"]["task_rollup_runs"] == effects["backup_runs"]["rows"], effects
    assert dead_letters == {k: v for k, v in dead_letters.items() if k.startswith("dlq.rpc-")}, dead_letters
    assert set(states.values()) == {"RUNNING"} and set(PROGRAMS) <= set(states), states
    assert healthy, diagnostics(chaos)
    assert chains == 0
    assert results["hangs"] == 0, results
    assert "500" not in results["statuses"], results["error_codes"]
    # Load really flowed through every phase, and the faults really were felt.
    assert all(phase["requests"] > 0 for phase in results["phases"].values()), results["phases"]
    assert any(o.status in (0, 503) for o in outage), "no fault was visible to the clients"
    assert min(f["accepted"] for f in effects.values()) > 0, effects
    # Losing one instance of anything is invisible to the clients, and it is back within 10 s.
    felt = {name: figures for name, figures in results["instance_faults"].items()
            if figures["connection_errors"] or figures["server_errors"]}
    assert not felt, felt
    slow = {name: figures["ready_after_s"] for name, figures in results["instance_faults"].items()
            if figures["ready_after_s"] is None or figures["ready_after_s"] > READY_LIMIT}
    assert not slow, slow
