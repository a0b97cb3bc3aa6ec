"""What notify reads from the other services, by RPC, as the system.

Reports, Backup Radar and reminders run on timers and events: there is no signed-in
caller, so these calls carry the system caller (tenancy scopes each query to the tenant
named in it). Replies are read with tolerant models (unknown fields ignored).

RPCs used (tenancy): ``get_tenant``, ``list_partners``, ``list_accounts``, ``get_account``,
and ``list_backup_runs`` (requested from tenancy: runs of a subtree finished within a
period, paged — docs/notifications.md). Identity: ``list_password_expiring`` (requested).
Billing: ``get_billing_details`` and ``invoice_document``.

Every call gives up after ``NOTIFY_RPC_TIMEOUT_SECONDS`` (servicekit.rpc_deadline): a service
that is down with its queue still in place would otherwise hold a scheduler tick, or an
event handler, forever.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

from contracts.billing import BillingDetails, BillingDetailsView, DocumentFormat, DocumentReply
from contracts.context import CALLER_KEY
from contracts.tenancy import AccountRow, AccountView, PartnerRow, RunListRow
from contracts.vocabulary import TenantKind
from servicekit.context import SYSTEM_CALLER
from servicekit.rpc_deadline import DeadlineRpcProxy
from services.notify.domain.messages import Attachment
from services.notify.settings import NotifySettings

PAGE_SIZE = 200
MAX_PAGES = 10_000


class Reader(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TenantInfo(Reader):
    id: uuid.UUID
    parent_id: uuid.UUID | None = None
    kind: TenantKind
    name: str
    email: str | None = None


class ExpiringPassword(Reader):
    """One user as ``identity.list_password_expiring`` returns it."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID | None = None
    email: str
    display_name: str | None = None
    password_expires_at: AwareDatetime


# Tenants' parents as tenancy told them, for finding the distributors above an account: a
# tenant's parent never changes, so this process keeps what it learnt.
TENANT_PARENTS: dict[uuid.UUID, uuid.UUID | None] = {}


class TenancyReads(Protocol):
    def tenant(self, tenant_id: uuid.UUID) -> TenantInfo: ...

    def partners(self, distributor_id: uuid.UUID) -> Iterator[PartnerRow]: ...

    def accounts(self, owner_id: uuid.UUID, owner_kind: TenantKind) -> Iterator[AccountRow]: ...

    def account(self, account_id: uuid.UUID) -> AccountView: ...

    def runs(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> Iterator[RunListRow]: ...


class _AsSystem:
    """A worker context whose calls carry the system caller (and the worker's correlation id)."""

    def __init__(self, worker_ctx: Any) -> None:
        self._worker_ctx = worker_ctx
        self.container = worker_ctx.container
        self.config = worker_ctx.config

    @property
    def context_data(self) -> dict[str, Any]:
        data = dict(self._worker_ctx.context_data)
        data[CALLER_KEY] = SYSTEM_CALLER.to_wire()
        return data


class SystemRpcProxy(DeadlineRpcProxy):
    """A deadline RPC proxy calling as the system rather than as the worker's caller."""

    def __init__(self, target_service: str, **options: Any) -> None:
        super().__init__(target_service, timeout=lambda: NotifySettings().rpc_timeout_seconds, **options)

    def calling_context(self, worker_ctx: Any) -> Any:
        return _AsSystem(worker_ctx)


def paged(fetch: Any, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a paged list RPC, ``PAGE_SIZE`` at a time."""
    for page in range(1, MAX_PAGES + 1):
        reply = fetch({**query, "page": page, "page_size": PAGE_SIZE})
        items = reply.get("items", [])
        yield from items
        if not items or page * PAGE_SIZE >= int(reply.get("total", 0)):
            return


class TenancyRpc:
    """:class:`TenancyReads` over RPC."""

    def __init__(self, tenancy: Any) -> None:
        self._tenancy = tenancy

    def tenant(self, tenant_id: uuid.UUID) -> TenantInfo:
        return TenantInfo.model_validate(self._tenancy.get_tenant(str(tenant_id)))

    def partners(self, distributor_id: uuid.UUID) -> Iterator[PartnerRow]:
        for page_item in paged(self._tenancy.list_partners, {"distributor_id": str(distributor_id)}):
            yield PartnerRow.from_wire(page_item)

    def accounts(self, owner_id: uuid.UUID, owner_kind: TenantKind) -> Iterator[AccountRow]:
        key = "partner_id" if owner_kind == TenantKind.PARTNER else "distributor_id"
        for page_item in paged(self._tenancy.list_accounts, {key: str(owner_id)}):
            yield AccountRow.from_wire(page_item)

    def account(self, account_id: uuid.UUID) -> AccountView:
        return AccountView.from_wire(self._tenancy.get_account(str(account_id)))

    def runs(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> Iterator[RunListRow]:
        query = {"tenant_id": str(tenant_id), "finished_from": start.isoformat(), "finished_to": end.isoformat()}
        for page_item in paged(self._tenancy.list_backup_runs, query):
            yield RunListRow.from_wire(page_item)


def expiring_passwords(identity: Any, within_days: int) -> Iterator[ExpiringPassword]:
    for item in paged(identity.list_password_expiring, {"within_days": within_days}):
        yield ExpiringPassword.model_validate(item)


class BillingReads(Protocol):
    def details(self, distributor_id: uuid.UUID) -> BillingDetails | None: ...

    def invoice_pdf(self, reference: str, distributor_id: uuid.UUID) -> Attachment: ...


class BillingRpc:
    """:class:`BillingReads` over RPC: ``get_billing_details`` and ``invoice_document``."""

    def __init__(self, billing: Any) -> None:
        self._billing = billing

    def details(self, distributor_id: uuid.UUID) -> BillingDetails | None:
        return BillingDetailsView.from_wire(self._billing.get_billing_details(str(distributor_id))).details

    def invoice_pdf(self, reference: str, distributor_id: uuid.UUID) -> Attachment:
        request = {"reference": reference, "format": DocumentFormat.PDF.value, "distributor_id": str(distributor_id)}
        reply = DocumentReply.from_wire(self._billing.invoice_document(request))
        return Attachment(reply.filename, reply.content_type, base64.b64decode(reply.content_base64))

