"""Use cases of customer accounts: create, read, list, subscribe trials, delete, remove.

Lock order, everywhere (deadlock-free on PostgreSQL): an account's backup tasks, then
accounts (by id), then owner roll-ups (by id) — the order in which run ingest takes them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contracts.errors import Conflict, NotFound
from contracts.events import TenancyEvent
from contracts.tenancy import (
    AccountAccessed,
    AccountCounters,
    AccountCreated,
    AccountCreateRequest,
    AccountGone,
    AccountListQuery,
    AccountPage,
    AccountPick,
    AccountPickPage,
    AccountSearchQuery,
    AccountStatus,
    AccountSubscribed,
    AccountView,
    BackupCounters,
    BackupStatus,
    DefaultSubscription,
    IdList,
    NameLookupRequest,
    RemoveAccountRequest,
    SubscribeTrialsReply,
    SubscribeTrialsRequest,
    TenantName,
    TenantNameList,
    TrialCounters,
)
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from services.tenancy.adapters.identity_users import UserEmails
from services.tenancy.adapters.listing import page_of, search_condition
from services.tenancy.adapters.models import Account, BackupTask, Tenant
from services.tenancy.adapters.rows import (
    account_status_conditions,
    apply_owner_deltas,
    billing_status_conditions,
    move_subscription,
    rollup_of,
    subscription_of,
    subscription_values,
    write_rollup,
)
from services.tenancy.adapters.views import account_row, account_view
from services.tenancy.domain.account_lifecycle import (
    TRIAL_STATES,
    Lifecycle,
    Subscription,
    account_status,
    check_deletable,
    remove,
    start,
    status_change,
    subscribe_trial,
)
from services.tenancy.domain.rollups import AccountRollup, owner_delta
from services.tenancy.usecases.access import (
    ADD_ACCOUNTS,
    SUBSCRIBE_ACCOUNTS,
    Scope,
    authorise,
    own_tenant,
    visible_account,
    visible_tenant,
)
from services.tenancy.usecases.tenant_creation import OWNER_KINDS, NewTenant, create_tenant


def _utc(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def status_changed(uow: UnitOfWork, account: Account, before: tuple[AccountStatus, BackupStatus],
                   after: tuple[AccountStatus, BackupStatus]) -> None:
    """Announce ``account_status_changed`` when the shown or backup status changed."""
    payload = status_change(account.id, account.owner_id, account.size_bytes, account.seats, before, after)
    if payload is not None:
        uow.emit(TenancyEvent.ACCOUNT_STATUS_CHANGED, payload, tenant_id=account.owner_id)


def shown_statuses(sub: Subscription, backup: str, now: datetime) -> tuple[AccountStatus, BackupStatus]:
    return account_status(sub, now), BackupStatus(backup)


def load_view(uow: UnitOfWork, tenant: Tenant, account: Account, now: datetime) -> AccountView:
    session = uow.session
    owner = session.get(Tenant, account.owner_id)
    assert owner is not None
    tasks = list(session.execute(
        sa.select(BackupTask).where(BackupTask.account_id == account.id).order_by(BackupTask.created_at, BackupTask.id)
    ).scalars())
    return account_view(tenant, account, owner, tasks, now)


# ---- create and read -------------------------------------------------------------------------------------


def _owner(uow: UnitOfWork, scope: Scope, partner_id: uuid.UUID | None, distributor_id: uuid.UUID | None,
           field: str) -> Tenant:
    """The partner, the distributor (direct accounts), or else the caller's own distributor or partner."""
    if partner_id is not None:
        return visible_tenant(uow, scope, partner_id, TenantKind.PARTNER, what="partner")
    if distributor_id is not None:
        return visible_tenant(uow, scope, distributor_id, TenantKind.DISTRIBUTOR, what="distributor")
    return own_tenant(uow, scope, field, *OWNER_KINDS)


