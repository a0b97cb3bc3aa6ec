"""What every service class has: call context, the ``health`` RPC and the no-op ``ping``."""

from __future__ import annotations

from typing import Any

from servicekit.context import CallContext, CallContextProvider
from servicekit.db import UnitOfWork
from servicekit.health import check_health
from servicekit.metrics import Metrics
from servicekit.rpc import rpc
from servicekit.tracing import Tracing


class ServiceBase:
    """Subclasses set ``name`` and ``db = Database(<migrations dir>)``."""

    name: str
    db: UnitOfWork
    context: CallContext = CallContextProvider()
    metrics = Metrics()
    tracing = Tracing()

    @rpc
    def health(self) -> dict[str, Any]:
        return check_health(self.db).to_wire()

    @rpc
    def ping(self) -> dict[str, Any]:
        """Touches nothing: the price of one RPC round trip (the benchmarks' ceiling)."""
        return {}
