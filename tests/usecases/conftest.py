"""Use-case tests: the real handlers on a real (SQLite) database, no broker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.notify import SendMailRequest
from tests.support.fixtures import MigratedDatabase
from tests.usecases.event_contract import check_events, uncovered


@pytest.fixture(scope="session", autouse=True)
def events_follow_the_asyncapi_document() -> Iterator[None]:
    """Every event of every use-case test is validated against its schema (tests/usecases/event_contract.py)."""
    MigratedDatabase.on_dispose.append(check_events)
    yield
    MigratedDatabase.on_dispose.remove(check_events)

ROOT = Path(__file__).resolve().parents[2]


class FakeMailer:
    """Collects mail requests instead of calling notify."""

    def __init__(self) -> None:
        self.sent: list[SendMailRequest] = []

    def send(self, request: SendMailRequest) -> bool:
        self.sent.append(request)
        return True

    def post(self, request: SendMailRequest) -> None:
        self.sent.append(request)

    def last_to(self, address: str) -> SendMailRequest:
        return [m for m in self.sent if m.to == address][-1]


@pytest.fixture
def mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def identity_db(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[MigratedDatabase]:
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path / "var"))
    db = MigratedDatabase(
        "identity", ROOT / "services" / "identity" / "adapters" / "migrations", f"sqlite:///{tmp_path}/identity.db"
    )
    yield db
    db.dispose()


@pytest.fixture
def tenancy_db(tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[MigratedDatabase]:
    """SQLite by default; ``USECASE_DB=postgres`` runs the same tests on a fresh PostgreSQL database."""
    url = f"sqlite:///{tmp_path}/tenancy.db"
    if os.environ.get("USECASE_DB") == "postgres":
        from servicekit.settings import normalise_database_url

        url = normalise_database_url(request.getfixturevalue("database_url")("tenancy"))
    db = MigratedDatabase("tenancy", ROOT / "services" / "tenancy" / "adapters" / "migrations", url)
    yield db
    db.dispose()


# The Northwind administrator of the identity use-case tests, for every module here.
from tests.usecases.test_identity_sign_in import admin  # noqa: E402, F401


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Run as a whole (``make test``, ``pytest tests/usecases``), the use-case tests must make
    every declared event type but those listed in event_contract.NOT_PRODUCED."""
    if exitstatus != 0 or not _whole_directory_ran(session):
        return
    missing = uncovered()
    if missing:
        session.config.get_terminal_writer().line(
            f"event types no use-case test made (make one, or list it in tests/usecases/event_contract.py "
            f"NOT_PRODUCED with the reason): {missing}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _whole_directory_ran(session: pytest.Session) -> bool:
    options = session.config.option
    if any(getattr(options, name, None) for name in ("keyword", "markexpr", "deselect", "lf", "last_failed")):
        return False
    here = Path(__file__).parent
    ran = {Path(str(item.path)) for item in session.items if Path(str(item.path)).parent == here}
    return ran == set(here.glob("test_*.py"))
