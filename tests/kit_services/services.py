"""A producer (``notes``) and a consumer (``note_counter``) built only from the kit."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from contracts.envelope import EventEnvelope
from contracts.errors import Conflict
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.events import event_handler
from servicekit.idempotency import idempotent_handler
from servicekit.rpc import rpc
from tests.kit_services.models import CountedNote, Note

MIGRATIONS = Path(__file__).parent / "migrations"


class NotesService(ServiceBase):
    name = "notes"

    db = Database(MIGRATIONS)

    @rpc
    def add_note(self, text: str, fail_before_commit: bool = False) -> dict[str, Any]:
        note = Note(text=text)
        self.db.session.add(note)
        self.db.session.flush()
        self.db.emit("note_added", {"note_id": str(note.id), "text": text})
        if fail_before_commit:
            raise Conflict("refused after the event was recorded")
        self.db.commit()
        return {"note_id": str(note.id)}


class NotesWithoutRelayService(NotesService):
    """The same producer with its relay switched off, so a test can drive the relay."""

    db = Database(MIGRATIONS, relay_outbox=False)


class NoteCounterService(ServiceBase):
    name = "note_counter"

    db = Database(MIGRATIONS)

    @event_handler("notes", "note_added")
    @idempotent_handler()
    def count(self, envelope: EventEnvelope) -> None:
        self.db.session.add(CountedNote(note_id=uuid.UUID(envelope.payload["note_id"])))


# Attempts per note text, kept outside any transaction (a failed attempt rolls back).
ATTEMPTS: Counter[str] = Counter()


class FussyCounterService(ServiceBase):
    """Fails on "poison…" notes always and on "flaky…" notes twice, to exercise retries."""

    name = "fussy_counter"

    db = Database(MIGRATIONS)

    @event_handler("notes", "note_added")
    @idempotent_handler()
    def count(self, envelope: EventEnvelope) -> None:
        text = envelope.payload["text"]
        ATTEMPTS[text] += 1
        # A negative count means "fixed" (a test's stand-in for a deployed bug fix).
        fixed = ATTEMPTS[text] < 0
        if not fixed and (text.startswith("poison") or (text.startswith("flaky") and ATTEMPTS[text] < 3)):
            raise RuntimeError("cannot handle this note yet")
        self.db.session.add(CountedNote(note_id=uuid.UUID(envelope.payload["note_id"])))
