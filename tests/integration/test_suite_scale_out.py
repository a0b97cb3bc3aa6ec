"""Two instances of every service against one broker: the suite scales out by adding processes.

The whole suite runs as processes under supervisord (as ``make run`` does), from a
supervisord file derived from ``config/supervisord.conf`` with two processes per service
(tests/chaos/scaled.py), each logging to its own file. Every handled call or event logs
one ``handled`` line naming its entrypoint (and the event id), so the logs say which
instance did what:

- RPC load spreads over both instances of every service;
- each event is handled once per service, not once per instance;
- the timers run in both instances, and a period's work is done once (trial expiry);
- stopping one instance of a service in the middle of a stream of requests loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.chaos.infra import OwnPostgres, free_port, launched, missing_prerequisites
from tests.chaos.scaled import SERVICES, instance_names, scaled_supervisor_config
from tests.e2e.conftest import Suite, _suite_environment
from tests.e2e.identity_client import OPERATOR
from tests.support.fixtures import fresh_databases, fresh_vhost, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(400)]


class Scaled:
    def __init__(self, suite: Suite, urls: dict[str, str]) -> None:
        self.suite = suite
        self.urls = urls
        self.token = self.call("POST", "/api/v1/auth/sign-in",
                               json={"email": OPERATOR[0], "password": OPERATOR[1]}).json()["token"]
        tag = uuid.uuid4().hex[:8]
        self.distributor = self.call("POST", "/api/v1/operator/distributors", json={
            "name": f"Scale {tag}", "email": f"dist-{tag}@scale.example", "country": "US",
            "data_center": "us-east-1", "admin_email": f"admin-{tag}@scale.example",
            "admin_password": "two of everything, please"}).json()["distributor"]["id"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if getattr(self, "token", None) else {}
        response = requests.request(method, self.suite.base_url + path, headers=headers, timeout=30, **kwargs)
        return response

    def create_account(self, name: str, subscription: str = "subscribe_monthly") -> requests.Response:
        return self.call("POST", "/api/v1/accounts", json={
            "name": name, "email": f"{name}@scale.example", "distributor_id": self.distributor,
            "subscription": subscription})

    def handled(self, instance: str) -> list[dict[str, Any]]:
        lines = []
        for line in self.suite.log_path(instance).read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == "handled":
                lines.append(record)
        return lines

    def query(self, service: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.urls[service]) as conn:
            return list(conn.execute(sql, params).fetchall())


@contextlib.contextmanager
def databases(postgres_admin_url: str | None, tmp: Path) -> Iterator[Callable[[str], str]]:
    """A PostgreSQL cluster of the test's own when it can make one (as root): ten service
    processes and their pools need more connections than a shared server may have left."""
    if missing_prerequisites() is None:
        base = Path(tempfile.mkdtemp(prefix="portal-scale-"))
        base.chmod(0o755)
        postgres = OwnPostgres(base / "postgres")
        postgres.start()
        try:
            yield lambda service: postgres.create_database(f"scale_{service}")
        finally:
            postgres.stop()
            shutil.rmtree(base, ignore_errors=True)
    elif postgres_admin_url is None:
        pytest.skip("two instances share one database: PostgreSQL only")
    else:
        with fresh_databases(postgres_admin_url, tmp) as make_database:
            yield make_database


@pytest.fixture(scope="module")
def scaled(postgres_admin_url: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    tmp = tmp_path_factory.mktemp("scaled")
    port = free_port()
    with fresh_vhost("portal_scale") as amqp_uri, databases(postgres_admin_url, tmp) as make_database:
        urls = {service: make_database(service) for service in SERVICES}
        env = _suite_environment(amqp_uri, lambda service: urls[service], tmp / "var", port)
        env.update(
            PORTAL_SUPERVISOR_CONFIG=str(scaled_supervisor_config(tmp / "supervisord-scaled.conf")),
            TENANCY_TRIAL_CLOCK_SECONDS="1",  # both instances' trial clocks race every second
        )
        # Eleven processes start at once: on a busy 2-core machine that takes minutes.
        with launched(env, tmp, port, start_timeout=300) as (suite, _):
            yield Scaled(suite, urls)


def test_rpc_calls_to_every_service_spread_over_both_instances(scaled):
    for _ in range(30):  # /healthz asks all five services' health RPC
        assert scaled.call("GET", "/healthz").status_code == 200

    answered = {instance: sum(1 for line in scaled.handled(instance) if line.get("entrypoint") == "rpc:health")
                for service in SERVICES for instance in instance_names(service)}
    assert all(count > 0 for count in answered.values()), answered


def test_each_event_is_handled_once_per_service_not_once_per_instance(scaled):
    names = [f"events-{uuid.uuid4().hex[:10]}" for _ in range(12)]
    for name in names:
        assert scaled.create_account(name).status_code == 201

    created = {str(row[0]) for row in scaled.query(
        "tenancy", "SELECT event_id FROM outbox WHERE routing_key = 'account_created' "
        "AND body->'payload'->>'name' = ANY(%s)", names)}
    assert len(created) == len(names)

    def handled_by(service: str) -> Counter[str]:
        return Counter(line["event_id"] for instance in instance_names(service)
                       for line in scaled.handled(instance) if line.get("event_id") in created)

    for service in ("audit", "billing"):  # both subscribe to account_created
        wait_for(lambda: len(handled_by(service)) == len(created), timeout=60,  # noqa: B023 (called at once)
                 message=f"{service} to handle every account_created")
        counts = handled_by(service)
        assert set(counts.values()) == {1}, (service, counts)
    per_instance = {instance: sum(1 for line in scaled.handled(instance) if line.get("event_id") in created)
                    for instance in instance_names("audit")}
    assert sum(per_instance.values()) == len(created), per_instance


def test_the_trial_clock_runs_in_both_instances_and_moves_each_ended_trial_once(scaled):
    names = [f"trial-{uuid.uuid4().hex[:10]}" for _ in range(20)]
    ids = [scaled.create_account(name, "trial_expiring").json()["id"] for name in names]
    # Fourteen days later, for these trials only: their end is moved into the past, on the
    # services' clock (this process's), not the database server's.
    now = datetime.now(UTC)
    with psycopg.connect(scaled.urls["tenancy"]) as conn:
        conn.execute("UPDATE accounts SET trial_started_at = %s, trial_ends_at = %s WHERE id::text = ANY(%s)",
                     (now - timedelta(days=15), now - timedelta(days=1), ids))

    def moved() -> bool:
        rows = scaled.query("tenancy", "SELECT count(*) FROM accounts WHERE id::text = ANY(%s) AND status = 'trial'",
                            ids)
        return rows[0][0] == 0

    wait_for(moved, timeout=60, message="every ended trial to be moved by the trial clock")
    expired = Counter(row[0] for row in scaled.query(
        "tenancy", "SELECT body->'payload'->>'account_id' FROM outbox WHERE routing_key = 'trial_expired' "
        "AND body->'payload'->>'account_id' = ANY(%s)", ids))
    assert sorted(expired) == sorted(ids) and set(expired.values()) == {1}, expired
    ticks = {instance: sum(1 for line in scaled.handled(instance)
                           if str(line.get("entrypoint", "")).endswith(":expire_due_trials"))
             for instance in instance_names("tenancy")}
    assert all(count > 0 for count in ticks.values()), ticks


def test_stopping_one_instance_in_the_middle_of_a_stream_loses_nothing(scaled):
    outcomes: list[tuple[str, int]] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            name = f"stream-{uuid.uuid4().hex[:10]}"
            try:
                status = scaled.create_account(name).status_code
            except requests.RequestException:
                status = 0
            outcomes.append((name, status))

    worker = threading.Thread(target=stream, daemon=True)
    worker.start()
    wait_for(lambda: len(outcomes) >= 10, timeout=60, message="the stream to flow")
    for instance in ("tenancy-0", "audit-0", "billing-1"):
        scaled.suite.stop_service(instance)
    wait_for(lambda: len(outcomes) >= 40, timeout=120, message="the stream to go on with one instance each")
    stop.set()
    worker.join(timeout=40)

    accepted = [name for name, status in outcomes if status == 201]
    stored = Counter(row[0] for row in scaled.query(
        "tenancy", "SELECT t.name FROM tenants t JOIN accounts a ON a.id = t.id WHERE t.name LIKE 'stream-%%'"))
    assert [name for name in accepted if stored[name] != 1] == []
    events = {str(row[0]) for row in scaled.query(
        "tenancy", "SELECT event_id FROM outbox WHERE routing_key = 'account_created' "
        "AND body->'payload'->>'name' LIKE 'stream-%%'")}
    assert len(events) == len(stored)

    def audited() -> set[str]:
        return {str(row[0]) for row in scaled.query("audit", "SELECT event_id FROM audit_entries WHERE "
                                                    "event_id::text = ANY(%s)", list(events))}

    wait_for(lambda: audited() == events, timeout=60, message="every account_created in the audit trail")
    # The remaining instances took over; nothing was refused for want of an instance.
    assert [status for _, status in outcomes if status != 201] == []
    for instance in ("tenancy-0", "audit-0", "billing-1"):
        scaled.suite.start_service(instance)
