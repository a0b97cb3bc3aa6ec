"""Use cases of distributors and partners: create, read, edit, the dashboard's partner list.

Adding a partner announces ``partner_created``; identity reacts by inviting the partner
portal's first administrator at the partner's email.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from contracts.billing import RollupStatus
from contracts.context import OPERATOR_TENANT_ID
from contracts.errors import Conflict, PermissionDenied
from contracts.events import TenancyEvent
from contracts.tenancy import (
    DefaultSubscription,
    DistributorCreateRequest,
    IdList,
    PartnerCreated,
    PartnerCreateRequest,
    PartnerListQuery,
    PartnerPage,
    PartnerRow,
    TaskStatus,
    TenantDeleted,
    TenantProfile,
    TenantProfileUpdate,
)
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from servicekit.text_search import text_contains
from services.tenancy.adapters.identity_users import UserEmails
from services.tenancy.adapters.listing import count, page_of, search_condition
from services.tenancy.adapters.models import Account, OwnerRollup, Tenant
from services.tenancy.adapters.rows import task_status_case
from services.tenancy.adapters.views import profile_view
from services.tenancy.domain.account_lifecycle import Lifecycle
from services.tenancy.domain.billing_facts import CENT, owner_status
from services.tenancy.usecases.access import ADD_ACCOUNTS, Scope, authorise, require_operator, visible_tenant
from services.tenancy.usecases.profiles import change_profile
from services.tenancy.usecases.tenant_creation import NewTenant, create_tenant

DIRECT_ACCOUNTS = "Direct Accounts"


def _utc(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# ---- partners ------------------------------------------------------------------------------------


def _distributor_for(uow: UnitOfWork, scope: Scope, distributor_id: uuid.UUID | None) -> Tenant:
    if distributor_id is not None:
        return visible_tenant(uow, scope, distributor_id, TenantKind.DISTRIBUTOR, what="distributor")
    if scope.tenant is None or scope.tenant.kind != TenantKind.DISTRIBUTOR:
        raise PermissionDenied("partners are added by a distributor (operators name it: distributor_id)")
    return scope.tenant


def create_partner(uow: UnitOfWork, ctx: CallContext, request: PartnerCreateRequest,
                   now: datetime | None = None, *, users: UserEmails | None = None) -> TenantProfile:
    """A partner under the caller's distributor; ``users`` refuses an email a user already has
    (its first administrator could not be invited), before anything is written."""
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    distributor = _distributor_for(uow, scope, request.distributor_id)
    partner = create_tenant(
        uow,
        NewTenant(
            TenantKind.PARTNER, distributor.id, request.name, request.email, request.country,
            request.data_center.value, request.contact_name, request.address, request.phone,
            request.default_subscription or DefaultSubscription(distributor.default_subscription),
        ),
        _utc(now),
        users=users,
    )
    assert partner.code is not None and partner.email is not None
    uow.emit(
        TenancyEvent.PARTNER_CREATED,
        PartnerCreated(
            partner_id=partner.id, parent_id=distributor.id, name=partner.name, email=partner.email,
            contact_name=partner.contact_name, partner_code=partner.code, country=request.country,
            data_center=request.data_center,
        ).to_wire(),
        tenant_id=distributor.id,
    )
    uow.commit()
    return profile_view(partner)


def get_partner(uow: UnitOfWork, ctx: CallContext, partner_id: uuid.UUID) -> TenantProfile:
    scope = authorise(uow, ctx)
    return profile_view(visible_tenant(uow, scope, partner_id, TenantKind.PARTNER, what="partner"))


def update_partner(uow: UnitOfWork, ctx: CallContext, partner_id: uuid.UUID, update: TenantProfileUpdate,
                   now: datetime | None = None) -> TenantProfile:
    scope = authorise(uow, ctx, ADD_ACCOUNTS)
    partner = visible_tenant(uow, scope, partner_id, TenantKind.PARTNER, what="partner")
    return change_profile(uow, scope, partner, update, TenancyEvent.PARTNER_UPDATED, partner.parent_id, _utc(now))


# ---- the partner list (dashboard rows) -----------------------------------------------------------------------


def _rollups(scope: Scope) -> Any:
    """Per owner: accounts, tasks, size, seats, failed and partially failed accounts, and
    billing's sums (what is owed, how many accounts owe).

    The maintained roll-ups, or, for a user limited to some accounts, the same figures
    over those accounts only (the others do not exist for it). A removed account counts
    nowhere but in what is owed, as long as it owes.
    """
    accessible = scope.account_filter()
    if accessible is None:
        return sa.select(
            OwnerRollup.owner_id, OwnerRollup.accounts, OwnerRollup.tasks, OwnerRollup.size_bytes,
            OwnerRollup.seats, OwnerRollup.backup_failed, OwnerRollup.backup_partially_failed,
            OwnerRollup.billing_owed, OwnerRollup.billing_owing, OwnerRollup.billing_currency,
        ).subquery("rollup")

    live = Account.status != Lifecycle.REMOVED.value

    def live_sum(value: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((live, value), else_=0)), 0)

    return (
        sa.select(
            Account.owner_id.label("owner_id"),
            live_sum(1).label("accounts"),
            live_sum(Account.tasks).label("tasks"),
            live_sum(Account.size_bytes).label("size_bytes"),
            live_sum(Account.seats).label("seats"),
            live_sum(sa.case((Account.backup_status == "failed", 1), else_=0)).label("backup_failed"),
            live_sum(sa.case((Account.backup_status == "partially_failed", 1), else_=0)).label(
                "backup_partially_failed"),
            sa.func.coalesce(sa.func.sum(Account.billing_amount_due), 0).label("billing_owed"),
            sa.func.sum(sa.case((Account.billing_overdue_from.is_not(None), 1), else_=0)).label("billing_owing"),
            sa.func.max(Account.billing_currency).label("billing_currency"),
        )
        .where(accessible)
        .group_by(Account.owner_id)
        .subquery("rollup")
    )


def _row_query(rollup: Any, outer: bool = False) -> tuple[sa.Select[Any], sa.ColumnElement[str]]:
    """Dashboard rows over ``rollup``, and the task status expression (to filter on).
    ``outer``: a tenant without a roll-up row in reach still answers (its columns null)."""
    status = task_status_case(rollup.c.accounts, rollup.c.tasks, rollup.c.backup_failed,
                              rollup.c.backup_partially_failed)
    query = sa.select(
        Tenant.id, Tenant.name, Tenant.email, Tenant.code,
        rollup.c.size_bytes, rollup.c.seats, rollup.c.accounts, status.label("task_status"),
        rollup.c.billing_owed, rollup.c.billing_owing, rollup.c.billing_currency,
    ).join(rollup, rollup.c.owner_id == Tenant.id, isouter=outer)
    return query, status


def _partner_row(row: Any, name: str | None = None) -> PartnerRow:
    return PartnerRow(
        id=row.id, name=name or row.name, email=row.email, partner_code=row.code,
        size_bytes=int(row.size_bytes or 0), seats=int(row.seats or 0), accounts=int(row.accounts or 0),
        task_status=TaskStatus(row.task_status), amount_owed=Decimal(row.billing_owed or 0).quantize(CENT),
        currency=row.billing_currency, billing_status=owner_status(int(row.billing_owing or 0)),
    )


@dataclass(frozen=True)
class _KeptCounts:
    """Counts kept on a distributor's roll-up as partners are created and start or stop owing."""

    partners: int
    owing: int

    def total_for(self, query: PartnerListQuery) -> int | None:
        """The number of partners matching ``query``, when the kept counts say it alone."""
        if query.search or query.task_status is not None or query.ids is not None:
            return None
        if query.billing_status is RollupStatus.WITH_EXCEPTIONS:
            return self.owing
        if query.billing_status is RollupStatus.ON_TRACK:
            return self.partners - self.owing
        return self.partners


