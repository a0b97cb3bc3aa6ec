"""Checking an event against its message schema in the AsyncAPI document (gateway/asyncapi.py)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from gateway.asyncapi import cached_document


def message_validator(event_type: str, document: dict[str, Any] | None = None) -> Draft202012Validator:
    """A validator of ``event_type``'s message body. The document itself is the root schema, so
    the ``#/components/...`` references resolve; its other keys are not schema keywords."""
    document = document or cached_document()
    if event_type not in document["components"]["messages"]:
        raise KeyError(f"no message {event_type!r} in the AsyncAPI document")
    schema = {**document, "$ref": f"#/components/messages/{event_type}/payload"}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(body: Any, event_type: str, document: dict[str, Any] | None = None) -> list[str]:
    """What is wrong with ``body`` as an ``event_type`` message (empty: it conforms)."""
    return [f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in message_validator(event_type, document).iter_errors(body)]
