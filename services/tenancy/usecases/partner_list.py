"""The dashboard's partner list: a page of partner rows beside the Direct Accounts row.

Every filter and sort is one indexed read of tenancy's rows and the roll-ups kept beside
them, billing's facts included (decision 0016). The statements are built once per *shape*
of query (which filters are given, which sort) with their values bound at execution:
building a SQLAlchemy statement and computing its cache key cost a page more CPU than
PostgreSQL spent answering it (decision 0019). A user limited to some accounts is the
exception: its roll-ups are summed over its own accounts, built per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from contracts.billing import RollupStatus
from contracts.tenancy import IdList, PartnerListQuery, PartnerPage, PartnerRow, TaskStatus
from contracts.vocabulary import TenantKind
from servicekit.context import CallContext
from servicekit.db import UnitOfWork
from servicekit.text_search import like_pattern, text_contains
from services.tenancy.adapters.listing import search_matches
from services.tenancy.adapters.models import Account, OwnerRollup, Tenant
from services.tenancy.adapters.rows import task_status_case
from services.tenancy.domain.account_lifecycle import Lifecycle
from services.tenancy.domain.billing_facts import CENT, owner_status
from services.tenancy.usecases.access import Scope, TenantRef, scope_and_tenant_row, visible_tenant

DIRECT_ACCOUNTS = "Direct Accounts"

# ---- the roll-ups and rows ------------------------------------------------------------------------------------


@cache
def _maintained_rollups() -> Any:
    """The maintained roll-ups as a subquery (every caller's but a user limited to some accounts)."""
    return sa.select(
        OwnerRollup.owner_id, OwnerRollup.accounts, OwnerRollup.tasks, OwnerRollup.size_bytes,
        OwnerRollup.seats, OwnerRollup.backup_failed, OwnerRollup.backup_partially_failed,
        OwnerRollup.billing_owed, OwnerRollup.billing_owing, OwnerRollup.billing_currency,
        OwnerRollup.kind, OwnerRollup.path,
    ).subquery("rollup")


def _rollups(scope: Scope) -> Any:
    """Per owner: accounts, tasks, size, seats, failed and partially failed accounts, and
    billing's sums (what is owed, how many accounts owe).

    The maintained roll-ups, or, for a user limited to some accounts, the same figures
    over those accounts only (the others do not exist for it). A removed account counts
    nowhere but in what is owed, as long as it owes.
    """
    accessible = scope.account_filter()
    if accessible is None:
        return _maintained_rollups()

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


def _task_status(rollup: Any) -> sa.ColumnElement[str]:
    return task_status_case(rollup.c.accounts, rollup.c.tasks, rollup.c.backup_failed,
                            rollup.c.backup_partially_failed)


def _row_query(rollup: Any, outer: bool = False) -> sa.Select[Any]:
    """Dashboard rows over ``rollup``. ``outer``: a tenant without a roll-up row in reach
    still answers (its columns null)."""
    return sa.select(
        Tenant.id, Tenant.name, Tenant.email, Tenant.code,
        rollup.c.size_bytes, rollup.c.seats, rollup.c.accounts, _task_status(rollup).label("task_status"),
        rollup.c.billing_owed, rollup.c.billing_owing, rollup.c.billing_currency,
    ).join(rollup, rollup.c.owner_id == Tenant.id, isouter=outer)


def _partner_row(row: Any, name: str | None = None) -> PartnerRow:
    return PartnerRow(
        id=row.id, name=name or row.name, email=row.email, partner_code=row.code,
        size_bytes=int(row.size_bytes or 0), seats=int(row.seats or 0), accounts=int(row.accounts or 0),
        task_status=TaskStatus(row.task_status), amount_owed=Decimal(row.billing_owed or 0).quantize(CENT),
        currency=row.billing_currency, billing_status=owner_status(int(row.billing_owing or 0)),
    )


# ---- the Direct Accounts row and the kept counts ----------------------------------------------------------------


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


def _direct_row_query(rollup: Any) -> sa.Select[Any]:
    """A distributor's Direct Accounts row and kept counts, and its kind and path: read for
    the caller's own tenant, it is also the read that authorises the caller (whatever its
    kind: the roll-ups are joined outer)."""
    kept = aliased(OwnerRollup, name="kept")
    return (_row_query(rollup, outer=True)
            .add_columns(Tenant.kind, Tenant.path, kept.partners_below, kept.partners_owing_below)
            .join(kept, kept.owner_id == Tenant.id, isouter=True).where(Tenant.id == sa.bindparam("tenant_id")))


@cache
def _maintained_direct_row_query() -> sa.Select[Any]:
    return _direct_row_query(_maintained_rollups())


def _distributor_row(uow: UnitOfWork, rollup: Any, distributor: Tenant | TenantRef,
                     row: Any = None) -> tuple[PartnerRow, _KeptCounts]:
    """The Direct Accounts row and the distributor's kept partner counts, in one read
    (``row``: read already, with the caller's scope).

    The counts spare a page the count of its subtree ("N of M", and the total of the
    billing-status filter). A caller who may see the distributor sees its whole subtree:
    the caller's scope does not narrow them."""
    if row is None:
        query = _maintained_direct_row_query() if rollup is _maintained_rollups() else _direct_row_query(rollup)
        row = uow.session.execute(query, {"tenant_id": distributor.id}).one()
    kept = _KeptCounts(int(row.partners_below), int(row.partners_owing_below))
    if row.accounts is None:  # a limited user with no direct account in reach
        empty = PartnerRow(id=distributor.id, name=DIRECT_ACCOUNTS, email=row.email, size_bytes=0, seats=0,
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


# ---- the statements of a shape -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """What decides a list statement's text; the values themselves are bound (:func:`_values`)."""

    under_distributor: bool
    search: bool
    ids: bool
    task_status: bool
    billing_status: RollupStatus | None
    sort: str

    @classmethod
    def of(cls, query: PartnerListQuery, under_distributor: bool) -> _Shape:
        return cls(under_distributor, bool(query.search), query.ids is not None, query.task_status is not None,
                   query.billing_status, query.sort)

    @property
    def filtered(self) -> bool:
        """Some partners of the list may not match."""
        return self.search or self.ids or self.task_status or self.billing_status is not None


def _values(scope: Scope, distributor: Tenant | TenantRef | None, query: PartnerListQuery) -> dict[str, Any]:
    values: dict[str, Any] = {"offset": (query.page - 1) * query.page_size, "limit": query.page_size}
    if distributor is not None:
        values["under"] = distributor.path + "%"
    else:
        values["within"] = scope.path + "%"
    if query.search:
        values["pattern"] = like_pattern(query.search)
    if query.ids is not None:
        values["ids"] = list(query.ids)
    if query.task_status is not None:
        values["task_status"] = query.task_status.value
    return values


class _Statements:
    """The statements of one shape over one set of roll-ups, each built when first asked for."""

    def __init__(self, rollup: Any, shape: _Shape) -> None:
        self.rollup, self.shape = rollup, shape
        maintained = rollup is _maintained_rollups()
        # Sorted by a roll-up column, the owners are found on their roll-up rows (migration
        # 0008), joined to their tenant rows; otherwise on the tenant rows, in name order.
        self.by_rollup = maintained and shape.sort.lstrip("-") in ("size", "amount")
        # Every partner has its maintained roll-up row (made with it), so joined outer the rows
        # are the same; and the planner knows it. Joined inner, PostgreSQL guesses that ~1 % of
        # the partners have a roll-up and sorts them all rather than walking the name index
        # for a page. Summed over a limited user's accounts, a partner without one drops out.
        self.outer = maintained and not self.by_rollup
        self.status = _task_status(rollup)
        owner = rollup.c if self.by_rollup else Tenant.__table__.c
        # A distributor's partners anywhere in its subtree, sub-distributors' included
        # (docs/tenancy.md), or else every partner in the caller's: one prefix match on the
        # indexed path. (A distributor the caller may name is within the caller's subtree.)
        # The prefix is written into the SQL, not sent beside it: against a parameter, the
        # plan PostgreSQL keeps for a prepared statement guesses that 0.5 % of the owners
        # match, and for a distributor holding them all it sorts them rather than walking.
        prefix: sa.BindParameter[str] = sa.bindparam("under" if shape.under_distributor else "within",
                                                     literal_execute=True)
        conditions = [owner.kind == TenantKind.PARTNER.value, owner.path.like(prefix)]
        self.base = _row_query(rollup, self.outer).where(*conditions)  # every partner in the list (the M of "N of M")
        if shape.search:
            conditions.append(search_matches(sa.bindparam("pattern")))
        if shape.ids:
            conditions.append(Tenant.id.in_(sa.bindparam("ids", expanding=True)))
        self.tenant_conditions = tuple(conditions)  # what the search and scope ask of the tenant row alone
        filtered = _row_query(rollup, self.outer).where(*conditions)
        if shape.task_status:
            filtered = filtered.where(self.status == sa.bindparam("task_status"))
        # coalesce: a partner without a roll-up row owes nothing; and the outer join stays
        # outer, with the planner's estimate of it (a bare comparison would make it inner).
        owing = sa.func.coalesce(rollup.c.billing_owing, 0)
        if shape.billing_status is RollupStatus.WITH_EXCEPTIONS:
            filtered = filtered.where(owing > 0)
        elif shape.billing_status is RollupStatus.ON_TRACK:
            filtered = filtered.where(owing == 0)
        self.filtered = filtered if shape.filtered else self.base  # those matching the search and filters

    @cached_property
    def order(self) -> tuple[Any, ...]:
        """The ``ORDER BY`` of the sort (ties broken by name, then id: a stable page)."""
        rollup, name = self.rollup, sa.func.lower(Tenant.name)
        match self.shape.sort:
            case "name":
                return name, Tenant.id
            case "-name":
                return name.desc(), Tenant.id.desc()
            case "size":
                return rollup.c.size_bytes, Tenant.id
            case "-size":
                return rollup.c.size_bytes.desc(), Tenant.id.desc()
            case "status":
                return self.status, name, Tenant.id
            case "-status":
                return self.status.desc(), name, Tenant.id
            # Amount first, then name A to Z whichever way the amount goes (billing's order).
            case "amount":
                return rollup.c.billing_owed, name, Tenant.id
            case "-amount":
                return rollup.c.billing_owed.desc(), name, Tenant.id
        raise ValueError(f"unknown sort {self.shape.sort!r}")  # PartnerListQuery admits only these

    def _paged(self, query: sa.Select[Any]) -> sa.Select[Any]:
        return query.offset(sa.bindparam("offset")).limit(sa.bindparam("limit"))

    @cached_property
    def page(self) -> sa.Select[Any]:
        """A page of the matches, their number known beforehand (the kept counts)."""
        return self._paged(self.filtered.order_by(*self.order))

    @cached_property
    def counted_page(self) -> sa.Select[Any]:
        """A page of the matches with their number (a window count), in one round trip."""
        return self._paged(self.filtered.add_columns(sa.func.count().over().label("_total")).order_by(*self.order))

    @cached_property
    def count_base(self) -> sa.Select[Any]:
        return sa.select(sa.func.count()).select_from(self.base.subquery())

    @cached_property
    def count_filtered(self) -> sa.Select[Any]:
        return sa.select(sa.func.count()).select_from(self.filtered.subquery())

    @cached_property
    def ids(self) -> sa.Select[Any]:
        return sa.select(self.filtered.subquery().c.id)

    @cached_property
    def tenants_first_page(self) -> sa.Select[Any]:
        """A page of the matching partners found and counted on their tenant rows alone, then
        joined to the page's roll-ups: a search's cost follows its matches, not the tree's
        roll-ups (every partner has a roll-up row, so the join keeps every match).

        The matches are counted before they are ordered (no ``ORDER BY`` inside): the search
        index finds them, where a walk in name order would read every partner to count."""
        matches = (sa.select(Tenant.id.label("page_id"), sa.func.lower(Tenant.name).label("sort_name"),
                             sa.func.count().over().label("_total"))
                   .where(*self.tenant_conditions).subquery("matches"))
        in_order = (matches.c.sort_name.desc(), matches.c.page_id.desc()) if self.shape.sort == "-name" else \
            (matches.c.sort_name, matches.c.page_id)
        page = self._paged(sa.select(matches.c.page_id, matches.c._total).order_by(*in_order)).subquery("page")
        return (_row_query(self.rollup, self.outer).add_columns(page.c._total).join(page, page.c.page_id == Tenant.id)
                .order_by(*self.order))


@lru_cache(maxsize=512)
def _maintained_statements(shape: _Shape) -> _Statements:
    return _Statements(_maintained_rollups(), shape)


@dataclass(frozen=True)
class _PartnerListing:
    distributor: Tenant | TenantRef | None
    statements: _Statements
    values: dict[str, Any]
    # Every account is in reach: the roll-ups (and the counts kept with them) are the caller's.
    unrestricted: bool
    # The distributor's Direct Accounts row and kept counts, when read with the caller's scope.
    direct_row: Any = None


def _partner_listing(uow: UnitOfWork, ctx: CallContext, query: PartnerListQuery) -> _PartnerListing:
    # The caller's own tenant is read with its Direct Accounts row: for a distributor's own
    # dashboard, the one read that authorises it is also the row beside the page.
    scope, own_row = scope_and_tenant_row(uow, ctx, _maintained_direct_row_query())
    unrestricted = scope.account_filter() is None
    distributor: Tenant | TenantRef | None = None
    direct_row = None
    if query.distributor_id is not None:
        distributor = visible_tenant(uow, scope, query.distributor_id, TenantKind.DISTRIBUTOR, what="distributor")
    elif scope.tenant is not None and scope.tenant.kind == TenantKind.DISTRIBUTOR:
        distributor = scope.tenant
        direct_row = own_row if unrestricted else None  # a limited user's is summed over its accounts
    shape = _Shape.of(query, distributor is not None)
    statements = _maintained_statements(shape) if unrestricted else _Statements(_rollups(scope), shape)
    return _PartnerListing(distributor, statements, _values(scope, distributor, query), unrestricted, direct_row)


# ---- the use cases -----------------------------------------------------------------------------------------------


def partner_ids(uow: UnitOfWork, ctx: CallContext, query: PartnerListQuery) -> IdList:
    """Every partner the list would show (search, filters, scope), unpaged: the candidates
    billing orders by amount for the dashboard."""
    uow.read_only()
    listing = _partner_listing(uow, ctx, query)
    ids = list(uow.session.execute(listing.statements.ids, listing.values).scalars())
    return IdList(ids=ids, total=len(ids))


def _by_name_alone(listing: _PartnerListing, query: PartnerListQuery) -> bool:
    """Matches and order need the tenant row alone (a search, in name order)."""
    return (listing.unrestricted and query.task_status is None and query.billing_status is None
            and query.sort in ("name", "-name"))


def list_partners(uow: UnitOfWork, ctx: CallContext, query: PartnerListQuery) -> PartnerPage:
    """The partners of a distributor (default: the caller's) anywhere below it, with its
    Direct Accounts row beside the page when that row matches the search and task status.

    Operators without a distributor get every partner; a partner user sees its own row.
    """
    uow.read_only()
    listing = _partner_listing(uow, ctx, query)
    session, statements, values, distributor = uow.session, listing.statements, listing.values, listing.distributor
    direct: PartnerRow | None = None
    known_total: int | None = None  # the matching partners, when known without a count
    if distributor is not None:
        direct, kept = _distributor_row(uow, statements.rollup, distributor, listing.direct_row)
    if distributor is not None and listing.unrestricted:
        total_partners, known_total = kept.partners, kept.total_for(query)
    else:  # a user limited to some accounts sees the partners of those (counted)
        total_partners = int(session.execute(statements.count_base, values).scalar_one())
    if not statements.shape.filtered:
        known_total = total_partners
    if known_total is not None:  # the whole list, or a billing status whose count is kept
        rows = list(session.execute(statements.page, values).all())
        total = known_total
    else:
        paged = statements.tenants_first_page if _by_name_alone(listing, query) else statements.counted_page
        rows = list(session.execute(paged, values).all())
        total = int(rows[0]._total) if rows else 0
        if not rows and query.page > 1:  # past the end: the window count had no row to ride on
            total = int(session.execute(statements.count_filtered, values).scalar_one())
    return PartnerPage(
        items=[_partner_row(row) for row in rows],
        page=query.page,
        page_size=query.page_size,
        total=total,
        total_partners=total_partners,
        direct=direct if direct is not None and direct_row_matches(direct, query) else None,
    )

