"""docs/events.md documents every event type the contracts declare."""

from __future__ import annotations

import re
from pathlib import Path

from contracts import events

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def documented_types() -> set[str]:
    names: set[str] = set()
    for line in CATALOGUE.read_text().splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([a-z_]+)`", first_cell))
    return names


def test_every_declared_event_type_is_in_the_catalogue():
    declared = {member.value for enum in (events.IdentityEvent, events.TenancyEvent, events.BillingEvent,
                                          events.NotifyEvent, events.AuditEvent) for member in enum}

    missing = declared - documented_types()

    assert not missing, f"document these in docs/events.md: {sorted(missing)}"
