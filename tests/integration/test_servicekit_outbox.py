"""The transactional outbox and the idempotent handler, against the real broker and database."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import amqp.exceptions
import kombu.exceptions
import pytest
import sqlalchemy as sa
from kombu import Connection, Queue

from contracts.errors import Conflict
from servicekit.db import make_engine
from servicekit.outbox import OutboxRelay, declare_events_exchange
from servicekit.settings import normalise_database_url
from servicekit.tables import outbox, processed_events
from tests.kit_services.models import CountedNote
from tests.kit_services.services import NoteCounterService, NotesService, NotesWithoutRelayService
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.integration


class EventTap:
    """A plain AMQP consumer bound to notes.events, as any outside subscriber would be."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = Connection(amqp_uri)
        self.queue = Queue("tap-notes", exchange=declare_events_exchange("notes"), routing_key="#",
                           durable=False, auto_delete=False, exclusive=True)
        self.queue(self.connection.default_channel).declare()
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        bound = self.queue(self.connection.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            self.received.append(message.payload)
        return self.received

    def close(self) -> None:
        self.connection.release()


@pytest.fixture
def tap(amqp_uri: str) -> Iterator[EventTap]:
    tap = EventTap(amqp_uri)
    yield tap
    tap.close()


def engine_for(service: str) -> sa.Engine:
    return make_engine(normalise_database_url(os.environ[f"{service.upper()}_DATABASE_URL"]))


def counted(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(CountedNote)).scalar_one()


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_an_event_carries_the_trace_context_of_the_call_that_recorded_it(start_services, nameko_config, tap):
    # Tracing is off in this process: the context that arrived with the RPC is passed on as is,
    # stored with the outbox row and published as the W3C traceparent header.
    from nameko.standalone.rpc import ClusterRpcProxy

    start_services(NotesService)
    with ClusterRpcProxy(nameko_config, timeout=15, context_data={"traceparent": TRACEPARENT}) as traced:
        traced.notes.add_note("traced")

    bound = tap.queue(tap.connection.default_channel)
    message = wait_for(lambda: bound.get(no_ack=True), message="the note's event")
    assert message.headers["traceparent"] == TRACEPARENT
    with engine_for("notes").connect() as connection:
        assert connection.execute(sa.select(outbox.c.trace_context)).scalar_one() == {"traceparent": TRACEPARENT}


def test_a_rolled_back_change_announces_nothing(start_services, rpc_proxy, tap):
    start_services(NotesService, NoteCounterService)
    counter_db = engine_for("note_counter")

    with pytest.raises(Conflict):
        rpc_proxy.notes.add_note("never happened", fail_before_commit=True)
    kept = rpc_proxy.notes.add_note("happened")

    wait_for(lambda: counted(counter_db) == 1, message="the committed note to be counted")
    wait_for(lambda: len(tap.drain()) >= 1, message="the tap to see the committed event")
    time.sleep(0.3)  # give a wrongly published event the chance to show up
    events = tap.drain()
    assert [e["payload"]["note_id"] for e in events] == [kept["note_id"]]
    with engine_for("notes").connect() as connection:
        rows = connection.execute(sa.select(outbox.c.routing_key, outbox.c.published_at)).all()
    assert len(rows) == 1 and rows[0].published_at is not None
    assert counted(counter_db) == 1


class RelayKilledAfterPublishing(OutboxRelay):
    """Dies between publishing and marking, like a process killed at the worst moment."""

    def mark_published(self, connection: sa.Connection, ids: list[int]) -> None:
        raise SystemExit("relay killed before marking")


def test_a_relay_killed_between_publish_and_mark_duplicates_and_the_handler_absorbs_it(
    start_services, rpc_proxy, tap, amqp_uri
):
    start_services(NotesWithoutRelayService, NoteCounterService)
    producer_db, counter_db = engine_for("notes"), engine_for("note_counter")
    note = rpc_proxy.notes.add_note("exactly once")

    with pytest.raises(SystemExit):
        RelayKilledAfterPublishing(producer_db, amqp_uri).relay_once()
    assert OutboxRelay(producer_db, amqp_uri).relay_once() == 1  # the restarted relay sends it again

    wait_for(lambda: len(tap.drain()) == 2, message="both deliveries on the exchange")
    assert {e["event_id"] for e in tap.received} == {tap.received[0]["event_id"]}
    wait_for(lambda: counted(counter_db) >= 1, message="the note to be counted")
    time.sleep(0.3)  # the duplicate is handled too; it must not count again
    assert counted(counter_db) == 1
    with counter_db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(processed_events)).scalar_one() == 1
        assert connection.execute(sa.select(CountedNote.note_id)).scalar_one().hex == note["note_id"].replace("-", "")
    assert OutboxRelay(producer_db, amqp_uri).backlog() == 0


def test_a_message_the_broker_refuses_stays_in_the_outbox_until_it_is_taken(start_services, rpc_proxy, amqp_uri):
    # Publisher confirms: a row is marked sent only once the broker has said it took the
    # message. A full queue that rejects publishes makes the broker refuse (nack) it.
    start_services(NotesWithoutRelayService)
    producer_db = engine_for("notes")
    rpc_proxy.notes.add_note("refused at first")
    full = Queue("full-notes", exchange=declare_events_exchange("notes"), routing_key="#", durable=True,
                 queue_arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    relay = OutboxRelay(producer_db, amqp_uri)
    with Connection(amqp_uri) as connection:
        full(connection.default_channel).declare()
        try:
            with pytest.raises(kombu.exceptions.OperationalError) as refused:
                relay.relay_once()
            assert isinstance(refused.value.__cause__, amqp.exceptions.MessageNacked)
            assert relay.backlog() == 1
        finally:
            full(connection.default_channel).delete()

    assert OutboxRelay(producer_db, amqp_uri).relay_once() == 1
    assert relay.backlog() == 0
