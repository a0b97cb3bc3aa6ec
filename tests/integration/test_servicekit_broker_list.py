"""Every broker client of the suite takes ``AMQP_URI`` as a list of nodes (kombu's failover
syntax, ``;`` between URIs) and goes on to the next node when one refuses it.

Here the first node of the list is a port nobody listens on, as a stopped cluster node
is; the second is the test broker. The services (nameko's consumers and RPC), the outbox
relay, the gateway's RPC client and its session-revocation feed, and the health check all
reach the broker through the list. (``make cluster-test`` shows the same on a real
three-node cluster with nodes stopped under load.)
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import pytest

from gateway.auth import SessionCache
from gateway.revocations import RevocationFeed
from gateway.rpc import NamekoRpcClient
from servicekit.healthcheck import call_health
from tests.integration.test_servicekit_outbox import EventTap
from tests.kit_services.services import NoteCounterService, NotesService
from tests.support.fixtures import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def node_list(amqp_uri: str) -> str:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        stopped = probe.getsockname()[1]
    return f"amqp://guest:guest@127.0.0.1:{stopped}{urlsplit(amqp_uri).path};{amqp_uri}"


@pytest.fixture
def nameko_config(node_list: str) -> dict[str, Any]:
    return {"AMQP_URI": node_list, "max_workers": 10, "serializer": "json"}


def test_services_the_relay_and_the_health_check_reach_the_broker_past_a_stopped_first_node(
    start_services, node_list, amqp_uri
):
    start_services(NotesService, NoteCounterService)
    tap = EventTap(amqp_uri)
    try:
        client = NamekoRpcClient(node_list, default_timeout=10)
        try:
            note = client.call("notes", "add_note", "through the list")
        finally:
            client.close()
        # The relay published it past the dead node: the tap sees it.
        events = wait_for(tap.drain, message="the note's event")
        assert [event["payload"]["note_id"] for event in events] == [note["note_id"]]
    finally:
        tap.close()
    assert call_health("notes", node_list, timeout=10)["status"] == "ok"


def test_the_session_revocation_feed_connects_past_a_stopped_first_node(node_list):
    feed = RevocationFeed(node_list, SessionCache())
    feed.start()
    try:
        assert feed.connected.wait(10), "the revocation feed did not connect"
    finally:
        feed.stop()
