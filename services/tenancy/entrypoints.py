"""tenancy: the tenant tree, customer accounts, trials, backup tasks and roll-ups.

Entrypoints only: parse the wire input, call a use case, return the wire output.

Besides RPC, runs arrive as AMQP messages from the backup engine (``EVENT_HANDLERS``;
the message format is domain/engine_messages.py), and a timer ends trials that are due.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.events import BillingEvent, EngineEvent
from contracts.site_content import SiteContent
from contracts.tenancy import (
    AccountCreateRequest,
    AccountListQuery,
    AccountSearchQuery,
    BackupTaskRequest,
    DistributorCreateRequest,
    NameLookupRequest,
    PartnerCreateRequest,
    PartnerListQuery,
    RemoveAccountRequest,
    RunListQuery,
    SubscribeTrialsRequest,
    TaskState,
    TenantProfileUpdate,
    TrialExpiryRequest,
)
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.ids import parse_uuid
from servicekit.logging import configure_logging, get_logger
from servicekit.request_keys import keyed_create
from servicekit.rpc import rpc
from servicekit.rpc_deadline import DeadlineRpcProxy
from servicekit.subscriptions import On, subscribe
from servicekit.timers import every
from servicekit.validation import parse
from services.tenancy.adapters.identity_users import IdentityUsers
from services.tenancy.adapters.models import request_keys
from services.tenancy.domain.engine_messages import parse_runs
from services.tenancy.settings import TenancySettings
from services.tenancy.usecases import (
    accounts,
    backups,
    billing_projection,
    demo,
    partner_list,
    partners,
    profiles,
    site_content,
    tenants,
    trials,
)
from services.tenancy.usecases import backup_run_history as runs
from services.tenancy.usecases.tenant_creation import ensure_operator_root

configure_logging("tenancy")
log = get_logger(__name__)

EVENT_HANDLERS = {
    # Idempotent by run id itself (like the ingest RPC), so the raw message is handed over.
    EngineEvent.BACKUP_RUN_COMPLETED: On(lambda service, body: backups.record_engine_message(service.db, body),
                                         method="record_engine_runs", exactly_once=False),
    # Idempotent by the facts' version: a repeated or late announcement changes nothing.
    BillingEvent.ACCOUNT_BILLING_CHANGED: On(
        lambda service, body: billing_projection.record_account_billing_message(service.db, body),
        method="record_account_billing", exactly_once=False),
}


@subscribe(EVENT_HANDLERS)
class TenancyService(ServiceBase):
    name = "tenancy"

    db = Database(Path(__file__).parent / "adapters" / "migrations", on_start=ensure_operator_root)
    identity = DeadlineRpcProxy("identity", timeout=lambda: TenancySettings().identity_timeout_seconds)

    # ---- the tree ------------------------------------------------------------------------

    @rpc
    def get_site_content(self) -> dict[str, Any]:
        return site_content.get_site_content(self.db, self.context).to_wire()

    @rpc
    def update_site_content(self, content: dict[str, Any]) -> dict[str, Any]:
        return site_content.update_site_content(self.db, self.context, parse(SiteContent, content)).to_wire()

    @rpc
    def get_tenant(self, tenant_id: str) -> dict[str, Any]:
        return tenants.get_tenant(self.db, self.context, parse_uuid(tenant_id, "tenant_id"))

    @rpc
    def create_distributor(self, request: dict[str, Any]) -> dict[str, Any]:
        return partners.create_distributor(self.db, self.context, parse(DistributorCreateRequest, request)).to_wire()

    @rpc
    def delete_distributor(self, distributor_id: str) -> None:
        partners.delete_distributor(self.db, self.context, parse_uuid(distributor_id, "distributor_id"))

    @rpc
    @keyed_create("create_partner", request_keys)
    def create_partner(self, request: dict[str, Any]) -> dict[str, Any]:
        return partners.create_partner(
            self.db, self.context, parse(PartnerCreateRequest, request), users=IdentityUsers(self.identity)
        ).to_wire()

    @rpc
    def get_partner(self, partner_id: str) -> dict[str, Any]:
        return partners.get_partner(self.db, self.context, parse_uuid(partner_id, "partner_id")).to_wire()

    @rpc
    def update_partner(self, partner_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return partners.update_partner(
            self.db, self.context, parse_uuid(partner_id, "partner_id"), parse(TenantProfileUpdate, request)
        ).to_wire()

    @rpc
    def list_partners(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        return partner_list.list_partners(self.db, self.context, parse(PartnerListQuery, query or {})).to_wire()

    @rpc
    def partner_ids(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every partner ``list_partners`` would show, unpaged (billing orders them by amount)."""
        return partner_list.partner_ids(self.db, self.context, parse(PartnerListQuery, query or {})).to_wire()

    @rpc
    def get_account_settings(self, tenant_id: str | None = None) -> dict[str, Any]:
        target = parse_uuid(tenant_id, "tenant_id") if tenant_id is not None else None
        return profiles.get_account_settings(self.db, self.context, target).to_wire()

    @rpc
    def update_account_settings(self, request: dict[str, Any], tenant_id: str | None = None) -> dict[str, Any]:
        target = parse_uuid(tenant_id, "tenant_id") if tenant_id is not None else None
        return profiles.update_account_settings(
            self.db, self.context, parse(TenantProfileUpdate, request), target
        ).to_wire()

    # ---- customer accounts -------------------------------------------------------------------

    @rpc
    @keyed_create("create_account", request_keys)
    def create_account(self, request: dict[str, Any]) -> dict[str, Any]:
        return accounts.create_account(
            self.db, self.context, parse(AccountCreateRequest, request), users=IdentityUsers(self.identity)
        ).to_wire()

    @rpc
    def get_account(self, account_id: str) -> dict[str, Any]:
        return accounts.get_account(self.db, self.context, parse_uuid(account_id, "account_id")).to_wire()

    @rpc
    def list_backup_runs(self, query: dict[str, Any]) -> dict[str, Any]:
        return runs.list_backup_runs(self.db, self.context, parse(RunListQuery, query)).to_wire()

    @rpc
    def list_accounts(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        return accounts.list_accounts(self.db, self.context, parse(AccountListQuery, query or {})).to_wire()

    @rpc
    def search_accounts(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Accounts anywhere in the caller's subtree, by name or email and status (pickers)."""
        return accounts.search_accounts(self.db, self.context, parse(AccountSearchQuery, query or {})).to_wire()

    @rpc
    def account_ids(self, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every account ``list_accounts`` would show, unpaged (billing orders them by amount)."""
        return accounts.account_ids(self.db, self.context, parse(AccountListQuery, query or {})).to_wire()

    @rpc
    def tenant_names(self, request: dict[str, Any]) -> dict[str, Any]:
        """Names of accounts and partners the caller sees (billing status pages)."""
        return accounts.tenant_names(self.db, self.context, parse(NameLookupRequest, request)).to_wire()

    @rpc
    def subscribe_trials(self, request: dict[str, Any]) -> dict[str, Any]:
        return accounts.subscribe_trials(self.db, self.context, parse(SubscribeTrialsRequest, request)).to_wire()

    @rpc
    def delete_trial(self, account_id: str) -> None:
        accounts.delete_trial(self.db, self.context, parse_uuid(account_id, "account_id"))

    @rpc
    def remove_account(self, account_id: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
        return accounts.remove_account(
            self.db, self.context, parse_uuid(account_id, "account_id"), parse(RemoveAccountRequest, request or {})
        ).to_wire()

    # ---- backup tasks and runs -------------------------------------------------------------------

    @rpc
    def add_backup_task(self, account_id: str, request: dict[str, Any]) -> dict[str, Any]:
        return backups.add_backup_task(
            self.db, self.context, parse_uuid(account_id, "account_id"), parse(BackupTaskRequest, request)
        ).to_wire()

    @rpc
    def activate_backup_task(self, account_id: str, task_id: str) -> dict[str, Any]:
        return self._set_task_state(account_id, task_id, TaskState.ACTIVE)

    @rpc
    def pause_backup_task(self, account_id: str, task_id: str) -> dict[str, Any]:
        return self._set_task_state(account_id, task_id, TaskState.PAUSED)

    def _set_task_state(self, account_id: str, task_id: str, state: TaskState) -> dict[str, Any]:
        return backups.set_task_state(
            self.db, self.context, parse_uuid(account_id, "account_id"), parse_uuid(task_id, "task_id"), state
        ).to_wire()

    @rpc
    def ingest_backup_runs(self, runs: list[dict[str, Any]]) -> dict[str, Any]:
        return backups.ingest_runs(self.db, self.context, parse_runs(runs)).to_wire()

    # ---- the trial clock ------------------------------------------------------------------------------

    @every(lambda: TenancySettings().trial_clock_seconds)
    def expire_due_trials(self) -> None:
        reply = trials.expire_trials(self.db, datetime.now(UTC), TenancySettings().trial_batch_size)
        if reply.expired or reply.auto_subscribed:
            log.info("trials ended", expired=reply.expired, auto_subscribed=reply.auto_subscribed)

    @rpc
    def run_trial_expiry(self, request: dict[str, Any] | None = None) -> dict[str, Any]:
        """The trial clock on demand (operators): every trial ended by ``as_of`` (default now)."""
        return trials.run_trial_expiry(self.db, self.context, parse(TrialExpiryRequest, request or {}),
                                       TenancySettings().trial_batch_size, datetime.now(UTC)).to_wire()

    # ---- operations ----------------------------------------------------------------------------------

    @rpc
    def seed_demo(self) -> dict[str, Any]:
        return asdict(demo.seed_demo(self.db, self.context))