def create_account(uow: UnitOfWork, ctx: CallContext, request: AccountCreateRequest,
                   now: datetime | None = None, *, users: UserEmails | None = None) -> AccountView:
    """A customer account under a partner or the distributor; ``users`` refuses an email a
    user already has (its first administrator could not be invited), before anything is written."""
    now = _utc(now)
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    owner = _owner(uow, scope, request.partner_id, request.distributor_id, "partner_id")
    choice = request.subscription or DefaultSubscription(owner.default_subscription)
    tenant = create_tenant(
        uow,
        NewTenant(TenantKind.ACCOUNT, owner.id, request.name, request.email, request.country or owner.country,
                  owner.data_center),
        now,
        users=users,
    )
    sub = start(choice, now)
    account = Account(id=tenant.id, owner_id=owner.id, subscription=choice.value, created_at=now,
                      **subscription_values(sub))
    write_rollup(account, AccountRollup())
    uow.session.add(account)
    apply_owner_deltas(uow.session, {owner.id: owner_delta(None, AccountRollup())})
    assert tenant.email is not None
    uow.emit(
        TenancyEvent.ACCOUNT_CREATED,
        AccountCreated(
            account_id=tenant.id, owner_id=owner.id, owner_kind=owner.kind, name=tenant.name, email=tenant.email,
            subscription=choice, account_status=account_status(sub, now), trial_ends_at=sub.trial_ends_at,
        ).to_wire(),
        tenant_id=owner.id,
    )
    if sub.status is Lifecycle.SUBSCRIBED:
        assert sub.plan is not None and sub.subscribed_at is not None
        uow.emit(
            TenancyEvent.ACCOUNT_SUBSCRIBED,
            AccountSubscribed(account_id=tenant.id, owner_id=owner.id, plan=sub.plan, reason="created",
                              subscribed_at=sub.subscribed_at).to_wire(),
            tenant_id=owner.id,
        )
    uow.commit()
    return account_view(tenant, account, owner, [], now)


def get_account(uow: UnitOfWork, ctx: CallContext, account_id: uuid.UUID, now: datetime | None = None) -> AccountView:
    scope = authorise(uow, ctx)
    tenant, account = visible_account(uow, scope, account_id)
    view = load_view(uow, tenant, account, _utc(now))
    if ctx.caller.user_id is not None and ctx.caller.tenant_id != account_id:
        # A distributor's or partner's user opened a customer account: a security-audit fact.
        uow.emit(TenancyEvent.ACCOUNT_ACCESSED,
                 AccountAccessed(account_id=account_id, account_name=view.name, owner_id=view.owner_id).to_wire(),
                 tenant_id=view.owner_id)
        uow.commit()
    return view


# ---- the account list ------------------------------------------------------------------------------------------


