"""Sign-in failures and throttled attempts, counted for Prometheus (servicekit.metrics)."""

from __future__ import annotations

from prometheus_client import Counter

from servicekit.metrics import EntrypointOutcomes

SIGN_IN_METHODS = frozenset({"sign_in", "sso_finish", "sso_second_factor"})

SIGN_IN_FAILURES = Counter("portal_sign_in_failures", "Sign-ins refused, by step and reason (the error code)",
                           ["method", "reason"])
SIGN_IN_THROTTLED = Counter("portal_sign_in_throttled", "Sign-in attempts refused by throttling (ADR 0011)",
                            ["method"])


def record_sign_in(method: str, outcome: str) -> None:
    if outcome == "throttled":
        SIGN_IN_THROTTLED.labels(method).inc()
    elif outcome != "ok":
        SIGN_IN_FAILURES.labels(method, outcome).inc()


def sign_in_outcomes() -> EntrypointOutcomes:
    return EntrypointOutcomes(SIGN_IN_METHODS, record_sign_in)