def _distributor_row(uow: UnitOfWork, rollup: Any, distributor: Tenant) -> tuple[PartnerRow, _KeptCounts]:
    """The Direct Accounts row and the distributor's kept partner counts, in one read.

    The counts spare a page the count of its subtree ("N of M", and the total of the
    billing-status filter). A caller who may see the distributor sees its whole subtree:
    the caller's scope does not narrow them."""
    query, _ = _row_query(rollup, outer=True)
    row = uow.session.execute(
        query.add_columns(OwnerRollup.partners_below, OwnerRollup.partners_owing_below)
        .join(OwnerRollup, OwnerRollup.owner_id == Tenant.id).where(Tenant.id == distributor.id)).one()
    kept = _KeptCounts(int(row.partners_below), int(row.partners_owing_below))
    if row.accounts is None:  # a limited user with no direct account in reach
        empty = PartnerRow(id=distributor.id, name=DIRECT_ACCOUNTS, email=distributor.email, size_bytes=0, seats=0,
                           accounts=0, task_status=TaskStatus.NO_ACCOUNTS_YET)
        return empty, kept
    return _partner_row(row, DIRECT_ACCOUNTS).model_copy(update={"partner_code": None}), kept


def direct_row_matches(row: PartnerRow, query: PartnerListQuery) -> bool:
    """The Direct Accounts row follows the list's filters like a partner row: the search
    matches its name ("Direct Accounts", the name the dashboard shows; not the distributor's
    own email, which is no partner's), the task status its roll-up's status. ``ids`` names
    partners (billing's filter decides this row for itself)."""
    if query.search and not text_contains(query.search, row.name):
        return False
    if query.billing_status is not None and row.billing_status is not query.billing_status:
        return False
    return query.task_status is None or row.task_status is query.task_status


