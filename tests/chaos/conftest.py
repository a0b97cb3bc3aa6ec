"""The chaos suite (``make chaos``) runs only when asked for: ``PORTAL_CHAOS=1``.

It takes several minutes and restarts servers of its own (tests/chaos/infra.py), so
``make test`` leaves it out; its last figures are in docs/reliability.md.
"""

from __future__ import annotations

import os

import pytest

from tests.chaos.infra import missing_prerequisites


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chaos_items = [item for item in items if item.get_closest_marker("chaos")]
    if not chaos_items:
        return
    if os.environ.get("PORTAL_CHAOS") != "1":
        reason = "the chaos suite runs with `make chaos` (PORTAL_CHAOS=1)"
    else:
        reason = missing_prerequisites() or ""
        if reason:  # asked for explicitly: not being able to run is a failure, not a skip
            raise pytest.UsageError(f"make chaos: {reason}")
        return
    for item in chaos_items:
        item.add_marker(pytest.mark.skip(reason=reason))
