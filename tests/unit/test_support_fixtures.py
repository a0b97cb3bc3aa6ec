"""The test fixtures' choice of servers: the configured one, else a container, else a clear failure."""

from __future__ import annotations

import socket

import pytest

from tests.support.fixtures import postgres_server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens on it once the socket is closed


def test_a_configured_postgres_that_answers_is_used_as_it_is(monkeypatch):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"postgresql://postgres@127.0.0.1:{listener.getsockname()[1]}/postgres"
        monkeypatch.setenv("TEST_POSTGRES_URL", url)
        monkeypatch.delenv("TEST_DB", raising=False)

        with postgres_server() as chosen:
            assert chosen == url


def test_sqlite_is_chosen_by_setting(monkeypatch):
    monkeypatch.setenv("TEST_DB", "sqlite")

    with postgres_server() as chosen:
        assert chosen is None


def test_without_postgres_or_a_docker_engine_the_run_fails_saying_what_to_do(monkeypatch):
    monkeypatch.delenv("TEST_DB", raising=False)
    monkeypatch.setenv("TEST_POSTGRES_URL", f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # no engine answers there

    with pytest.raises(pytest.fail.Exception, match="no Docker engine for testcontainers"), postgres_server():
        pass