def _counters(uow: UnitOfWork, conditions: list[Any], now: datetime) -> tuple[int, AccountCounters]:
    statuses = account_status_conditions(now)
    live = Account.status != Lifecycle.REMOVED.value

    def how_many(condition: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    row = uow.session.execute(
        sa.select(
            sa.func.count(),
            how_many(statuses[AccountStatus.TRIAL_STARTED]),
            how_many(statuses[AccountStatus.TRIAL_EXPIRING]),
            how_many(statuses[AccountStatus.TRIAL_EXPIRED]),
            *(how_many(sa.and_(live, Account.backup_status == status.value)) for status in BackupStatus),
        ).where(*conditions)
    ).one()
    total, in_progress, expiring, expired, *backup = (int(value) for value in row)
    counters = AccountCounters(
        trial=TrialCounters(in_progress=in_progress, expiring=expiring, expired=expired),
        backup=BackupCounters(**{status.value: n for status, n in zip(BackupStatus, backup, strict=True)}),
    )
    return total, counters


def _account_listing(uow: UnitOfWork, ctx: CallContext, query: AccountListQuery,
                     now: datetime) -> tuple[list[Any], Any]:
    """The conditions of the whole list (the M), and the rows matching the search and filters."""
    scope = authorise(uow, ctx)
    owner = _owner(uow, scope, query.partner_id, query.distributor_id, "distributor_id")
    conditions: list[Any] = [Account.owner_id == owner.id]
    if query.account_status is not AccountStatus.REMOVED:
        # Removed accounts are in no list and no total unless the "removed" filter asks for them,
        # as the partner row (its roll-up) leaves them out.
        conditions.append(Account.status != Lifecycle.REMOVED.value)
    accessible = scope.account_filter()
    if accessible is not None:
        conditions.append(accessible)
    # The tenant side is narrowed to the owner's children too: its (parent, kind, lower(name), id)
    # index then yields the page in name order without sorting all of the owner's accounts.
    filtered = (
        sa.select(Account, Tenant.name, Tenant.email)
        .join(Tenant, Tenant.id == Account.id)
        .where(*conditions, Tenant.parent_id == owner.id, Tenant.kind == TenantKind.ACCOUNT.value)
    )
    if query.search:
        filtered = filtered.where(search_condition(query.search))
    if query.account_status is not None:
        filtered = filtered.where(account_status_conditions(now)[query.account_status])
    if query.backup_status is not None:
        filtered = filtered.where(Account.backup_status == query.backup_status.value)
    if query.billing_status is not None:
        filtered = filtered.where(billing_status_conditions(now.date())[query.billing_status])
    if query.ids is not None:
        filtered = filtered.where(Account.id.in_(query.ids))
    return conditions, filtered


def account_ids(uow: UnitOfWork, ctx: CallContext, query: AccountListQuery, now: datetime | None = None) -> IdList:
    """Every account the list would show (search, filters, scope), unpaged: the candidates
    billing orders by amount for a drill-down."""
    _, filtered = _account_listing(uow, ctx, query, _utc(now))
    ids = list(uow.session.execute(filtered.with_only_columns(Account.id).order_by(None)).scalars())
    return IdList(ids=ids, total=len(ids))


def list_accounts(uow: UnitOfWork, ctx: CallContext, query: AccountListQuery,
                  now: datetime | None = None) -> AccountPage:
    """A partner's accounts or a distributor's direct accounts: rows, "N of M", counters."""
    now = _utc(now)
    conditions, filtered = _account_listing(uow, ctx, query, now)
    total_accounts, counters = _counters(uow, conditions, now)
    order = {
        "name": (sa.func.lower(Tenant.name), Tenant.id),
        "-name": (sa.func.lower(Tenant.name).desc(), Tenant.id.desc()),
        "size": (Account.size_bytes, Account.id),
        "-size": (Account.size_bytes.desc(), Account.id.desc()),
        "status": (Account.status, sa.func.lower(Tenant.name), Tenant.id),
        "-status": (Account.status.desc(), sa.func.lower(Tenant.name), Tenant.id),
        "backup_status": (Account.backup_status, sa.func.lower(Tenant.name), Tenant.id),
        "-backup_status": (Account.backup_status.desc(), sa.func.lower(Tenant.name), Tenant.id),
        # Amount first, then name A to Z whichever way the amount goes (billing's order).
        "amount": (Account.billing_amount_due, sa.func.lower(Tenant.name), Tenant.id),
        "-amount": (Account.billing_amount_due.desc(), sa.func.lower(Tenant.name), Tenant.id),
    }[query.sort]
    rows, total = page_of(uow.session, filtered.order_by(*order), query.page, query.page_size)
    return AccountPage(
        items=[account_row(row.Account, row.name, row.email, now) for row in rows],
        page=query.page,
        page_size=query.page_size,
        total=total,
        total_accounts=total_accounts,
        counters=counters,
    )


def tenant_names(uow: UnitOfWork, ctx: CallContext, request: NameLookupRequest) -> TenantNameList:
    """Names of the given accounts and partners that the caller sees (scope and accessible
    accounts); any other id is left out, so a name outside the caller's reach never leaks."""
    scope = authorise(uow, ctx)
    if not request.ids:
        return TenantNameList(items=[])
    tenants = uow.session.execute(
        sa.select(Tenant).where(Tenant.id.in_(sorted(set(request.ids))), scope.within()).order_by(Tenant.id)
    ).scalars()
    return TenantNameList(items=[
        TenantName(id=tenant.id, kind=tenant.kind, name=tenant.name, email=tenant.email, parent_id=tenant.parent_id)
        for tenant in tenants if scope.sees(tenant)
    ])


def search_accounts(uow: UnitOfWork, ctx: CallContext, query: AccountSearchQuery,
                    now: datetime | None = None) -> AccountPickPage:
    """Accounts anywhere in the caller's subtree that the caller may see (accessible accounts
    too), by name or email and status, in name order: what the console's pickers offer."""
    now = _utc(now)
    scope = authorise(uow, ctx)
    owner = sa.orm.aliased(Tenant)
    listing = (sa.select(Account, Tenant.name, Tenant.email, owner.name.label("owner_name"))
               .join(Tenant, Tenant.id == Account.id).join(owner, owner.id == Account.owner_id)
               .where(scope.within(), Tenant.kind == TenantKind.ACCOUNT.value))
    if query.account_status is not AccountStatus.REMOVED:
        listing = listing.where(Account.status != Lifecycle.REMOVED.value)
    accessible = scope.account_filter()
    if accessible is not None:
        listing = listing.where(accessible)
    if query.search:
        listing = listing.where(search_condition(query.search))
    if query.account_status is not None:
        listing = listing.where(account_status_conditions(now)[query.account_status])
    rows, total = page_of(uow.session, listing.order_by(sa.func.lower(Tenant.name), Tenant.id),
                          query.page, query.page_size)
    picks = []
    for row in rows:
        shown = account_row(row.Account, row.name, row.email, now)
        picks.append(AccountPick(id=shown.id, name=shown.name, email=shown.email, account_status=shown.account_status,
                                 owner_id=row.Account.owner_id, owner_name=row.owner_name))
    return AccountPickPage(items=picks, page=query.page, page_size=query.page_size, total=total)


# ---- subscribe, delete, remove --------------------------------------------------------------------------------


def subscribe_trials(uow: UnitOfWork, ctx: CallContext, request: SubscribeTrialsRequest,
                     now: datetime | None = None) -> SubscribeTrialsReply:
    """Subscribe the trial accounts (running or expired) of the named list to ``plan``; others
    are untouched. The list is the request's ``scope`` exactly: a distributor's direct
    accounts, one partner's accounts, or (asked for by name) every account in reach."""
    now = _utc(now)
    scope = authorise(uow, ctx, SUBSCRIBE_ACCOUNTS)
    in_reach = [_subscribe_scope(uow, scope, request)]
    accessible = scope.account_filter()
    if accessible is not None:
        in_reach.append(accessible)
    if request.account_ids is not None:
        in_reach.append(Account.id.in_(request.account_ids))
        _require_all_named(uow, in_reach, request.account_ids)
    query = (
        sa.select(Account)
        .join(Tenant, Tenant.id == Account.id)
        .where(*in_reach, Account.status.in_([state.value for state in TRIAL_STATES]))
        .order_by(Account.id)
    )
    changed = 0
    for account in uow.session.execute(query.with_for_update(of=Account)).scalars().all():
        before = subscription_of(account)
        after = subscribe_trial(before, request.plan, now)
        backup = account.backup_status
        if not move_subscription(uow.session, account, before, after):
            continue
        changed += 1
        uow.emit(
            TenancyEvent.ACCOUNT_SUBSCRIBED,
            AccountSubscribed(account_id=account.id, owner_id=account.owner_id, plan=request.plan,
                              reason="subscribe_trials", subscribed_at=now).to_wire(),
            tenant_id=account.owner_id,
        )
        status_changed(uow, account, shown_statuses(before, backup, now), shown_statuses(after, backup, now))
    uow.commit()
    return SubscribeTrialsReply(changed=changed)


def _subscribe_scope(uow: UnitOfWork, scope: Scope, request: SubscribeTrialsRequest) -> sa.ColumnElement[bool]:
    """SQL: the account is in the list the request names (the same owner its list page shows)."""
    if request.scope == "all":
        return scope.within()
    if request.scope == "partner" and request.partner_id is None:
        owner = own_tenant(uow, scope, "partner_id", TenantKind.PARTNER)
    else:  # the contract keeps partner_id to 'partner' and distributor_id to 'direct'
        owner = _owner(uow, scope, request.partner_id, request.distributor_id, "distributor_id")
    return Account.owner_id == owner.id


def _require_all_named(uow: UnitOfWork, in_reach: list[sa.ColumnElement[bool]],
                       account_ids: list[uuid.UUID]) -> None:
    """Named accounts must exist for the caller, trial or not: one outside its reach is
    refused like a direct URL to it (404), not silently skipped."""
    found = uow.session.execute(
        sa.select(Account.id).join(Tenant, Tenant.id == Account.id)
        .where(*in_reach, Account.status != Lifecycle.REMOVED.value)
    ).scalars()
    known = set(found)
    missing = [index for index, account_id in enumerate(account_ids) if account_id not in known]
    if missing:
        # Positions, not ids: the answer says which entries are wrong and repeats nothing.
        raise NotFound(f"{len(missing)} of the named accounts not found",
                       {"field": "account_ids", "indexes": missing})


def _lock_for_removal(uow: UnitOfWork, scope: Scope, account_id: uuid.UUID) -> tuple[Tenant, Account]:
    """The account, its tasks and its row locked in the suite's lock order."""
    tenant, account = visible_account(uow, scope, account_id)
    session = uow.session
    session.execute(
        sa.select(BackupTask.id).where(BackupTask.account_id == account.id).order_by(BackupTask.id).with_for_update()
    ).all()
    locked = session.execute(
        sa.select(Account).where(Account.id == account.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    return tenant, locked


def delete_trial(uow: UnitOfWork, ctx: CallContext, account_id: uuid.UUID, now: datetime | None = None) -> None:
    """A trial (running or expired) goes entirely; a subscribed account is a conflict."""
    now = _utc(now)
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    tenant, account = _lock_for_removal(uow, scope, account_id)
    check_deletable(subscription_of(account))
    owner_id, rollup = account.owner_id, rollup_of(account)
    gone = AccountGone(account_id=tenant.id, owner_id=owner_id, name=tenant.name, email=tenant.email, at=now,
                       data_removal_approved=False)
    session = uow.session
    session.expunge(account)
    session.expunge(tenant)
    # Runs go with their tasks, tasks and the account row with the tenant (ON DELETE CASCADE).
    session.execute(sa.delete(BackupTask).where(BackupTask.account_id == account_id))
    session.execute(sa.delete(Account).where(Account.id == account_id))
    session.execute(sa.delete(Tenant).where(Tenant.id == account_id))
    apply_owner_deltas(session, {owner_id: owner_delta(rollup, None)})
    uow.emit(TenancyEvent.TRIAL_DELETED, gone.to_wire(), tenant_id=owner_id)
    uow.commit()


def remove_account(uow: UnitOfWork, ctx: CallContext, account_id: uuid.UUID, request: RemoveAccountRequest,
                   now: datetime | None = None) -> AccountView:
    """With approval, the account's tasks and runs go; the account stays as "removed".

    Its email is freed for a new account; billing stops on ``account_removed``.
    """
    now = _utc(now)
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    tenant, account = _lock_for_removal(uow, scope, account_id)
    before = subscription_of(account)
    after = remove(before, request.approve_data_removal, now)
    backup_before, rollup = account.backup_status, rollup_of(account)
    session = uow.session
    session.execute(sa.delete(BackupTask).where(BackupTask.account_id == account.id))
    if not move_subscription(session, account, before, after):
        raise Conflict("the account changed meanwhile; try again")
    write_rollup(account, AccountRollup())
    tenant.email_normalised = None
    apply_owner_deltas(session, {account.owner_id: owner_delta(rollup, None)})
    uow.emit(
        TenancyEvent.ACCOUNT_REMOVED,
        AccountGone(account_id=account.id, owner_id=account.owner_id, name=tenant.name, email=tenant.email, at=now,
                    data_removal_approved=True).to_wire(),
        tenant_id=account.owner_id,
    )
    status_changed(uow, account, shown_statuses(before, backup_before, now),
                   shown_statuses(after, account.backup_status, now))
    uow.commit()
    return load_view(uow, tenant, account, now)
