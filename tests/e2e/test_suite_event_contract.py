"""Events as a subscriber receives them from RabbitMQ conform to the served AsyncAPI document.

A plain AMQP consumer, bound with ``#`` to every service's exchange as docs/events.md tells
outside subscribers to, captures what a short journey through the gateway publishes. Each
message is checked against ``GET /asyncapi.json`` of the running gateway: the body against
its message's schema, and the AMQP properties and headers the document promises
(``message_id`` = ``event_id``, persistent, JSON, the correlation and trace headers).
The use-case tests check every type's payload; this checks the published wire form.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue

from contracts.events import SERVICES
from tests.e2e.conftest import Suite
from tests.e2e.identity_client import Client
from tests.support.asyncapi import schema_errors
from tests.support.fixtures import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


class Subscriber:
    def __init__(self, amqp_uri: str) -> None:
        self.connection = Connection(amqp_uri)
        name = f"contract-{uuid.uuid4().hex[:8]}"
        self.queues = [Queue(name, Exchange(f"{service}.events", type="topic", durable=True), routing_key="#",
                             exclusive=True) for service in SERVICES]
        channel = self.connection.default_channel
        for queue in self.queues:
            queue(channel).declare()
        self.messages: list[Any] = []

    def drain(self) -> list[Any]:
        bound = self.queues[0](self.connection.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            self.messages.append(message)
        return self.messages


@pytest.fixture
def subscriber(suite: Suite) -> Iterator[Subscriber]:
    subscriber = Subscriber(suite.env["AMQP_URI"])
    yield subscriber
    subscriber.connection.release()


def test_published_events_conform_to_the_served_asyncapi_document(suite: Suite, admin: Client,
                                                                  subscriber: Subscriber) -> None:
    document = suite.get("/asyncapi.json").json()
    email = f"contract-{uuid.uuid4().hex[:8]}@contract-e2e.example"
    created = admin.post("/api/v1/accounts", json={"name": f"Contract {email[9:17]}", "email": email},
                         headers={"X-Correlation-ID": "contract-test"})
    assert created.status_code == 201, created.text
    assert Client(suite.base_url).sign_in(email, "not the password").status_code == 401

    wanted = {"account_created", "tenant_created", "user_created", "confirmation_sent", "mail_sent",
              "sign_in_failed"}
    def seen() -> set[str]:
        return {json.loads(message.body)["type"] for message in subscriber.drain()}

    wait_for(lambda: wanted <= seen(), timeout=30,
             message=f"the journey's events {sorted(wanted)}")

    headers_schema = document["components"]["messages"]["account_created"]["headers"]["properties"]
    problems = []
    for message in subscriber.messages:
        body = json.loads(message.body)
        problems += [f"{body['type']}: {error}" for error in schema_errors(body, body["type"], document)]
        properties, headers = message.properties, message.headers or {}
        if properties.get("message_id") != body["event_id"]:
            problems.append(f"{body['type']}: message_id {properties.get('message_id')} is not the event_id")
        if message.delivery_info.get("routing_key") != body["type"]:
            problems.append(f"{body['type']}: routing key {message.delivery_info.get('routing_key')}")
        if properties.get("delivery_mode") != 2 or message.content_type != "application/json":
            problems.append(f"{body['type']}: not persistent JSON ({properties.get('delivery_mode')}, "
                            f"{message.content_type})")
        traceparent = headers.get("traceparent")
        if traceparent is not None and not re.fullmatch(headers_schema["traceparent"]["pattern"], traceparent):
            problems.append(f"{body['type']}: traceparent {traceparent!r}")
    assert not problems, "\n".join(problems)

    ours = [m for m in subscriber.messages if json.loads(m.body)["type"] == "account_created"
            and json.loads(m.body)["payload"]["email"] == email]
    assert ours and ours[0].headers["nameko.correlation_id"] == "contract-test"
    assert "traceparent" in ours[0].headers, "the e2e suite runs traced: the event carries its trace"
