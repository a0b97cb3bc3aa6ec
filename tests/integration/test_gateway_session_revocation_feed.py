"""Every gateway instance hears identity's ``sessions_revoked`` on the real broker and drops
the sessions from its own cache; a feed that (re)connects forgets everything it cached."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection, Exchange, Producer

from contracts.envelope import EventEnvelope
from contracts.identity import Principal, SessionsRevoked
from gateway.auth import SessionCache
from gateway.revocations import RevocationFeed
from tests.support.fixtures import wait_for
from tests.unit.test_gateway_auth import principal

pytestmark = pytest.mark.integration


def cached(cache: SessionCache, key: str, user_id: uuid.UUID | None = None) -> Principal:
    wire = principal()
    if user_id is not None:
        wire["user"]["id"] = str(user_id)
    entry = Principal.from_wire(wire)
    cache.put((key, None), entry, checked_since=time.monotonic())
    return entry


def announce(amqp_uri: str, revoked: SessionsRevoked) -> None:
    """As identity's outbox relay publishes it."""
    envelope = EventEnvelope(type="sessions_revoked", source="identity", payload=revoked.to_wire())
    with Connection(amqp_uri) as connection:
        exchange = Exchange("identity.events", type="topic", durable=True, auto_delete=False)
        Producer(connection).publish(envelope.to_wire(), exchange=exchange, routing_key="sessions_revoked",
                                     declare=[exchange], serializer="json", retry=True)


@pytest.fixture
def gateways(amqp_uri: str) -> Iterator[list[SessionCache]]:
    """The caches of two gateway instances, each with its feed connected."""
    feeds = [RevocationFeed(amqp_uri, SessionCache()) for _ in range(2)]
    for feed in feeds:
        feed.start()
    try:
        for feed in feeds:
            assert feed.connected.wait(10), "the revocation feed did not connect"
        yield [feed.cache for feed in feeds]
    finally:
        for feed in feeds:
            feed.stop()


def test_every_gateway_instance_drops_the_revoked_users_sessions(amqp_uri, gateways):
    first, second = gateways
    laptop = cached(first, "laptop")
    cached(second, "phone", laptop.user.id)
    bystander = cached(second, "someone else")

    announce(amqp_uri, SessionsRevoked(user_id=laptop.user.id, reason="password_changed"))

    wait_for(lambda: first.get(("laptop", None)) is None and second.get(("phone", None)) is None, timeout=5,
             message="both instances to drop the user's sessions")
    assert second.get(("someone else", None)) == bystander


def test_a_signed_out_session_is_dropped_and_the_users_other_sessions_stay(amqp_uri, gateways):
    cache = gateways[0]
    laptop = cached(cache, "laptop")
    phone = cached(cache, "phone", laptop.user.id)

    announce(amqp_uri, SessionsRevoked(user_id=laptop.user.id, session_ids=[laptop.session_id],
                                       reason="signed_out"))

    wait_for(lambda: cache.get(("laptop", None)) is None, timeout=5, message="the signed-out session to go")
    assert cache.get(("phone", None)) == phone


def test_a_feed_forgets_every_cached_session_when_it_connects(amqp_uri):
    feed = RevocationFeed(amqp_uri, SessionCache())
    cached(feed.cache, "heard of nothing yet")

    feed.start()
    try:
        assert feed.connected.wait(10)
        assert feed.cache.get(("heard of nothing yet", None)) is None
    finally:
        feed.stop()


def test_an_unreadable_message_is_skipped_and_the_feed_keeps_listening(amqp_uri, gateways):
    cache = gateways[0]
    entry = cached(cache, "laptop")
    with Connection(amqp_uri) as connection:
        exchange = Exchange("identity.events", type="topic", durable=True, auto_delete=False)
        Producer(connection).publish({"payload": {"user_id": "not a uuid"}}, exchange=exchange,
                                     routing_key="sessions_revoked", serializer="json")

    announce(amqp_uri, SessionsRevoked(user_id=entry.user.id, reason="user_deleted"))

    wait_for(lambda: cache.get(("laptop", None)) is None, timeout=5, message="the later revocation to count")
