"""A failing event handler is retried, and a poison event ends in a dead-letter queue."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from kombu import Connection, Queue

from servicekit.db import make_engine
from servicekit.events import dead_letter_exchange, dead_letter_queue_name
from servicekit.settings import normalise_database_url
from tests.kit_services.models import CountedNote
from tests.kit_services.services import ATTEMPTS, FussyCounterService, NotesService
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.integration

QUEUE = "evt-notes-note_added--fussy_counter.count"
LIMIT = 3


@pytest.fixture
def services(start_services):
    ATTEMPTS.clear()
    start_services(NotesService, FussyCounterService, env={
        "PORTAL_EVENT_DELIVERY_LIMIT": str(LIMIT),
        "PORTAL_EVENT_RETRY_BASE_SECONDS": "0.05",
        "PORTAL_EVENT_RETRY_MAX_SECONDS": "0.2",
    })
    engine = make_engine(normalise_database_url(os.environ["FUSSY_COUNTER_DATABASE_URL"]))
    yield engine
    engine.dispose()


def counted(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(CountedNote)).scalar_one()


def dead_letters(amqp_uri: str) -> list[dict]:
    with Connection(amqp_uri) as connection:
        queue = dead_letter_queue_name(QUEUE)
        bound = Queue(queue, exchange=dead_letter_exchange(), routing_key=QUEUE, durable=True,
                      queue_arguments={"x-queue-type": "quorum"})(connection.default_channel)
        messages = []
        while (message := bound.get(no_ack=True)) is not None:  # reading takes them out
            messages.append(message.payload)
        return messages


def test_a_handler_that_fails_for_a_while_handles_the_event_once_in_the_end(services, rpc_proxy):
    rpc_proxy.notes.add_note("flaky one")

    wait_for(lambda: counted(services) == 1, message="the flaky note to be counted after retries")
    assert ATTEMPTS["flaky one"] == 3


def test_a_poison_event_is_parked_in_the_dead_letter_queue_after_the_limit(services, rpc_proxy, amqp_uri):
    note = rpc_proxy.notes.add_note("poison pill")
    rpc_proxy.notes.add_note("flaky but fine")

    parked = wait_for(lambda: dead_letters(amqp_uri), timeout=15, message="the poison event in the dead-letter queue")

    assert [m["payload"]["note_id"] for m in parked] == [note["note_id"]]
    assert LIMIT <= ATTEMPTS["poison pill"] <= LIMIT + 1  # first delivery plus the allowed redeliveries
    wait_for(lambda: counted(services) == 1, message="the other note to be counted meanwhile")


def test_a_parked_event_can_be_inspected_and_replayed_once_fixed(services, rpc_proxy, amqp_uri):
    from servicekit import deadletters

    note = rpc_proxy.notes.add_note("poison until replayed")
    parked = wait_for(lambda: deadletters.show(amqp_uri, QUEUE), timeout=15, message="the parked event")
    assert [(p.event_type, p.reason) for p in parked] == [("note_added", "delivery_limit")]
    # Looking does not take it away.
    assert [p.event_id for p in deadletters.show(amqp_uri, QUEUE)] == [parked[0].event_id]

    ATTEMPTS["poison until replayed"] = -(10**6)  # "deploy the fix": the handler accepts it now
    assert deadletters.replay(amqp_uri, QUEUE) == 1

    wait_for(lambda: counted(services) == 1, message="the replayed event to be handled")
    assert deadletters.show(amqp_uri, QUEUE) == []
    assert parked[0].event_id is not None and note["note_id"]


def test_an_empty_classic_queue_from_an_older_version_is_replaced_on_start(start_services, rpc_proxy, amqp_uri):
    from kombu import Exchange

    with Connection(amqp_uri) as connection:  # what an older version left on the broker
        connection.default_channel.queue_delete(QUEUE)  # (earlier tests here made the new one)
        Queue(QUEUE, exchange=Exchange("notes.events", type="topic", durable=True), routing_key="note_added",
              durable=True)(connection.default_channel).declare()
    ATTEMPTS.clear()
    start_services(NotesService, FussyCounterService)

    rpc_proxy.notes.add_note("after the upgrade")

    engine = make_engine(normalise_database_url(os.environ["FUSSY_COUNTER_DATABASE_URL"]))
    wait_for(lambda: counted(engine) == 1, message="the note counted through the new quorum queue")
    engine.dispose()
