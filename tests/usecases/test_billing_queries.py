"""Billing's side of the composed dashboard and drill-downs: ordering by amount, the amounts
of a page, and the caller's scope (real use cases, SQLite)."""
# ruff: noqa: F811  (the fixtures of test_billing_runs are imported, then requested by name)

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from contracts.billing import AccountAmountRequest, HistoryQuery, OwnerPageRequest, RollupQuery, StatusQuery
from contracts.tenancy import BackupService, Plan
from services.billing.usecases import queries
from services.billing.usecases.access import billing_scope
from tests.support import billing_simulation as simulate
from tests.usecases.test_billing_runs import (  # noqa: F401  (fixtures)
    BOOK,
    Tree,
    billing_db,
    feed,
    november_of_a_small_distributor,
    processor,
    run,
    tree,
)

ON_TIME, LATE = date(2026, 12, 10), date(2027, 1, 1)


def owner_page(tree: Tree, today: date = ON_TIME, scope=None, **request):
    return queries.owner_page(tree.db.unit_of_work(), scope or tree.scope(), OwnerPageRequest(**request), today)


def amounts(tree: Tree, today: date = ON_TIME, scope=None, **request):
    return queries.account_amounts(tree.db.unit_of_work(), scope or tree.scope(), AccountAmountRequest(**request),
                                   today)


def billed(tree: Tree, billing_db, processor) -> dict[str, uuid.UUID]:
    ids = november_of_a_small_distributor(tree)
    run(billing_db, processor)
    return ids


def test_partners_are_ordered_by_what_they_owe_and_one_billing_never_heard_of_owes_nothing(
        billing_db, tree, processor):
    billed(tree, billing_db, processor)
    quiet = uuid.uuid4()  # tenancy's partner, its tenant_created not projected yet
    feed(billing_db, simulate.tenant_created(second := uuid.uuid4(), tree.distributor, "partner", "Aardvark IT"))

    most = owner_page(tree, ids=[quiet, tree.partner, second], sort="-amount")
    least = owner_page(tree, ids=[quiet, tree.partner, second], sort="amount", page_size=1)

    assert [(r.owner_id, r.amount_owed) for r in most.items] == [
        (tree.partner, Decimal("53.75")), (second, Decimal("0.00")), (quiet, Decimal("0.00"))]  # ties: by name,
    # a partner whose name billing has not learnt last
    assert most.total == 3 and most.direct is not None and most.direct.amount_owed == Decimal("0.68")
    assert [r.owner_id for r in least.items] == [second] and least.total == 3


def test_another_distributors_partner_is_never_a_candidate(billing_db, tree, processor):
    billed(tree, billing_db, processor)
    theirs = uuid.uuid4()
    feed(billing_db, simulate.tenant_created(theirs, uuid.uuid4(), "partner", "Someone Else's"))

    page = owner_page(tree, ids=[tree.partner, theirs])

    assert [r.owner_id for r in page.items] == [tree.partner] and page.total == 1


def test_a_billing_status_filter_and_the_amount_order_come_in_one_answer(billing_db, tree, processor):
    billed(tree, billing_db, processor)
    quiet = uuid.uuid4()

    exceptions = owner_page(tree, LATE, ids=[tree.partner, quiet], owner_status="with_exceptions")
    on_track = owner_page(tree, LATE, ids=[tree.partner, quiet], owner_status="on_track")

    assert [r.owner_id for r in exceptions.items] == [tree.partner] and exceptions.direct is not None
    assert [r.owner_id for r in on_track.items] == [quiet] and on_track.direct is None


def test_accounts_are_ordered_by_amount_due_and_paged(billing_db, tree, processor):
    ids = billed(tree, billing_db, processor)
    unknown = uuid.uuid4()
    candidates = [ids["trial"], ids["dune"], unknown, ids["alpine"], ids["birch"]]

    first = amounts(tree, ids=candidates, sort="-amount", page_size=2)
    second = amounts(tree, ids=candidates, sort="-amount", page=2, page_size=2)
    overdue = amounts(tree, LATE, ids=candidates, sort="-amount", account_status="overdue")

    assert [(r.account_id, r.amount_due) for r in first.items] == [(ids["alpine"], Decimal("45.00")),
                                                                    (ids["birch"], Decimal("8.75"))]
    assert [r.account_id for r in second.items] == [ids["dune"], ids["trial"]] and second.total == 5
    assert [r.account_id for r in overdue.items] == [ids["alpine"], ids["birch"], ids["dune"]]


