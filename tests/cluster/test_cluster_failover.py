"""Losing a RabbitMQ node of a three-node cluster, and the PostgreSQL primary, under load:
nothing accepted is lost or doubled, nothing answers 500, and the suite finds its way
back by itself.

The suite (two instances of every service and two gateways behind HAProxy, as
``make chaos`` runs it) is given the three nodes as an ``AMQP_URI`` list and each service
a multi-host database URL (primary, then standby, ``target_session_attrs=read-write``).
While sign-ins, account creations, backup-run ingests and reads flow through the proxy:

1. a node that leads few of the services' quorum queues is stopped for a while, then
   started again (it rejoins the cluster and its replicas catch up);
2. the node leading most of them is stopped (every queue it led elects a new leader
   among the other two), then started again;
3. the PostgreSQL primary is stopped with ``pg_ctl -m immediate`` (a crash: no
   checkpoint, every connection cut) and the standby promoted; the old primary stays down.

Then, once the suite answers again and every outbox and event queue has drained, the
effects are read back **from the promoted standby alone** and checked as the chaos suite
checks them (tests/chaos/checks.py): each accepted request's effect exactly once, each
event audited once and claimed once by every other handler, no event dead-lettered, the
audit chains verify; no answer was a 500 (any 5xx is a 503), no request hung; every
program is still the process it was at the start (nobody restarted anything, and nothing
died); ``/healthz`` is 200; losing a RabbitMQ node paused the clients for less than the
gateway's RPC deadline, and the first write after the failover was accepted within
seconds of the promotion.

Per fault the figures are the longest pause the clients saw (the longest gap between two
successful answers) and the longest latency; for the failover also the time from the
crash to the first accepted write. They go to ``$PORTAL_CLUSTER_RESULTS``
(``make cluster-test``: docs/cluster-results.json).
"""

from __future__ import annotations

import itertools
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
from tests.chaos.infra import PROGRAMS, ChaosSuite, diagnostics
from tests.chaos.load import HANG_LIMIT, Load, Outcome
from tests.cluster.infra import OwnCluster, StreamingPair, start_cluster_suite
from tests.e2e.conftest import poll

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1500)]

NODE_DOWN = 15.0  # seconds a RabbitMQ node stays away, under load
STEADY = 8.0  # seconds of load after each fault, once the suite answers again
DETECTION = 2.0  # seconds between the primary's crash and the promotion (a failover manager noticing)
STOP_MODE = "immediate"
WRITES = ("create_account", "ingest")
# Losing one node of three must not stop the suite until the node is back: the clients'
# longest pause stays below the gateway's RPC deadline, well below NODE_DOWN.
NODE_LOSS_PAUSE_LIMIT = 10.0
# From the primary's crash to an accepted write: the detection delay, the promotion, and
# the pools reconnecting.
FAILOVER_LIMIT = DETECTION + 10.0


@pytest.fixture(scope="module")
def cluster() -> Any:
    # Faster event retries than production, as in the chaos suite: a handler that failed
    # while the database was away is retried within seconds instead of up to 30.
    with start_cluster_suite({"PORTAL_EVENT_RETRY_MAX_SECONDS": "5"}) as suite:
        yield suite


# --- the faults ---------------------------------------------------------------------------------


def node_down_and_back(rabbit: OwnCluster, name: str) -> dict[str, Any]:
    before = rabbit.leaders()
    rabbit.stop_node(name)
    time.sleep(NODE_DOWN)
    during = rabbit.leaders()
    rabbit.start_node(name)
    return {"node": name, "leaders_before": dict(before), "leaders_while_down": dict(during)}


def inject_faults(chaos: ChaosSuite, load: Load, faults: list[dict[str, Any]]) -> None:
    rabbit: OwnCluster = chaos.broker  # type: ignore[assignment]
    pair: StreamingPair = chaos.postgres  # type: ignore[assignment]

    def fault(name: str, action: Any) -> None:
        load.phase = name
        started = time.monotonic()
        detail = action()
        recover(chaos, name)
        answering = time.monotonic()
        load.phase = f"after {name}"
        time.sleep(STEADY)
        faults.append({"fault": name, "detail": detail, "started": started, "ended": time.monotonic(),
                       "recovered_after_s": round(answering - started, 1)})

    time.sleep(STEADY)
    leaders = rabbit.leaders()
    leading_most = leaders.most_common(1)[0][0]
    # Of the others, the one leading fewest: losing it costs no leader, or few.
    follower = min((node.node for node in rabbit.nodes if node.node != leading_most),
                   key=lambda name: leaders.get(name, 0))
    fault("rabbitmq follower node down", lambda: node_down_and_back(rabbit, follower))
    # Asked again: the follower's return may have moved some leaders.
    fault("rabbitmq leader node down", lambda: node_down_and_back(rabbit, rabbit.leaders().most_common(1)[0][0]))
    fault("postgresql primary lost", lambda: pair.fail_over(STOP_MODE, DETECTION))


# --- what the clients saw -----------------------------------------------------------------------


