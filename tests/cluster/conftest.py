"""The cluster test (``make cluster-test``) runs only when asked for: ``PORTAL_CLUSTER=1``.

It starts a RabbitMQ cluster and a PostgreSQL pair of its own (tests/cluster/infra.py)
and takes several minutes, so ``make test`` leaves it out; its last figures are in
docs/reliability.md.
"""

from __future__ import annotations

import pytest

from tests.chaos.opt_in import only_when_asked
from tests.cluster.infra import missing_prerequisites


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    only_when_asked(items, "cluster", "PORTAL_CLUSTER", "make cluster-test", missing_prerequisites)
