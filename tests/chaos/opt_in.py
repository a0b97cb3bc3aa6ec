"""Tests that run only when asked for by an environment variable (``make chaos``,
``make cluster-test``): skipped otherwise, and a failure, not a skip, when asked for on a
machine that cannot run them."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest


def only_when_asked(items: list[pytest.Item], marker: str, variable: str, command: str,
                    missing_prerequisites: Callable[[], str | None]) -> None:
    marked = [item for item in items if item.get_closest_marker(marker)]
    if not marked:
        return
    if os.environ.get(variable) == "1":
        reason = missing_prerequisites()
        if reason:
            raise pytest.UsageError(f"{command}: {reason}")
        return
    for item in marked:
        item.add_marker(pytest.mark.skip(reason=f"runs with `{command}` ({variable}=1)"))
