"""A real Prometheus server (Debian's ``prometheus``) scrapes the running suite.

It reads the gateway's ``/metrics`` and each service's metrics port from a configuration
derived from ``ops/prometheus.yml``, with the suite's own ports, and evaluates
``ops/alerts.yml``. After some traffic it is asked, over its HTTP API, for the families an
operator watches. ``promtool`` checks the shipped configuration and rules.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.e2e.conftest import SERVICES, Suite, free_port
from tests.e2e.identity_client import DEMO_ADMIN, Client, signed_in
from tests.support.fixtures import wait_for

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "ops"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None and os.environ.get("CI") != "true",
                                reason="Debian's prometheus package is not installed (CI installs it)")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, check=False)


def test_the_shipped_alert_rules_and_scrape_configurations_pass_promtool() -> None:
    rules = promtool("check", "rules", str(OPS / "alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    for config in ("prometheus.yml", "prometheus-compose.yml"):
        checked = promtool("check", "config", str(OPS / config))
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alert_rules_fire_as_their_runbooks_say() -> None:
    tested = promtool("test", "rules", str(OPS / "alerts-test.yml"))

    assert tested.returncode == 0, tested.stdout + tested.stderr


def scrape_config(suite: Suite) -> dict[str, Any]:
    """ops/prometheus.yml with the suite's ports, scraped every second."""
    config = yaml.safe_load((OPS / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            program = group["labels"]["program"]
            port = suite.base_url.rsplit(":", 1)[1] if program == "gateway" else \
                suite.env[f"PORTAL_METRICS_PORT_{program.upper()}"]
            group["targets"] = [f"127.0.0.1:{port}"]
    return config


@pytest.fixture(scope="module")
def prometheus(suite: Suite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prometheus")
    shutil.copy(OPS / "alerts.yml", home / "alerts.yml")
    (home / "prometheus.yml").write_text(yaml.safe_dump(scrape_config(suite)))
    port = free_port()
    log = (home / "prometheus.log").open("w")
    process = subprocess.Popen(
        ["prometheus", f"--config.file={home / 'prometheus.yml'}", f"--storage.tsdb.path={home / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), timeout=30, message="Prometheus to be ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def query(prometheus: str, expression: str) -> list[dict[str, Any]]:
    response = requests.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=10)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["result"])


def value_of(prometheus: str, expression: str) -> float:
    result = query(prometheus, expression)
    return float(result[0]["value"][1]) if result else 0.0


def test_prometheus_scrapes_the_gateway_and_every_service(prometheus: str) -> None:
    def targets_up() -> dict[str, str]:
        return {row["metric"]["program"]: row["value"][1] for row in query(prometheus, "up")}

    up = wait_for(lambda: (found := targets_up()) and len(found) == 6 and set(found.values()) == {"1"} and found,
                  timeout=30, message="every target to be up")

    assert set(up) == {"gateway", *SERVICES}


def test_traffic_shows_in_the_families_an_operator_watches(suite: Suite, prometheus: str) -> None:
    admin = signed_in(suite.base_url, *DEMO_ADMIN)
    for _ in range(3):
        assert admin.get("/api/v1/ping").status_code == 200
    assert admin.get("/api/v1/dashboard").status_code == 200
    refused = Client(suite.base_url).sign_in(DEMO_ADMIN[0], "not-the-password")
    assert refused.status_code == 401

    def seen(expression: str) -> float:
        return wait_for(lambda: value_of(prometheus, expression), timeout=30, message=expression)

    assert seen('sum(portal_http_requests_total{route="/api/v1/ping", status="200"})') >= 3
    assert seen('sum(portal_gateway_rpc_calls_total{service="tenancy", method="ping", outcome="ok"})') >= 3
    assert seen('sum(portal_rpc_calls_total{service="tenancy", method="ping", outcome="ok"})') >= 3
    assert seen('sum(portal_rpc_duration_seconds_count{service="tenancy", method="list_partners"})') >= 1
    assert seen('sum(portal_sign_in_failures_total{method="sign_in"})') >= 1
    assert seen('count(portal_events_handled_total{outcome="handled"})') >= 1  # sign-ins are audited
    # Sampled every few seconds: a gauge per service for the outbox, the pool and dead letters.
    for family in ("portal_outbox_waiting", "portal_outbox_oldest_age_seconds"):
        services = wait_for(lambda f=family: {r["metric"]["service"] for r in query(prometheus, f)} >= set(SERVICES)
                            and f, timeout=30, message=f"{family} from every service")
        assert services
    assert query(prometheus, 'portal_db_pool_connections{state="size"}')
    parked = query(prometheus, "portal_dead_letter_messages")
    assert {row["metric"]["queue"] for row in parked} >= {f"dlq.rpc-{service}" for service in SERVICES}


def test_no_label_carries_an_id_an_email_or_a_raw_path(prometheus: str, suite: Suite) -> None:
    admin = signed_in(suite.base_url, *DEMO_ADMIN)
    missing = "/api/v1/accounts/6f1c1c3e-2f5e-4a4b-9a7e-0d3b8b3f9d52"
    assert admin.get(missing).status_code == 404
    assert admin.get("/no/such/page/admin@northwind-backup.example").status_code == 404
    wait_for(lambda: value_of(prometheus, 'sum(portal_http_requests_total{status="404"})') >= 2, timeout=30,
             message="the 404s to be scraped")

    response = requests.get(f"{prometheus}/api/v1/series", params={"match[]": '{__name__=~"portal_.+"}'}, timeout=10)
    labels = [(name, value) for series in response.json()["data"] for name, value in series.items()
              if name not in ("__name__", "instance", "job")]

    assert labels
    assert not [pair for pair in labels if UUID.search(pair[1]) or "@" in pair[1]]
    routes = {value for name, value in labels if name == "route"}
    assert "/api/v1/accounts/{account_id}" in routes and "unmatched" in routes
