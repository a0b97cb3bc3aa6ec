"""The AsyncAPI 3.0 document of the suite's events, built from contracts/ (docs/events.md).

It lives in the gateway because the gateway is the suite's published surface: it serves
``/openapi.json`` for HTTP and ``/asyncapi.json`` for the events beside it. contracts/ holds
only the wire models, names and errors the document is built from, and servicekit is the
services' runtime, which an outside subscriber's document has nothing to do with. The
generator imports nothing but contracts/ and pydantic, so ``python -m gateway.asyncapi``
(``make asyncapi``) writes docs/asyncapi.json without the rest of the gateway.
"""

from __future__ import annotations

import argparse
import json
from enum import StrEnum
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from contracts.envelope import ENVELOPE_VERSION, Actor, EventEnvelope, events_exchange
from contracts.event_payloads import EVENT_PAYLOADS, UNENVELOPED
from contracts.events import source_of
from contracts.tenancy import BackupRunReport

ASYNCAPI_VERSION = "3.0.0"
DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.json"
SCHEMAS = "#/components/schemas/"
CORRELATION_HEADER = "nameko.correlation_id"
# The AMQP bindings' version (github.com/asyncapi/bindings, amqp).
AMQP_BINDING = "0.3.0"

DESCRIPTION = f"""\
The events of the backup reseller portal: each service (identity, tenancy, billing, audit,
notify) publishes what happened on its own topic exchange `<service>.events`, with the event
type as the routing key. Subscribe with any AMQP 0-9-1 client: declare a queue of your own,
bind it to the exchange with the routing keys you want (`#` for all of a service's events)
and acknowledge after processing. The catalogue in words is docs/events.md.

**Delivery.** At least once: every event is written to the service's outbox in the
transaction of the change it announces and published with publisher confirms, so a
rollback announces nothing and a crash loses nothing, but an event may arrive **more than
once**. Deduplicate on the envelope's `event_id` (also the AMQP `message_id`). Order is not
guaranteed across services. An event published while no queue is bound to its routing key
is dropped by RabbitMQ: bind before you need the events.

**Envelope.** Every message but the backup engine's is the envelope version
{ENVELOPE_VERSION} (`version` = {ENVELOPE_VERSION}) around the event's `payload`.

**Versioning.** Adding a field to a payload or the envelope is not a breaking change;
removing a field or changing its meaning gets a new event type (or envelope version),
published beside the old one for a deprecation period. The schemas here are **strict for the
producer** (`additionalProperties: false`: the portal's tests fail if it sends a field this
document does not name); **consumers must be lenient** and ignore fields they do not know.
"""


def _first_line(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def _shared_schemas() -> dict[str, Any]:
    """Every payload model and the envelope, their nested models hoisted beside them."""
    models: list[type[BaseModel]] = [EventEnvelope, *dict.fromkeys(EVENT_PAYLOADS.values()), BackupRunReport]
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "serialization") for model in models]
    _, top = models_json_schema(modes, ref_template=SCHEMAS + "{model}")
    schemas: dict[str, Any] = top["$defs"]
    # The envelope and its actor are always built by the model: every field is on the wire.
    for name in (EventEnvelope.__name__, Actor.__name__):
        schemas[name]["required"] = list(schemas[name]["properties"])
    schemas[EventEnvelope.__name__]["properties"]["version"]["const"] = ENVELOPE_VERSION
    return dict(sorted(schemas.items()))


def _enveloped(event: StrEnum, payload_model: str) -> dict[str, Any]:
    """The envelope with its type and source fixed and its payload this event's own."""
    return {
        "allOf": [
            {"$ref": SCHEMAS + EventEnvelope.__name__},
            {
                "type": "object",
                "properties": {
                    "type": {"const": event.value},
                    "source": {"const": source_of(event)},
                    "payload": {"$ref": SCHEMAS + payload_model},
                },
            },
        ]
    }


