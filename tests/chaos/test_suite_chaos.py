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

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.checks import (
    RECOVERY_LIMIT,
    check_effects,
    check_events,
    drained,
    latency_figures,
    recover,
    totals,
    under_load,
    verify_audit_chains,
)
from tests.chaos.infra import PROGRAMS, ChaosSuite, diagnostics, start_suite
from tests.chaos.load import HANG_LIMIT, Load, Outcome
from tests.e2e.conftest import poll

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(1200)]

BROKER_PAUSE = 5.0
POSTGRES_PAUSE = 3.0
STEADY = 6.0  # seconds of load between faults, once healthy again
READY_LIMIT = 10.0  # seconds from kill -9 to a restarted instance serving again


@pytest.fixture(scope="module")
def chaos() -> Any:
    # Faster event retries than production: a handler that failed during the database
    # restart is retried within seconds instead of up to 30.
    env = {"PORTAL_EVENT_RETRY_MAX_SECONDS": "5"}
    with start_suite(env) as suite:
        yield suite


# --- the faults ---------------------------------------------------------------------------------


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


# --- the test -----------------------------------------------------------------------------------


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
    load, faults, duration = under_load(chaos, inject_faults)

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
        **totals(effects, events),
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
