"""RPC request queues are quorum queues with a delivery limit and a dead-letter queue.

Each test has a vhost of its own: the delivery limit is a queue argument, fixed when the
queue is first declared.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import sqlalchemy as sa
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Exchange, Producer, Queue
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcProxy

from servicekit import deadletters
from servicekit.db import make_engine
from servicekit.events import DEAD_LETTER_EXCHANGE
from servicekit.settings import normalise_database_url
from tests.kit_services.models import Note
from tests.kit_services.services import NotesService
from tests.support.fixtures import fresh_vhost, wait_for

pytestmark = pytest.mark.integration

QUEUE = "rpc-notes"
LIMIT = 2
RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


@pytest.fixture
def vhost() -> Iterator[str]:
    with fresh_vhost("portal_rpc_queues") as uri:
        yield uri


@pytest.fixture
def run_notes(vhost: str, database_url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch,
              tmp_path: Any) -> Iterator[Callable[[], ServiceRunner]]:
    monkeypatch.setenv("NOTES_DATABASE_URL", database_url("notes"))
    monkeypatch.setenv("PORTAL_RPC_DELIVERY_LIMIT", str(LIMIT))
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path))
    runners: list[ServiceRunner] = []

    def start() -> ServiceRunner:
        runner = ServiceRunner({"AMQP_URI": vhost, "max_workers": 4, "serializer": "json"})
        runner.add_service(NotesService)
        runners.append(runner)
        runner.start()
        return runner

    yield start
    for runner in runners:
        try:
            runner.stop()
        except Exception:
            runner.kill()


def notes() -> list[str]:
    engine = make_engine(normalise_database_url(os.environ["NOTES_DATABASE_URL"]))
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.select(Note.text).order_by(Note.text)).scalars())
    finally:
        engine.dispose()


def quorum_arguments(limit: int = LIMIT) -> dict[str, Any]:
    return {"x-queue-type": "quorum", "x-delivery-limit": limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": QUEUE}


def declare(uri: str, queue: Queue) -> None:
    with Connection(uri) as connection:
        queue(connection.channel()).declare()


def send_request(uri: str, text: str) -> None:
    """An RPC request as any nameko caller sends it (the reply would go nowhere)."""
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        Producer(connection.default_channel).publish(
            {"args": [text], "kwargs": {}}, exchange=RPC_EXCHANGE, routing_key="notes.add_note",
            serializer="json", reply_to=f"nobody-{uuid.uuid4().hex}", correlation_id=str(uuid.uuid4()),
            delivery_mode=2,
        )


def take_and_crash(uri: str) -> bool:
    """A worker that takes the request and dies before acknowledging it (kill -9)."""
    with Connection(uri) as connection:
        message = Queue(QUEUE, exchange=RPC_EXCHANGE, routing_key="notes.*", durable=True,
                        queue_arguments=quorum_arguments())(connection.channel()).get(no_ack=False)
        return message is not None  # the connection closes without an ack: back to the queue


def test_the_rpc_queue_is_a_replicated_quorum_queue_with_a_delivery_limit(run_notes, vhost):
    run_notes()

    with ClusterRpcProxy({"AMQP_URI": vhost, "serializer": "json"}, timeout=10) as proxy:
        assert proxy.notes.add_note("over a quorum queue")["note_id"]

    declare(vhost, Queue(QUEUE, durable=True, queue_arguments=quorum_arguments()))  # the same: accepted
    with pytest.raises(PreconditionFailed):  # it is not the classic queue nameko would declare
        declare(vhost, Queue(QUEUE, durable=True))
    assert notes() == ["over a quorum queue"]


def test_a_request_that_keeps_killing_its_worker_is_parked_after_the_limit(run_notes, vhost):
    run_notes().stop()  # the queue stays; a crashing "worker" takes the requests instead
    send_request(vhost, "poison request")

    crashes = 0
    while take_and_crash(vhost):
        crashes += 1
        assert crashes <= LIMIT + 1, "the request keeps coming back"

    assert crashes == LIMIT + 1  # the first delivery and LIMIT redeliveries, then parked
    parked = deadletters.show(vhost, QUEUE)
    assert [letter.reason for letter in parked] == ["delivery_limit"]
    with pytest.raises(ValueError, match="never replay"):  # its caller gave up long ago
        deadletters.replay(vhost, QUEUE)

    run_notes()  # a healthy service is not handed the parked request again
    send_request(vhost, "a normal request")
    wait_for(lambda: notes() == ["a normal request"], message="the normal request to be handled")
    assert len(deadletters.show(vhost, QUEUE)) == 1


def test_an_empty_classic_rpc_queue_from_an_older_version_is_replaced_on_start(run_notes, vhost):
    declare(vhost, Queue(QUEUE, exchange=RPC_EXCHANGE, routing_key="notes.*", durable=True))  # nameko's own

    run_notes()

    declare(vhost, Queue(QUEUE, durable=True, queue_arguments=quorum_arguments()))
    with ClusterRpcProxy({"AMQP_URI": vhost, "serializer": "json"}, timeout=10) as proxy:
        assert proxy.notes.add_note("after the upgrade")["note_id"]


def test_a_classic_rpc_queue_holding_requests_is_left_alone_and_named(run_notes, vhost):
    declare(vhost, Queue(QUEUE, exchange=RPC_EXCHANGE, routing_key="notes.*", durable=True))
    send_request(vhost, "waiting in the old queue")

    with pytest.raises(RuntimeError, match=QUEUE):
        run_notes()

    with Connection(vhost) as connection:
        _, waiting, _ = connection.channel().queue_declare(QUEUE, passive=True)
    assert waiting == 1


def test_a_call_that_cannot_reach_the_database_answers_service_unavailable(run_notes, vhost):
    from contracts.errors import ServiceUnavailable

    run_notes()
    url = urlsplit(os.environ["NOTES_DATABASE_URL"])
    if not url.scheme.startswith("postgres"):
        pytest.skip("PostgreSQL only: the database is dropped under the running service")
    admin = urlunsplit((url.scheme, url.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:  # the database goes away under the service
        conn.execute(f'DROP DATABASE "{url.path[1:]}" WITH (FORCE)')

    with (ClusterRpcProxy({"AMQP_URI": vhost, "serializer": "json"}, timeout=10) as proxy,
          pytest.raises(ServiceUnavailable) as refused):
        proxy.notes.add_note("nowhere to write")
    assert refused.value.details == {"service": "notes", "reason": "database unavailable"}