def test_the_amounts_of_a_page_include_accounts_billing_has_not_billed_or_heard_of(billing_db, tree, processor):
    ids = billed(tree, billing_db, processor)
    unknown = uuid.uuid4()

    page = amounts(tree, ids=[ids["alpine"], ids["trial"], unknown])

    by_id = {r.account_id: (r.billing_status.value, r.amount_due, r.currency) for r in page.items}
    assert by_id == {ids["alpine"]: ("due", Decimal("45.00"), "USD"), ids["trial"]: ("none", Decimal("0.00"), "USD"),
                     unknown: ("none", Decimal("0.00"), "USD")}


def test_a_user_limited_to_some_accounts_gets_their_amounts_only_in_rows_and_roll_ups(billing_db, tree, processor):
    ids = billed(tree, billing_db, processor)
    limited = billing_scope(tree.caller(accessible_accounts=[ids["alpine"]]))

    page = amounts(tree, scope=limited, ids=[ids["alpine"], ids["birch"]], sort="-amount")
    rollups = queries.rollups(billing_db.unit_of_work(), limited, RollupQuery(owner_ids=[tree.partner]), ON_TIME)
    owners = owner_page(tree, scope=limited, ids=[tree.partner])

    assert [r.account_id for r in page.items] == [ids["alpine"]] and page.total == 1
    assert rollups.items[0].amount_owed == Decimal("45.00")  # not Birch's 8.75
    assert owners.items[0].amount_owed == Decimal("45.00")
    assert owners.direct is not None and owners.direct.amount_owed == Decimal("0.00")


def test_another_distributors_accounts_get_no_row(billing_db, tree, processor):
    ids = billed(tree, billing_db, processor)
    other = Tree(billing_db)
    theirs = other.account("Theirs", None, None, {}, [])

    page = amounts(tree, ids=[ids["alpine"], theirs])

    assert [r.account_id for r in page.items] == [ids["alpine"]]


def status_names(tree: Tree, today: date, sort: str, **query) -> list[str]:
    page = queries.account_status_page(tree.db.unit_of_work(), tree.scope(), StatusQuery(sort=sort, **query), BOOK,
                                       today)
    return [row.account_name for row in page.items]


def test_billing_status_sorts_by_name_status_and_amount_due_with_the_name_breaking_ties(billing_db, tree, processor):
    billed(tree, billing_db, processor)

    assert status_names(tree, ON_TIME, "name") == ["Alpine Dental", "Birch Legal", "Dune Studio", "Elm Trial"]
    assert status_names(tree, ON_TIME, "-name") == ["Elm Trial", "Dune Studio", "Birch Legal", "Alpine Dental"]
    # 45.00, 8.75, 0.68 and the trial's nothing
    assert status_names(tree, ON_TIME, "-amount") == ["Alpine Dental", "Birch Legal", "Dune Studio", "Elm Trial"]
    assert status_names(tree, ON_TIME, "amount", page_size=1, page=4) == ["Alpine Dental"]
    # None (the trial) before Due; the three Due bills by name, either way round
    assert status_names(tree, ON_TIME, "status") == ["Elm Trial", "Alpine Dental", "Birch Legal", "Dune Studio"]
    assert status_names(tree, ON_TIME, "-status") == ["Alpine Dental", "Birch Legal", "Dune Studio", "Elm Trial"]


def test_billing_history_sorts_by_issue_date_due_date_and_amount(billing_db, tree, processor):
    november_of_a_small_distributor(tree)
    run(billing_db, processor)
    tree.account("Laurel", Plan.ANNUAL, date(2026, 12, 3), {BackupService.GMAIL: 2}, [date(2026, 12, 3)])
    run(billing_db, processor, as_of=date(2026, 12, 3))

    def references(sort: str) -> list[str]:
        page = queries.history(billing_db.unit_of_work(), tree.scope(), HistoryQuery(sort=sort))
        return [row.reference for row in page.items]

    assert references("-date") == ["INV-2026-000002", "INV-2026-000001"]
    assert references("date") == ["INV-2026-000001", "INV-2026-000002"]
    assert references("-amount") == ["INV-2026-000001", "INV-2026-000002"]  # 54.43 before 54.00
    assert references("amount") == ["INV-2026-000002", "INV-2026-000001"]
