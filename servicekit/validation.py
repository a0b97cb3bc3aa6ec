"""Turning pydantic's validation errors into the boundary error ``ValidationFailed``.

``parse(SendMailRequest, data)`` either returns the model or raises
:class:`contracts.errors.ValidationFailed` with ``details = {"fields": [{"field", "reason"}]}``,
one entry per wrong field, named with dots (``context.confirm_url``, ``lines.0``). The
offending *value* is never copied into the error: it may be a password or a token, and
errors end up in logs and HTTP bodies.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)

ROOT_FIELD = "input"


def field_name(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """``("context", "lines", 0)`` → ``context.lines.0``; the whole input is ``prefix`` or ``input``."""
    parts = [prefix] if prefix else []
    parts.extend(str(part) for part in loc)
    return ".".join(parts) or ROOT_FIELD


def reason_of(error: Any) -> str:
    """pydantic's message without the "Value error, " it puts before a validator's own words."""
    message = str(error["msg"])
    for noise in ("Value error, ", "Assertion failed, "):
        if message.startswith(noise):
            return message[len(noise):]
    return message


def validation_failed(exc: ValidationError, prefix: str = "") -> ValidationFailed:
    fields = [
        {"field": field_name(error["loc"], prefix), "reason": reason_of(error)}
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    names = ", ".join(dict.fromkeys(f["field"] for f in fields))
    return ValidationFailed(f"invalid {names}", {"fields": fields})


def parse(model: type[M], data: Any, prefix: str = "") -> M:
    """Validate ``data`` as ``model``; bad input raises :class:`ValidationFailed`.

    ``prefix`` names where ``data`` sits in the caller's input (``"context"`` for a nested
    mapping validated on its own), so the field names point at the right place.
    """
    validate = getattr(model, "from_wire", model.model_validate)
    try:
        return validate(data)
    except ValidationError as exc:
        raise validation_failed(exc, prefix) from None
