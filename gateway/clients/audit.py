"""audit's RPC methods as the gateway calls them: typed arguments, typed replies.

Written once from the service's entry points (services/audit/entrypoints.py) and the contract
models; keep it in step with both by hand. Every call carries the request's correlation id
and caller, and a deadline (gateway.rpc).
"""

from __future__ import annotations

from contracts.audit import AuditPage, ExportPage
from gateway.clients.base import ServiceClient, Wire


class AuditClient(ServiceClient):
    service = "audit"

    def export_page(self, request: Wire, *, timeout: float | None = None) -> ExportPage:
        return ExportPage.from_wire(self._call("export_page", request, timeout=timeout))

    def search(self, query: Wire, *, timeout: float | None = None) -> AuditPage:
        return AuditPage.from_wire(self._call("search", query, timeout=timeout))
