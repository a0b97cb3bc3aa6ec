"""A producer (``notes``) and a consumer (``note_counter``) built only from the kit."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from nameko.events import event_handler

from contracts.envelope import EventEnvelope
from contracts.errors import Conflict
from servicekit.base import ServiceBase
from servicekit.db import Database
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
