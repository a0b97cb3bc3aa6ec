"""pytest fixtures for every service's tests: real broker, real databases, isolated.

- ``amqp_uri``: a fresh RabbitMQ vhost for the test session (management API, else
  ``rabbitmqctl``), deleted afterwards. Base broker from ``TEST_AMQP_URI``/``AMQP_URI``;
  testcontainers only when no broker answers and a Docker engine exists.
- ``database_url``: a factory giving each service a fresh PostgreSQL database (from
  ``TEST_POSTGRES_URL``, default the local server; a testcontainers PostgreSQL when none
  answers and a Docker engine exists), dropped afterwards; with ``TEST_DB=sqlite`` a SQLite
  file instead.
- ``start_services``: runs service classes in-process against those.
- ``rpc_proxy``: a standalone cluster proxy on the test vhost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
import requests

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MANAGEMENT = "http://guest:guest@127.0.0.1:15672"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _with_vhost(uri: str, vhost: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))


class _Vhosts:
    """Creates and deletes vhosts through the management API, or rabbitmqctl."""

    def __init__(self, management_url: str) -> None:
        self.management_url = management_url.rstrip("/")

    def _api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        parts = urlsplit(self.management_url)
        host = parts.hostname or "127.0.0.1"
        base = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
        return requests.request(method, base + path, auth=(parts.username or "guest", parts.password or "guest"),
                                timeout=10, **kwargs)

    def _use_api(self) -> bool:
        try:
            return self._api("GET", "/api/overview").ok
        except requests.RequestException:
            return False

    def create(self, vhost: str, user: str) -> None:
        if self._use_api():
            self._api("PUT", f"/api/vhosts/{quote(vhost, safe='')}").raise_for_status()
            self._api("PUT", f"/api/permissions/{quote(vhost, safe='')}/{user}",
                      json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
            return
        ctl = shutil.which("rabbitmqctl")
        if ctl is None:
            raise RuntimeError("neither the RabbitMQ management API nor rabbitmqctl is available")
        subprocess.run([ctl, "add_vhost", vhost], check=True, capture_output=True)
        subprocess.run([ctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"], check=True,
                       capture_output=True)

    def exists(self, vhost: str) -> bool:
        return self._api("GET", f"/api/vhosts/{quote(vhost, safe='')}").status_code == 200

    def delete(self, vhost: str) -> None:
        # A leftover vhost is not a test failure, but it must not go unnoticed either
        # (.ci/run sweeps what interrupted runs leave).
        if self._use_api():
            response = self._api("DELETE", f"/api/vhosts/{quote(vhost, safe='')}")
            if response.status_code not in (204, 404):
                warnings.warn(f"test vhost {vhost} was not deleted: {response.status_code}", stacklevel=2)
            return
        ctl = shutil.which("rabbitmqctl")
        if ctl:
            result = subprocess.run([ctl, "delete_vhost", vhost], check=False, capture_output=True)
            if result.returncode != 0:
                warnings.warn(f"test vhost {vhost} was not deleted: {result.stderr!r}", stacklevel=2)


@contextlib.contextmanager
def fresh_vhost(prefix: str = "portal_test") -> Iterator[str]:
    """A new vhost on the test broker, deleted on exit (``amqp_uri``; the e2e suite)."""
    base = os.environ.get("TEST_AMQP_URI") or os.environ.get("AMQP_URI") or DEFAULT_AMQP
    parts = urlsplit(base)
    container = None
    if not _reachable(parts.hostname or "127.0.0.1", parts.port or 5672):
        container, base, management = _start_rabbit_container()
    else:
        management = os.environ.get("TEST_RABBITMQ_MANAGEMENT_URL", DEFAULT_MANAGEMENT)
    vhosts = _Vhosts(management)
    vhost = f"{prefix}_{uuid.uuid4().hex[:10]}"
    vhosts.create(vhost, urlsplit(base).username or "guest")
    try:
        yield _with_vhost(base, vhost)
    finally:
        vhosts.delete(vhost)
        if container is not None:
            container.stop()


@pytest.fixture(scope="module")
def amqp_uri() -> Iterator[str]:
    """A vhost per test module: events one module leaves queued for a service it never ran
    (a backlog of hundreds) must not be handed to the next module's instance of it."""
    with fresh_vhost() as uri:
        yield uri


def _docker_engine_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


def _start_rabbit_container() -> tuple[Any, str, str]:
    if not _docker_engine_available():
        pytest.fail("no RabbitMQ answers (set TEST_AMQP_URI) and no Docker engine for testcontainers")
    # The generic container: testcontainers' RabbitMQ module waits with pika, which we do not use.
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    container = DockerContainer("rabbitmq:3.13-management").with_exposed_ports(5672, 15672)
    container.start()
    wait_for_logs(container, "Server startup complete", timeout=120)
    host = container.get_container_host_ip()
    amqp = f"amqp://guest:guest@{host}:{container.get_exposed_port(5672)}/"
    management = f"http://guest:guest@{host}:{container.get_exposed_port(15672)}"
    return container, amqp, management


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str | None]:
    """The server new test databases are made on; None when tests use SQLite."""
    with postgres_server() as url:
        yield url