@dataclass(frozen=True)
class _PartnerListing:
    distributor: Tenant | None
    rollup: Any
    base: sa.Select[Any]  # every partner in the list (the M of "N of M")
    filtered: sa.Select[Any]  # those matching the search and filters
    status: Any  # the row's task status (an expression over the roll-up), to sort by
    # Every account is in reach: the roll-ups (and the counts kept with them) are the caller's.
    unrestricted: bool
    # What the search and scope ask of the tenant row alone (no roll-up column).
    tenant_conditions: tuple[sa.ColumnElement[bool], ...]


def _partner_listing(uow: UnitOfWork, ctx: CallContext, query: PartnerListQuery) -> _PartnerListing:
    scope = authorise(uow, ctx)
    distributor: Tenant | None = None
    if query.distributor_id is not None:
        distributor = visible_tenant(uow, scope, query.distributor_id, TenantKind.DISTRIBUTOR, what="distributor")
    elif scope.tenant is not None and scope.tenant.kind == TenantKind.DISTRIBUTOR:
        distributor = scope.tenant
    rollup = _rollups(scope)
    rows_query, status = _row_query(rollup)
    conditions = [Tenant.kind == TenantKind.PARTNER.value, scope.within()]
    if distributor is not None:
        # Its partners anywhere in its subtree, sub-distributors' included (docs/tenancy.md):
        # one prefix match on the indexed path.
        conditions.append(Tenant.path.like(distributor.path + "%"))
    base = rows_query.where(*conditions)
    in_list = len(conditions)
    if query.search:
        conditions.append(search_condition(query.search))
    if query.ids is not None:
        conditions.append(Tenant.id.in_(query.ids))
    filtered = rows_query.where(*conditions) if len(conditions) > in_list else base
    if query.task_status is not None:
        filtered = filtered.where(status == query.task_status.value)
    if query.billing_status is RollupStatus.WITH_EXCEPTIONS:
        filtered = filtered.where(rollup.c.billing_owing > 0)
    elif query.billing_status is RollupStatus.ON_TRACK:
        filtered = filtered.where(rollup.c.billing_owing == 0)
    return _PartnerListing(distributor, rollup, base, filtered, status, scope.account_filter() is None,
                           tuple(conditions))


def partner_ids(uow: UnitOfWork, ctx: CallContext, query: PartnerListQuery) -> IdList:
    """Every partner the list would show (search, filters, scope), unpaged: the candidates
    billing orders by amount for the dashboard."""
    listing = _partner_listing(uow, ctx, query)
    ids = list(uow.session.execute(sa.select(listing.filtered.order_by(None).subquery().c.id)).scalars())
    return IdList(ids=ids, total=len(ids))


def _by_name_alone(listing: _PartnerListing, query: PartnerListQuery) -> bool:
    """Matches and order need the tenant row alone (a search, in name order)."""
    return (listing.unrestricted and query.task_status is None and query.billing_status is None
            and query.sort in ("name", "-name"))


def _tenants_first_page(session: Any, listing: _PartnerListing, query: PartnerListQuery,
                        order: tuple[Any, ...]) -> tuple[list[Any], int]:
    """A page of the matching partners found and counted on their tenant rows alone, then
    joined to the page's roll-ups: a search's cost follows its matches, not the tree's
    roll-ups (every partner has a roll-up row, so the join keeps every match).

    The matches are counted before they are ordered (no ``ORDER BY`` inside): the search
    index finds them, where a walk in name order would read every partner to count."""
    matches = (sa.select(Tenant.id.label("page_id"), sa.func.lower(Tenant.name).label("sort_name"),
                         sa.func.count().over().label("_total"))
               .where(*listing.tenant_conditions).subquery("matches"))
    descending = query.sort == "-name"
    in_order = (matches.c.sort_name.desc(), matches.c.page_id.desc()) if descending else \
        (matches.c.sort_name, matches.c.page_id)
    page = (sa.select(matches.c.page_id, matches.c._total).order_by(*in_order)
            .offset((query.page - 1) * query.page_size).limit(query.page_size).subquery("page"))
    rows_query, _ = _row_query(listing.rollup)
    rows = list(session.execute(rows_query.add_columns(page.c._total).join(page, page.c.page_id == Tenant.id)
                                .order_by(*order)).all())
    if rows:
        return rows, int(rows[0]._total)
    return rows, 0 if query.page == 1 else count(session, listing.filtered)


