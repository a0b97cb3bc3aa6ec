"""ops/haproxy.cfg: valid for HAProxy itself, as shipped for Compose and as rendered for the
local twin suite (make chaos, make cluster-test), with the retry rules a dying gateway needs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.chaos.scaled import PROXY_CONFIG, proxy_config


@pytest.fixture
def haproxy() -> str:
    found = shutil.which("haproxy")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("haproxy is missing in CI: .ci/run installs Debian's haproxy")
        pytest.skip("Debian's haproxy is not installed")
    return found


def check(haproxy: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False)


def test_the_shipped_proxy_configuration_is_valid(haproxy: str) -> None:
    result = check(haproxy, PROXY_CONFIG)

    assert result.returncode == 0, result.stdout + result.stderr


def test_haproxy_refuses_a_broken_configuration(haproxy: str, tmp_path: Path) -> None:
    broken = tmp_path / "haproxy.cfg"
    broken.write_text(PROXY_CONFIG.read_text().replace("retry-on conn-failure", "retry-on conn-failur"))

    assert check(haproxy, broken).returncode != 0


def test_the_local_rendering_balances_over_the_given_gateways_on_loopback(haproxy: str, tmp_path: Path) -> None:
    rendered = proxy_config(tmp_path / "haproxy.cfg", 18000, [18001, 18002])
    text = rendered.read_text()

    assert check(haproxy, rendered).returncode == 0
    assert "bind 127.0.0.1:18000" in text
    assert "server gateway-0 127.0.0.1:18001" in text and "server gateway-1 127.0.0.1:18002" in text
    assert "resolvers" not in text and "server-template" not in text


def test_a_request_a_dead_gateway_never_answered_is_retried_but_a_5xx_is_not() -> None:
    lines = [line.split() for line in PROXY_CONFIG.read_text().splitlines()]
    retry_on = next(line for line in lines if line[:1] == ["retry-on"])[1:]

    assert {"conn-failure", "empty-response"} <= set(retry_on)
    assert not {"503", "500", "502", "504", "all-retryable-errors", "response-timeout"} & set(retry_on)
    assert ["option", "redispatch", "1"] in lines
