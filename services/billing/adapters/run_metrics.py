"""Billing runs (the operator's RPC and the clock's tick), counted for Prometheus."""

from __future__ import annotations

from prometheus_client import Counter

from servicekit.metrics import EntrypointOutcomes

BILLING_RUN_METHODS = frozenset({"run_billing", "billing_clock"})

BILLING_RUNS = Counter("portal_billing_runs", "Billing runs, by trigger (run_billing: an operator; "
                       "billing_clock: the daily clock) and outcome", ["trigger", "outcome"])


def record_billing_run(method: str, outcome: str) -> None:
    BILLING_RUNS.labels(method, outcome).inc()


def billing_run_outcomes() -> EntrypointOutcomes:
    return EntrypointOutcomes(BILLING_RUN_METHODS, record_billing_run)
