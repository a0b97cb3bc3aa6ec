"""Base model for everything that crosses a service boundary.

kombu's JSON serialiser refuses pydantic models and wraps datetime/UUID/Decimal in
private ``__type__`` objects, so only plain JSON (``to_wire``) goes on the wire and the
receiving side parses it back with the same model (``from_wire``).
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


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
