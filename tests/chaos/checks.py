"""What the chaos and cluster tests share: setting the scene, waiting for the suite to
answer again, and reading every effect back from the databases and the broker.

Both tests run the suite as ``tests/chaos/infra.py`` starts it (a :class:`ChaosSuite`:
its ``broker`` is one RabbitMQ node or a cluster of them, ``database_urls`` name each
service's database) and check it the same way once the load stops.
"""

from __future__ import annotations

import hashlib
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
from tests.chaos.infra import SERVICES, ChaosSuite, diagnostics
from tests.chaos.load import Load, Outcome
from tests.e2e.conftest import poll
from tests.e2e.identity_client import OPERATOR

ROOT = Path(__file__).resolve().parents[2]
PRODUCERS = ("identity", "tenancy", "billing", "notify")
RECOVERY_LIMIT = 180.0
INGEST_TASKS = 4

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


def under_load(chaos: ChaosSuite, inject_faults: Any) -> tuple[Load, list[dict[str, Any]], float]:
    """The load running while ``inject_faults(chaos, load, faults)`` does its work: the
    load, the faults it recorded and how long it all took."""
    load = prepare(chaos)
    faults: list[dict[str, Any]] = []
    started = time.monotonic()
    load.start()
    try:
        inject_faults(chaos, load, faults)
    finally:
        load.stop()
    return load, faults, time.monotonic() - started


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


def totals(effects: dict[str, Any], events: dict[str, Any]) -> dict[str, int]:
    """The effects checked, lost and duplicated, over the requests' effects and the events'."""
    return {
        "effects_checked": sum(f["accepted"] for f in effects.values()) + events["audited"]["accepted"]
        + events["claimed_by_other_handlers"]["deliveries"],
        "duplicates": sum(f["duplicates"] for f in effects.values()) + events["audited"]["duplicates"],
        "lost": sum(f["lost"] for f in effects.values()) + events["audited"]["lost"]
        + events["claimed_by_other_handlers"]["lost"],
    }


def verify_audit_chains(chaos: ChaosSuite) -> int:
    env = {**os.environ, "AUDIT_DATABASE_URL": chaos.database_urls["audit"]}
    return subprocess.run([sys.executable, "-m", "services.audit.usecases.verify"], env=env, cwd=ROOT, capture_output=True,
                          timeout=120, check=False).returncode


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
