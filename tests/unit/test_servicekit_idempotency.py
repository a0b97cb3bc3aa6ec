"""The idempotent handler's gather step: remote reads happen before the claim's transaction opens
(a write from elsewhere during gather would otherwise wait for the claim's lock)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from contracts.envelope import EventEnvelope
from servicekit.idempotency import idempotent_handler
from tests.support.fixtures import MigratedDatabase

MIGRATIONS = Path(__file__).resolve().parents[1] / "kit_services" / "migrations"


class Handler:
    """A stand-in for a service: ``db`` is its unit of work, ``gathered`` what gather saw."""

    def __init__(self, db: MigratedDatabase) -> None:
        self.store = db
        self.db = db.unit_of_work()
        self.gathered: list[str] = []

    def _ask_elsewhere(self, envelope: EventEnvelope) -> str:
        # Another connection writes while gather runs, as a concurrent handler would: it
        # succeeds at once only if this handler holds no write transaction now.
        with self.store.engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (n INTEGER)"))
            connection.execute(sa.text("INSERT INTO probe VALUES (1)"))
        self.gathered.append(str(envelope.event_id))
        return "the answer"

    @idempotent_handler(gather=_ask_elsewhere)
    def handle(self, envelope: EventEnvelope, answer: str) -> str:
        return answer


def test_gather_runs_without_a_write_lock_and_a_redelivery_is_not_gathered_again(tmp_path: Path):
    db = MigratedDatabase("kit", MIGRATIONS, f"sqlite:///{tmp_path}/kit.db")
    envelope = EventEnvelope(type="note_added", source="notes", payload={}).to_wire()
    first = Handler(db)

    assert first.handle(envelope) == "the answer"
    again = Handler(db)
    assert again.handle(envelope) is None

    assert first.gathered == [envelope["event_id"]] and again.gathered == []
    with db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM probe")).scalar_one() == 1
    db.dispose()
