"""Base model for everything that crosses a service boundary.

kombu's JSON serialiser refuses pydantic models and wraps datetime/UUID/Decimal in
private ``__type__`` objects, so only plain JSON (``to_wire``) goes on the wire and the
receiving side parses it back with the same model (``from_wire``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict

# C0 (but tab), DEL and C1: never part of a name, a description or any other text people type.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def refuse_control_characters(value: str) -> str:
    """``value`` unless it has a C0 or C1 control character (or DEL); a tab is allowed."""
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters such as a newline (a tab is allowed)")
    return value


SafeText = Annotated[str, AfterValidator(refuse_control_characters)]
"""Text people type (names, descriptions, addresses, searches): no control characters.

Every text field of a request contract is ``SafeText`` (passwords, one-time codes and
tokens aside: they are compared, never shown). No field is multi-line, so a newline is
refused too; surrounding whitespace is stripped first (``str_strip_whitespace``)."""


class WireModel(BaseModel):
    """A contract model: strict about unknown fields, immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    def to_wire(self) -> dict[str, Any]:
        """Plain JSON-compatible data (strings for UUIDs, datetimes and decimals)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        """Parse wire data back into the model (raises pydantic.ValidationError)."""
        return cls.model_validate(data)
