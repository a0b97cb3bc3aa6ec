"""Each test run works in a vhost and databases of its own, and leaves none behind."""

from __future__ import annotations

import os

import psycopg
import pytest
from kombu import Connection

from tests.support.fixtures import DEFAULT_MANAGEMENT, _Vhosts, fresh_databases, fresh_vhost

pytestmark = pytest.mark.integration


def test_a_fresh_vhost_is_usable_and_gone_afterwards():
    vhosts = _Vhosts(os.environ.get("TEST_RABBITMQ_MANAGEMENT_URL", DEFAULT_MANAGEMENT))

    with fresh_vhost("portal_isolation") as uri:
        vhost = uri.rsplit("/", 1)[1]
        assert vhost.startswith("portal_isolation_")
        assert vhosts.exists(vhost)
        with Connection(uri) as connection:
            connection.ensure_connection(max_retries=1)

    assert not vhosts.exists(vhost)


def test_fresh_databases_are_empty_and_dropped_afterwards(postgres_admin_url, tmp_path):
    if postgres_admin_url is None:
        pytest.skip("SQLite files live in the test's own temporary directory")

    with fresh_databases(postgres_admin_url, tmp_path) as make:
        first, second = make("identity"), make("identity")
        names = [url.rsplit("/", 1)[1] for url in (first, second)]
        assert names[0] != names[1]
        with psycopg.connect(first) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
            assert tables == (0,)

    with psycopg.connect(postgres_admin_url) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchall()
    assert left == []
