"""tenancy's RPC methods as the gateway calls them: typed arguments, typed replies.

Written once from the service's entry points (services/tenancy/entrypoints.py) and the contract
models; keep it in step with both by hand. Every call carries the request's correlation id
and caller, and a deadline (gateway.rpc).
"""

from __future__ import annotations

import uuid

from contracts.site_content import SiteContentView
from contracts.tenancy import (
    AccountPage,
    AccountPickPage,
    AccountView,
    BackupTaskView,
    IdList,
    IngestReply,
    PartnerPage,
    SubscribeTrialsReply,
    TenantProfile,
    TrialExpiryReply,
)
from gateway.clients.base import ServiceClient, Wire, as_text, keyed, trailing
from gateway.rpc import Call


class TenancyClient(ServiceClient):
    service = "tenancy"

    def account_ids(self, query: Wire | None = None, *, timeout: float | None = None) -> IdList:
        """Every account ``list_accounts`` would show, unpaged (billing orders them by amount)."""
        return IdList.from_wire(self._call("account_ids", query, timeout=timeout))

    def activate_backup_task(
        self, account_id: uuid.UUID | str, task_id: uuid.UUID | str, *, timeout: float | None = None
    ) -> BackupTaskView:
        reply = self._call("activate_backup_task", as_text(account_id), as_text(task_id), timeout=timeout)
        return BackupTaskView.from_wire(reply)

    def add_backup_task(
        self, account_id: uuid.UUID | str, request: Wire, *, timeout: float | None = None
    ) -> BackupTaskView:
        return BackupTaskView.from_wire(self._call("add_backup_task", as_text(account_id), request, timeout=timeout))

    def create_account(
        self, request: Wire, *, idempotency_key: str | None = None, timeout: float | None = None
    ) -> AccountView:
        return AccountView.from_wire(self._call("create_account", request, **keyed(idempotency_key), timeout=timeout))

    def create_distributor(self, request: Wire, *, timeout: float | None = None) -> TenantProfile:
        return TenantProfile.from_wire(self._call("create_distributor", request, timeout=timeout))

    def create_partner(
        self, request: Wire, *, idempotency_key: str | None = None, timeout: float | None = None
    ) -> TenantProfile:
        return TenantProfile.from_wire(self._call("create_partner", request, **keyed(idempotency_key), timeout=timeout))

    def get_site_content(self, *, timeout: float | None = None) -> SiteContentView:
        return SiteContentView.from_wire(self._call("get_site_content", timeout=timeout))

    def update_site_content(self, content: Wire, *, timeout: float | None = None) -> SiteContentView:
        return SiteContentView.from_wire(self._call("update_site_content", content, timeout=timeout))

    def delete_distributor(self, distributor_id: uuid.UUID | str, *, timeout: float | None = None) -> None:
        self._call("delete_distributor", as_text(distributor_id), timeout=timeout)

    def delete_trial(self, account_id: uuid.UUID | str, *, timeout: float | None = None) -> None:
        self._call("delete_trial", as_text(account_id), timeout=timeout)

    def get_account(self, account_id: uuid.UUID | str, *, timeout: float | None = None) -> AccountView:
        return AccountView.from_wire(self._call("get_account", as_text(account_id), timeout=timeout))

    def get_account_settings(
        self, tenant_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> TenantProfile:
        return TenantProfile.from_wire(self._call("get_account_settings", *trailing(tenant_id), timeout=timeout))

    def get_partner(self, partner_id: uuid.UUID | str, *, timeout: float | None = None) -> TenantProfile:
        return TenantProfile.from_wire(self._call("get_partner", as_text(partner_id), timeout=timeout))

    def ingest_backup_runs(self, runs: list[Wire], *, timeout: float | None = None) -> IngestReply:
        return IngestReply.from_wire(self._call("ingest_backup_runs", runs, timeout=timeout))

    def list_accounts(self, query: Wire | None = None, *, timeout: float | None = None) -> AccountPage:
        return AccountPage.from_wire(self._call("list_accounts", query, timeout=timeout))

    def search_accounts(self, query: Wire | None = None, *, timeout: float | None = None) -> AccountPickPage:
        """Accounts anywhere in the caller's subtree, by name or email and status (pickers)."""
        return AccountPickPage.from_wire(self._call("search_accounts", query, timeout=timeout))

    def list_partners(self, query: Wire | None = None, *, timeout: float | None = None) -> PartnerPage:
        return PartnerPage.from_wire(self._call("list_partners", query, timeout=timeout))

    def partner_ids(self, query: Wire | None = None, *, timeout: float | None = None) -> IdList:
        """Every partner ``list_partners`` would show, unpaged (billing orders them by amount)."""
        return IdList.from_wire(self._call("partner_ids", query, timeout=timeout))

    def pause_backup_task(
        self, account_id: uuid.UUID | str, task_id: uuid.UUID | str, *, timeout: float | None = None
    ) -> BackupTaskView:
        reply = self._call("pause_backup_task", as_text(account_id), as_text(task_id), timeout=timeout)
        return BackupTaskView.from_wire(reply)

    def remove_account(
        self, account_id: uuid.UUID | str, request: Wire | None = None, *, timeout: float | None = None
    ) -> AccountView:
        return AccountView.from_wire(self._call("remove_account", as_text(account_id), request, timeout=timeout))

    def run_trial_expiry(self, request: Wire | None = None, *, timeout: float | None = None) -> TrialExpiryReply:
        """The trial clock on demand (operators): every trial ended by ``as_of`` (default now)."""
        return TrialExpiryReply.from_wire(self._call("run_trial_expiry", request, timeout=timeout))

    def subscribe_trials(self, request: Wire, *, timeout: float | None = None) -> SubscribeTrialsReply:
        return SubscribeTrialsReply.from_wire(self._call("subscribe_trials", request, timeout=timeout))

    def update_account_settings(
        self, request: Wire, tenant_id: uuid.UUID | str | None = None, *, timeout: float | None = None
    ) -> TenantProfile:
        reply = self._call("update_account_settings", request, *trailing(tenant_id), timeout=timeout)
        return TenantProfile.from_wire(reply)

    def update_partner(
        self, partner_id: uuid.UUID | str, request: Wire, *, timeout: float | None = None
    ) -> TenantProfile:
        return TenantProfile.from_wire(self._call("update_partner", as_text(partner_id), request, timeout=timeout))

    def tenant_names_call(self, request: Wire) -> Call:
        """Names of accounts and partners the caller sees, as one call of a fan-out."""
        return self.fan_out("tenant_names", request)