def list_partners(uow: UnitOfWork, ctx: CallContext, query: PartnerListQuery) -> PartnerPage:
    """The partners of a distributor (default: the caller's) anywhere below it, with its
    Direct Accounts row beside the page when that row matches the search and task status.

    Operators without a distributor get every partner; a partner user sees its own row.
    """
    listing = _partner_listing(uow, ctx, query)
    session, rollup, distributor, filtered = uow.session, listing.rollup, listing.distributor, listing.filtered
    direct: PartnerRow | None = None
    known_total: int | None = None  # the matching partners, when known without a count
    if distributor is not None:
        direct, kept = _distributor_row(uow, rollup, distributor)
    if distributor is not None and listing.unrestricted:
        total_partners, known_total = kept.partners, kept.total_for(query)
    else:  # a user limited to some accounts sees the partners of those (counted)
        total_partners = count(session, listing.base)
    if filtered is listing.base:
        known_total = total_partners
    order = {
        "name": (sa.func.lower(Tenant.name), Tenant.id),
        "-name": (sa.func.lower(Tenant.name).desc(), Tenant.id.desc()),
        "size": (rollup.c.size_bytes, Tenant.id),
        "-size": (rollup.c.size_bytes.desc(), Tenant.id.desc()),
        "status": (listing.status, sa.func.lower(Tenant.name), Tenant.id),
        "-status": (listing.status.desc(), sa.func.lower(Tenant.name), Tenant.id),
        # Amount first, then name A to Z whichever way the amount goes (billing's order).
        "amount": (rollup.c.billing_owed, sa.func.lower(Tenant.name), Tenant.id),
        "-amount": (rollup.c.billing_owed.desc(), sa.func.lower(Tenant.name), Tenant.id),
    }[query.sort]
    if known_total is not None:  # the whole list, or a billing status whose count is kept
        offset = (query.page - 1) * query.page_size
        rows = list(session.execute(filtered.order_by(*order).offset(offset).limit(query.page_size)).all())
        total = known_total
    elif _by_name_alone(listing, query):
        rows, total = _tenants_first_page(session, listing, query, order)
    else:
        rows, total = page_of(session, filtered.order_by(*order), query.page, query.page_size)
    return PartnerPage(
        items=[_partner_row(row) for row in rows],
        page=query.page,
        page_size=query.page_size,
        total=total,
        total_partners=total_partners,
        direct=direct if direct is not None and direct_row_matches(direct, query) else None,
    )


# ---- distributors (operators) ---------------------------------------------------------------------------------


def create_distributor(uow: UnitOfWork, ctx: CallContext, request: DistributorCreateRequest,
                       now: datetime | None = None) -> TenantProfile:
    require_operator(uow, ctx)
    distributor = create_tenant(
        uow,
        NewTenant(
            TenantKind.DISTRIBUTOR, request.parent_id or OPERATOR_TENANT_ID, request.name, request.email,
            request.country, request.data_center.value, request.contact_name, request.address, request.phone,
            request.default_subscription,
        ),
        _utc(now),
    )
    uow.commit()
    return profile_view(distributor)


def delete_distributor(uow: UnitOfWork, ctx: CallContext, distributor_id: uuid.UUID) -> None:
    """Undo a distributor that has nothing under it yet (the gateway's compensation)."""
    scope = require_operator(uow, ctx)
    distributor = visible_tenant(uow, scope, distributor_id, TenantKind.DISTRIBUTOR, what="distributor")
    session = uow.session
    if session.execute(sa.select(Tenant.id).where(Tenant.parent_id == distributor.id).limit(1)).first():
        raise Conflict("the distributor has partners or accounts; it cannot be deleted")
    session.execute(sa.delete(OwnerRollup).where(OwnerRollup.owner_id == distributor.id))
    session.delete(distributor)
    uow.emit(
        TenancyEvent.TENANT_DELETED,
        TenantDeleted(tenant_id=distributor.id, kind=distributor.kind, name=distributor.name).to_wire(),
        tenant_id=distributor.parent_id,
    )
    uow.commit()
