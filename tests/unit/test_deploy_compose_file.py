"""docker-compose.yml is valid Compose, and it runs every service and the gateway.

There is no Docker engine here. ``docker-compose config -q`` (Debian's docker-compose
1.29; .ci/run installs it) or the ``docker compose`` plugin validates the file against
the Compose schema without one, with interpolation and merge keys resolved.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if (path / "entrypoints.py").is_file())


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.fixture
def compose() -> list[str]:
    command = compose_command()
    if command is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no Compose validator in CI: .ci/run installs Debian's docker-compose")
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    return command


def validate(compose: list[str], path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose, "--project-directory", str(ROOT), "-f", str(path), "config", "-q"],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
    )


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())  # resolves the << merges
    return loaded


def test_the_compose_file_is_valid(compose: list[str]) -> None:
    result = validate(compose, COMPOSE_FILE)

    assert result.returncode == 0, result.stderr


def test_the_validator_rejects_a_broken_file(compose: list[str], spec: dict[str, Any], tmp_path: Path) -> None:
    # Proves the check above can fail: an unknown healthcheck key is a schema error.
    spec["services"]["gateway"]["healthcheck"]["intervall"] = "5s"
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(spec))

    result = validate(compose, broken)

    assert result.returncode != 0
    assert "intervall" in result.stderr


def test_infrastructure_images(spec: dict[str, Any]) -> None:
    services = spec["services"]
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:16"
    assert services["mailpit"]["image"] == "axllent/mailpit:v1.27"  # pinned, like the others
    assert "1025:1025" in services["mailpit"]["ports"]
    assert "rabbitmq-diagnostics" in services["rabbitmq"]["healthcheck"]["test"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "readyz" in services["mailpit"]["healthcheck"]["test"]


def test_postgres_creates_one_database_per_service(spec: dict[str, Any]) -> None:
    mounts = [volume.split(":")[0] for volume in spec["services"]["postgres"]["volumes"]]
    init_scripts = [ROOT / mount for mount in mounts if mount.endswith(".sql")]
    assert init_scripts, "no init script is mounted into postgres"
    sql = "\n".join(path.read_text() for path in init_scripts)
    for service in SERVICES:
        assert re.search(rf"CREATE DATABASE {service}\s*;", sql), service


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_runs_from_the_image_with_its_database(spec: dict[str, Any], service: str) -> None:
    entry = spec["services"].get(service)
    assert entry is not None, f"{service} is missing from docker-compose.yml"
    assert entry["build"] == "."
    command = entry["command"]
    target = next(arg for arg in command if arg.startswith(f"services.{service}.entrypoints:"))
    class_name = target.split(":")[1]
    assert re.search(rf"^class {class_name}\(", (ROOT / "services" / service / "entrypoints.py").read_text(), re.M)
    env = entry["environment"]
    assert env[f"{service.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{service}")
    assert env["AMQP_URI"].startswith("amqp://") and "@rabbitmq:5672" in env["AMQP_URI"]
    assert env["NOTIFY_SMTP_HOST"] == "mailpit"
    assert str(env["NOTIFY_SMTP_PORT"]) == "1025"
    assert entry["healthcheck"]["test"][-3:] == ["-m", "servicekit.healthcheck", service]
    assert entry["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert entry["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_runs_two_instances(spec: dict[str, Any], service: str) -> None:
    assert spec["services"][service]["deploy"]["replicas"] >= 2


def test_two_gateways_wait_for_every_service_behind_the_proxy_on_port_8000(spec: dict[str, Any]) -> None:
    gateway = spec["services"]["gateway"]
    assert gateway["build"] == "."
    assert gateway["command"] == ["python", "-m", "gateway"]
    assert gateway["deploy"]["replicas"] >= 2 and "ports" not in gateway
    proxy = spec["services"]["proxy"]
    assert "8000:8000" in proxy["ports"]
    assert proxy["volumes"] == ["./ops/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"]
    assert proxy["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert "/healthz" in " ".join(gateway["healthcheck"]["test"])
    for service in SERVICES:
        assert gateway["depends_on"][service]["condition"] == "service_healthy", service


def test_make_run_supervises_the_same_programs() -> None:
    config = (ROOT / "config" / "supervisord.conf").read_text()
    programs = set(re.findall(r"^\[program:([a-z]+)\]", config, re.M))
    assert programs == {*SERVICES, "gateway", "processor"}  # processor: the test payment processor's card form
    for service in SERVICES:
        assert f"services.{service}.entrypoints:" in config