def _message(event: StrEnum) -> dict[str, Any]:
    model = EVENT_PAYLOADS[event]
    source = source_of(event)
    message: dict[str, Any] = {
        "name": event.value,
        "title": event.value.replace("_", " ").capitalize(),
        "summary": _first_line(model.__doc__),
        "contentType": "application/json",
        "bindings": {"amqp": {"messageType": event.value, "bindingVersion": AMQP_BINDING}},
    }
    if event in UNENVELOPED:
        message["description"] = (model.__doc__ or "").strip()
        # The engine may send one run object instead of a batch.
        message["payload"] = {"oneOf": [{"$ref": SCHEMAS + model.__name__},
                                        {"$ref": SCHEMAS + BackupRunReport.__name__}]}
        return message
    message["description"] = (
        f"{(model.__doc__ or '').strip()}\n\nPublished by {source} on `{events_exchange(source)}` with routing key "
        f"`{event.value}`; the AMQP `message_id` is the envelope's `event_id`, delivery mode 2 (persistent)."
    )
    message["headers"] = {
        "type": "object",
        "properties": {
            CORRELATION_HEADER: {
                "type": "string", "description": "the id of the request that caused the event (X-Correlation-ID)"},
            "traceparent": {
                "type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C Trace Context of the change that recorded the event, when it had one: "
                               "continue its trace (docs/observability.md)"},
            "tracestate": {"type": "string", "description": "W3C Trace Context vendor state, with traceparent"},
        },
    }
    message["correlationId"] = {"description": "the request that caused the event",
                                "location": f"$message.header#/{CORRELATION_HEADER}"}
    message["payload"] = _enveloped(event, model.__name__)
    return message


def _channel(event: StrEnum) -> dict[str, Any]:
    exchange = events_exchange(source_of(event))
    return {
        "address": event.value,
        "title": f"{exchange} / {event.value}",
        "description": f"Routing key `{event.value}` on the topic exchange `{exchange}`.",
        "messages": {event.value: {"$ref": f"#/components/messages/{event.value}"}},
        "bindings": {"amqp": {
            "is": "routingKey",
            "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
            "bindingVersion": AMQP_BINDING,
        }},
    }


def _operation(event: StrEnum) -> dict[str, Any]:
    return {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{event.value}"},
        "summary": f"Receive {event.value}: {_first_line(EVENT_PAYLOADS[event].__doc__)}",
        "messages": [{"$ref": f"#/channels/{event.value}/messages/{event.value}"}],
        "bindings": {"amqp": {"ack": True, "deliveryMode": 2, "bindingVersion": AMQP_BINDING}},
    }


def build_document() -> dict[str, Any]:
    """The document, the same every time for the same contracts (docs/asyncapi.json is it)."""
    events = list(EVENT_PAYLOADS)
    names = [event.value for event in events]
    if len(set(names)) != len(names):  # channel ids are the routing keys: they must not repeat
        raise ValueError(f"an event type is declared twice: {sorted(n for n in names if names.count(n) > 1)}")
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:backup-portal:events",
        "info": {
            "title": "Backup Reseller Portal events",
            "version": version("backup-portal"),
            "description": DESCRIPTION,
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "The suite's RabbitMQ (docker-compose.yml's host name; yours may differ).",
            },
        },
        "channels": {event.value: _channel(event) for event in events},
        "operations": {f"receive_{event.value}": _operation(event) for event in events},
        "components": {
            "messages": {event.value: _message(event) for event in events},
            "schemas": _shared_schemas(),
        },
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@cache
def cached_document() -> dict[str, Any]:
    return build_document()


router = APIRouter()


@router.get("/asyncapi.json", include_in_schema=False)
def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI document of the events (public: it describes the contract, no data)."""
    return cached_document()


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the AsyncAPI document of the suite's events.")
    parser.add_argument("--output", type=Path, default=DOCUMENT)
    args = parser.parse_args()
    args.output.write_text(render(build_document()))


if __name__ == "__main__":
    main()
