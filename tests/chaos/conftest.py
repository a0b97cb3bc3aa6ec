"""The chaos suite (``make chaos``) runs only when asked for: ``PORTAL_CHAOS=1``.

It takes several minutes and restarts servers of its own (tests/chaos/infra.py), so
``make test`` leaves it out; its last figures are in docs/reliability.md.
"""

from __future__ import annotations

import pytest

from tests.chaos.infra import missing_prerequisites
from tests.chaos.opt_in import only_when_asked


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    only_when_asked(items, "chaos", "PORTAL_CHAOS", "make chaos", missing_prerequisites)
