"""The trial clock: at the end of a trial, auto-subscribe where chosen, otherwise expire.

``expire_trials(uow, as_of)`` moves every trial that ended at or before ``as_of``. The
state it works from is in the database (status ``trial`` and ``trial_ends_at``), so a
clock that was down catches up on its next run and nothing is skipped. It is safe with
several instances: on PostgreSQL each batch is taken ``FOR UPDATE SKIP LOCKED`` (instances
take disjoint batches), and every move is a conditional update that only the first
writer wins, so no trial is handled (or announced) twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from contracts.events import TenancyEvent
from contracts.tenancy import AccountSubscribed, TrialExpired, TrialExpiryReply, TrialExpiryRequest
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.models import Account, Tenant
from services.tenancy.adapters.rows import move_subscription, subscription_of
from services.tenancy.domain.account_lifecycle import Lifecycle, end_trial
from services.tenancy.usecases.access import require_operator, visible_tenant
from services.tenancy.usecases.accounts import shown_statuses, status_changed

BATCH_SIZE = 200


def _due(uow: UnitOfWork, as_of: datetime, batch_size: int, within: str | None) -> list[Account]:
    query = (
        sa.select(Account)
        .where(Account.status == Lifecycle.TRIAL.value, Account.trial_ends_at <= as_of)
        .order_by(Account.trial_ends_at, Account.id)
        .limit(batch_size)
        .execution_options(populate_existing=True)
    )
    if within is not None:
        query = query.join(Tenant, Tenant.id == Account.id).where(Tenant.path.like(within + "%"))
    if uow.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Account, skip_locked=True)
    return list(uow.session.execute(query).scalars())


def expire_trials(uow: UnitOfWork, as_of: datetime, batch_size: int = BATCH_SIZE,
                  within: str | None = None) -> TrialExpiryReply:
    """Move the trials due at ``as_of`` (below the tree path ``within``, if given), one committed batch at a time."""
    expired = auto_subscribed = 0
    seen: set[uuid.UUID] = set()
    while batch := [account for account in _due(uow, as_of, batch_size, within) if account.id not in seen]:
        for account in batch:
            seen.add(account.id)
            before = subscription_of(account)
            after = end_trial(before, as_of)
            backup = account.backup_status
            if not move_subscription(uow.session, account, before, after):
                continue  # another instance moved it first
            if after.status is Lifecycle.SUBSCRIBED:
                assert after.plan is not None and after.subscribed_at is not None
                auto_subscribed += 1
                uow.emit(
                    TenancyEvent.ACCOUNT_SUBSCRIBED,
                    AccountSubscribed(account_id=account.id, owner_id=account.owner_id, plan=after.plan,
                                      reason="auto_subscription", subscribed_at=after.subscribed_at).to_wire(),
                    tenant_id=account.owner_id,
                )
            else:
                assert before.trial_ends_at is not None
                expired += 1
                uow.emit(
                    TenancyEvent.TRIAL_EXPIRED,
                    TrialExpired(account_id=account.id, owner_id=account.owner_id,
                                 trial_ends_at=before.trial_ends_at).to_wire(),
                    tenant_id=account.owner_id,
                )
            status_changed(uow, account, shown_statuses(before, backup, as_of), shown_statuses(after, backup, as_of))
        uow.commit()
    return TrialExpiryReply(as_of=as_of, expired=expired, auto_subscribed=auto_subscribed)


def run_trial_expiry(uow: UnitOfWork, ctx: CallContext, request: TrialExpiryRequest, batch_size: int,
                     now: datetime) -> TrialExpiryReply:
    """The trial clock on demand (operators): every trial ended by ``as_of`` (default now),
    within one distributor's subtree if it is named."""
    scope = require_operator(uow, ctx)
    within = None
    if request.distributor_id is not None:
        within = visible_tenant(uow, scope, request.distributor_id, TenantKind.DISTRIBUTOR, what="distributor").path
    return expire_trials(uow, request.as_of or now, batch_size, within)