def fault_figures(outcomes: list[Outcome], fault: dict[str, Any]) -> dict[str, Any]:
    """The clients' view of one fault, from its start to the end of the steady period after
    it: the longest pause (the longest gap between two successful answers, counted from
    the last success before the fault) and the longest latency."""
    start, end = fault["started"], fault["ended"]
    seen = [o for o in outcomes if start <= o.finished - o.latency and o.finished <= end]
    successes = sorted(o.finished for o in outcomes if o.accepted and o.finished <= end)
    before = [t for t in successes if t < start]
    marks = [before[-1] if before else start, *(t for t in successes if t >= start)]
    figures = {
        "requests": len(seen),
        "statuses": dict(sorted(Counter(str(o.status) for o in seen).items())),
        "longest_pause_s": round(max((b - a for a, b in itertools.pairwise(marks)), default=end - start), 2),
        "max_latency_s": round(max((o.latency for o in seen), default=0.0), 2),
        "recovered_after_s": fault["recovered_after_s"],
        **fault["detail"],
    }
    if fault["fault"].startswith("postgresql"):
        writes = [o.finished for o in outcomes if o.kind in WRITES and o.accepted and o.finished - o.latency >= start]
        figures["first_write_accepted_after_s"] = round(min(writes) - start, 2) if writes else None
    return figures


def on_new_primary(chaos: ChaosSuite) -> dict[str, str]:
    """Each service's database on the promoted standby alone: what the checks read."""
    pair: StreamingPair = chaos.postgres  # type: ignore[assignment]
    assert not pair.in_recovery(pair.standby), "the standby was not promoted"
    return {service: f"postgresql://postgres@127.0.0.1:{pair.standby.port}/cluster_{service}"
            for service in chaos.database_urls}


# --- the test -----------------------------------------------------------------------------------


def test_the_suite_loses_nothing_when_a_rabbitmq_node_and_the_postgresql_primary_are_lost(cluster):
    chaos: ChaosSuite = cluster
    rabbit: OwnCluster = chaos.broker  # type: ignore[assignment]
    membership = rabbit.quorum_queues()
    pids = {program: chaos.pid(program) for program in PROGRAMS}
    load, faults, duration = under_load(chaos, inject_faults)

    chaos.database_urls = on_new_primary(chaos)
    if not poll(lambda: drained(chaos), 180, interval=1):
        pytest.fail(f"outboxes or event queues did not drain: {rabbit.queues()}\n{diagnostics(chaos)}")
    effects = check_effects(chaos, load)
    events = check_events(chaos)
    dead_letters = {name: depth for name, depth in rabbit.queues() if name.startswith("dlq.") and depth}
    healthy = bool(poll(chaos.healthy, RECOVERY_LIMIT, interval=1))
    after = rabbit.quorum_queues()
    outcomes = load.outcomes
    nodes = sorted(node.node for node in rabbit.nodes)
    results = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(duration, 1),
        "rabbitmq_nodes": len(nodes),
        "quorum_queues": len(membership),
        "quorum_queues_on_every_node": sum(1 for q in membership.values() if q["members"] == nodes),
        "quorum_queues_all_online_at_end": sum(1 for q in after.values() if q["online"] == nodes),
        "postgresql_stop_mode": STOP_MODE,
        "requests_sent": len(outcomes),
        "requests_accepted": sum(1 for o in outcomes if o.accepted),
        "statuses": load.by_status(),
        "error_codes": dict(Counter(o.code for o in outcomes if o.code)),
        "faults": {fault["fault"]: fault_figures(outcomes, fault) for fault in faults},
        "effects": effects,
        "events": events,
        **totals(effects, events),
        "dead_letters": dead_letters,
        "programs": chaos.states(),
        "restarted_programs": sorted(program for program, pid in pids.items() if chaos.pid(program) != pid),
        "audit_chains_verify_exit": verify_audit_chains(chaos),
        "hangs": sum(1 for o in outcomes if o.status == -1),
        "client_hang_limit_s": HANG_LIMIT,
        "phases": latency_figures(outcomes),
    }
    target = os.environ.get("PORTAL_CLUSTER_RESULTS")
    if target:
        Path(target).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps(results, indent=2, default=str))

    # The queues really were replicated: a member on each of the three nodes, all back online.
    assert results["quorum_queues"] > 0 and results["quorum_queues_on_every_node"] == results["quorum_queues"], membership
    assert results["quorum_queues_all_online_at_end"] == results["quorum_queues"], after
    leader_fault = results["faults"]["rabbitmq leader node down"]
    assert leader_fault["leaders_while_down"].get(leader_fault["node"], 0) == 0, leader_fault
    # Nothing accepted lost, nothing doubled; read from the new primary alone.
    assert results["lost"] == 0, results
    assert results["duplicates"] == 0, results
    assert effects["backup_runs"]["task_rollup_runs"] == effects["backup_runs"]["rows"], effects
    assert dead_letters == {k: v for k, v in dead_letters.items() if k.startswith("dlq.rpc-")}, dead_letters
    assert results["audit_chains_verify_exit"] == 0
    # Errors were 503s, never a 500 nor a proxy's 502/504, and nothing hung.
    server_errors = {status for status in results["statuses"] if status.startswith("5")}
    assert server_errors <= {"503"}, results["error_codes"]
    assert results["hangs"] == 0, results
    # Back by itself: no program was restarted (by hand or by supervisord), all answer.
    assert results["restarted_programs"] == [], results["programs"]
    assert set(results["programs"].values()) == {"RUNNING"}, results["programs"]
    assert healthy, diagnostics(chaos)
    # Load flowed through every phase, and writes were accepted after the failover.
    assert all(phase["requests"] > 0 for phase in results["phases"].values()), results["phases"]
    assert min(f["accepted"] for f in effects.values()) > 0, effects
    # The pauses the clients saw: a node's loss costs seconds, not the node's absence.
    for name in ("rabbitmq follower node down", "rabbitmq leader node down"):
        assert results["faults"][name]["longest_pause_s"] < NODE_LOSS_PAUSE_LIMIT, results["faults"][name]
    failover = results["faults"]["postgresql primary lost"]
    assert failover["first_write_accepted_after_s"] is not None, failover
    assert failover["first_write_accepted_after_s"] < FAILOVER_LIMIT, failover