@contextlib.contextmanager
def postgres_server() -> Iterator[str | None]:
    """``TEST_POSTGRES_URL`` (default the local server) when it answers; otherwise a
    testcontainers PostgreSQL where a Docker engine exists, stopped on exit."""
    if os.environ.get("TEST_DB", "postgres") == "sqlite":
        yield None
        return
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    parts = urlsplit(url)
    if _reachable(parts.hostname or "127.0.0.1", parts.port or 5432):
        yield url
        return
    if not _docker_engine_available():
        pytest.fail(f"PostgreSQL at {parts.hostname}:{parts.port} does not answer, and no Docker engine "
                    "for testcontainers (start PostgreSQL, set TEST_POSTGRES_URL, or TEST_DB=sqlite)")
    container, url = _start_postgres_container()
    try:
        yield url
    finally:
        container.stop()


def _start_postgres_container() -> tuple[Any, str]:
    from testcontainers.community.postgres import PostgresContainer

    password = uuid.uuid4().hex  # a throwaway server's
    container = PostgresContainer("postgres:16", username="postgres", password=password,
                                  dbname="postgres", driver=None)
    container.start()
    host = container.get_container_host_ip()
    return container, f"postgresql://postgres:{password}@{host}:{container.get_exposed_port(5432)}/postgres"


@contextlib.contextmanager
def fresh_databases(postgres_admin_url: str | None, directory: Any) -> Iterator[Callable[[str], str]]:
    """A factory of fresh, empty databases (SQLite files in ``directory`` without
    PostgreSQL), dropped on exit: ``database_url``, and the e2e suite for a whole session."""
    created: list[str] = []

    def make(service: str) -> str:
        if postgres_admin_url is None:
            return f"sqlite:///{directory}/{service}-{uuid.uuid4().hex[:6]}.db"
        name = f"portal_test_{service}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        parts = urlsplit(postgres_admin_url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))

    try:
        yield make
    finally:
        if postgres_admin_url is not None and created:
            with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
                for name in created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(postgres_admin_url: str | None, tmp_path: Any) -> Iterator[Callable[[str], str]]:
    """``database_url("identity")`` → a fresh, empty database for that service."""
    with fresh_databases(postgres_admin_url, tmp_path) as make:
        yield make


@pytest.fixture
def nameko_config(amqp_uri: str) -> dict[str, Any]:
    return {"AMQP_URI": amqp_uri, "max_workers": 10, "serializer": "json"}


@pytest.fixture
def start_services(
    nameko_config: dict[str, Any],
    database_url: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> Iterator[Callable[..., Any]]:
    """``start_services(IdentityService, ...)``: each with its own fresh database, in-process."""
    from nameko.runners import ServiceRunner

    runners: list[Any] = []
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTAL_OUTBOX_POLL_SECONDS", "0.05")

    def start(*service_classes: type, env: dict[str, str] | None = None) -> Any:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        for cls in service_classes:
            service_name = cls.name  # type: ignore[attr-defined]
            env_key = f"{service_name.upper()}_DATABASE_URL"
            if env_key not in (env or {}):
                monkeypatch.setenv(env_key, database_url(service_name))
        runner = ServiceRunner(nameko_config)
        for cls in service_classes:
            runner.add_service(cls)
        runner.start()
        runners.append(runner)
        return runner

    yield start
    for runner in reversed(runners):
        try:
            runner.stop()
        except Exception:
            runner.kill()


@pytest.fixture
def rpc_proxy(nameko_config: dict[str, Any]) -> Iterator[Any]:
    from nameko.standalone.rpc import ClusterRpcProxy

    import servicekit.rpc  # noqa: F401  (boundary errors come back typed)

    with ClusterRpcProxy(nameko_config, timeout=15) as proxy:
        yield proxy


def wait_for(predicate: Callable[[], Any], timeout: float = 10, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class MigratedDatabase:
    """A service's schema, migrated, for use-case tests without a broker.

    ``db.unit_of_work(caller)`` gives the same :class:`UnitOfWork` a worker gets; events it
    emits stay in the outbox table (``db.events()`` reads them back).
    """

    def __init__(self, service: str, migrations_dir: Any, url: str) -> None:
        from sqlalchemy.orm import sessionmaker

        from servicekit.db import make_engine
        from servicekit.migrations import upgrade

        self.service = service
        self.engine = make_engine(url)
        upgrade(self.engine, migrations_dir, service)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._last: Any = None

    def unit_of_work(self, caller: Any = None) -> Any:
        from servicekit.context import SYSTEM_CALLER, CallContext
        from servicekit.db import UnitOfWork

        # The previous unit of work is over, as a worker's teardown would end it: a use case
        # that raised must not keep SQLite's write lock for the next call.
        if self._last is not None:
            self._last.close()
        ctx = CallContext(self.service, caller or SYSTEM_CALLER, f"test-{uuid.uuid4()}")
        self._last = UnitOfWork(self.session_factory, self.service, ctx)
        return self._last

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        from servicekit.tables import outbox

        query = sa.select(outbox.c.body).order_by(outbox.c.id)
        if event_type is not None:
            query = query.where(outbox.c.routing_key == event_type)
        with self.engine.connect() as connection:
            return [row.body for row in connection.execute(query)]

    # Called with each database's outbox bodies before it is disposed of (tests/usecases checks
    # every event against the AsyncAPI document this way).
    on_dispose: ClassVar[list[Callable[[list[dict[str, Any]]], None]]] = []

    def dispose(self) -> None:
        if self._last is not None:
            self._last.close()
        try:
            for check in self.on_dispose:
                check(self.events())
        finally:
            self.engine.dispose()
