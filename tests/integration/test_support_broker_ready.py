"""`make test` makes the local broker ready by itself (scripts/prepare-test-services).

A RabbitMQ started by hand keeps the default 1,024 open files; the suite's quorum queues
hold about 930 of them at their peak, after which the broker refuses connections and a
test far from the cause times out. These tests say so at once instead.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import kombu
import pytest
import requests

from tests.support.fixtures import DEFAULT_MANAGEMENT

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PREPARE = ROOT / "scripts" / "prepare-test-services"
# What the suite needs with room to spare (a full run peaks near 930 open files).
MIN_OPEN_FILES = 10_000


def _management() -> tuple[str, tuple[str, str]]:
    parts = urlsplit(os.environ.get("TEST_RABBITMQ_MANAGEMENT_URL", DEFAULT_MANAGEMENT))
    base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}"
    return base, (parts.username or "guest", parts.password or "guest")


def _api(method: str, path: str, **kwargs: object) -> requests.Response:
    base, auth = _management()
    return requests.request(method, base + path, auth=auth, timeout=10, **kwargs)  # type: ignore[arg-type]


def _vhosts() -> set[str]:
    response = _api("GET", "/api/vhosts")
    response.raise_for_status()
    return {vhost["name"] for vhost in response.json()}


def test_the_test_broker_may_keep_enough_files_open() -> None:
    response = _api("GET", "/api/nodes")
    response.raise_for_status()
    for node in response.json():
        assert node["fd_total"] >= MIN_OPEN_FILES, (
            f"RabbitMQ node {node['name']} may keep only {node['fd_total']} files open; "
            f"the suite needs {MIN_OPEN_FILES}: run scripts/prepare-test-services as root"
        )


def test_preparing_drops_left_over_test_vhosts_but_not_one_in_use() -> None:
    _, auth = _management()
    stale = f"portal_test_{uuid.uuid4().hex[:10]}"
    busy = f"portal_test_{uuid.uuid4().hex[:10]}"
    for vhost in (stale, busy):
        _api("PUT", f"/api/vhosts/{vhost}").raise_for_status()
        _api("PUT", f"/api/permissions/{vhost}/{auth[0]}",
             json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    amqp = os.environ.get("TEST_AMQP_URI") or os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"
    parts = urlsplit(amqp)
    connection = kombu.Connection(parts._replace(path="/" + busy).geturl(), connect_timeout=5)
    try:
        connection.connect()
        result = subprocess.run(["bash", str(PREPARE)], cwd=ROOT, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        remaining = _vhosts()
        assert stale not in remaining
        assert busy in remaining
    finally:
        connection.release()
        for vhost in (stale, busy):
            _api("DELETE", f"/api/vhosts/{vhost}")
