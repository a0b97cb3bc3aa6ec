"""Billing's facts on tenancy's rows (account_billing_changed): the lists filter and sort by
billing status and amount in one query; late, repeated and replayed announcements end in the
same columns (SQLite; USECASE_DB=postgres for PostgreSQL)."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from contracts.billing import AccountBillingChanged
from contracts.envelope import EventEnvelope
from contracts.tenancy import AccountListQuery, PartnerListQuery
from services.tenancy.adapters.models import Account, OwnerRollup
from services.tenancy.adapters.rows import billing_facts_of, billing_status_case
from services.tenancy.usecases import accounts, billing_projection, partner_list
from tests.usecases.tenancy_world import NOW, World, build_world, user_of

DUE_DATE = NOW.date() + timedelta(days=10)


@pytest.fixture
def world(tenancy_db) -> World:
    return build_world(tenancy_db)


def announce(world: World, account_id: uuid.UUID, version: int, owed: str, due: date | None, bills: int = 1,
             as_message: bool = False) -> bool:
    event = AccountBillingChanged(account_id=account_id, distributor_id=world.distributor.id, version=version,
                                  bills=bills, amount_due=Decimal(owed), currency="USD",
                                  overdue_from=due + timedelta(days=1) if due else None)
    uow = world.db.unit_of_work()
    if as_message:
        envelope = EventEnvelope(type="account_billing_changed", source="billing", payload=event.to_wire())
        return billing_projection.record_account_billing_message(uow, envelope.to_wire())
    return billing_projection.record_account_billing(uow, event)


def dashboard(world: World, caller=None, **query):
    uow = world.uow(caller)
    return partner_list.list_partners(uow, uow.context, PartnerListQuery(**query))


def drill_down(world: World, now=NOW, **query):
    uow = world.uow()
    return accounts.list_accounts(uow, uow.context, AccountListQuery(**query), now=now)


@pytest.fixture
def billed(world: World) -> dict[str, uuid.UUID]:
    """Contoso: Alpine owes 45 (due in 10 days), Birch paid; Fabrikam: Cedar owes 120 (overdue);
    Northwind: nothing billed; a direct account owes 7.50."""
    contoso, fabrikam, _ = (world.add_partner(n) for n in ("Contoso", "Fabrikam", "Northwind"))
    ids = {"contoso": contoso.id, "fabrikam": fabrikam.id}
    for name, owner in (("Alpine", contoso), ("Birch", contoso), ("Cedar", fabrikam), ("Direct", None)):
        ids[name.lower()] = world.add_account(name, owner).id
    announce(world, ids["alpine"], 1, "45.00", DUE_DATE)
    announce(world, ids["birch"], 1, "30.00", DUE_DATE)
    announce(world, ids["birch"], 2, "0.00", None)
    announce(world, ids["cedar"], 1, "120.00", NOW.date() - timedelta(days=3))
    announce(world, ids["direct"], 1, "7.50", DUE_DATE, as_message=True)
    return ids


def columns(world: World) -> tuple[list, list]:
    with world.db.engine.connect() as connection:
        account_rows = connection.execute(sa.select(
            Account.id, Account.billing_version, Account.billing_bills, Account.billing_amount_due,
            Account.billing_currency, Account.billing_overdue_from).order_by(Account.id)).all()
        owner_rows = connection.execute(sa.select(
            OwnerRollup.owner_id, OwnerRollup.billing_owed, OwnerRollup.billing_owing,
            OwnerRollup.billing_currency, OwnerRollup.partners_owing_below).order_by(OwnerRollup.owner_id)).all()
    return account_rows, owner_rows


def test_partner_rows_carry_what_their_accounts_owe_and_whether_any_does(world, billed):
    page = dashboard(world)

    assert {(r.name, r.amount_owed, r.billing_status.value, r.currency) for r in page.items} == {
        ("Contoso", Decimal("45.00"), "with_exceptions", "USD"), ("Fabrikam", Decimal("120.00"), "with_exceptions", "USD"),
        ("Northwind", Decimal("0.00"), "on_track", None)}
    assert (page.direct.amount_owed, page.direct.billing_status.value) == (Decimal("7.50"), "with_exceptions")


def test_the_dashboard_filters_and_sorts_by_billing_in_its_own_query(world, billed):
    on_track = dashboard(world, billing_status="on_track")
    by_amount = dashboard(world, sort="-amount")
    ascending = dashboard(world, sort="amount", page_size=1, page=2)

    assert [r.name for r in on_track.items] == ["Northwind"] and on_track.direct is None
    assert [r.name for r in by_amount.items] == ["Fabrikam", "Contoso", "Northwind"]
    assert [r.name for r in ascending.items] == ["Contoso"] and ascending.total == 3


def test_a_limited_user_sees_only_what_its_own_accounts_owe(world, billed):
    limited = user_of(world.distributor, "view_dashboard", accessible=[billed["birch"], billed["cedar"]])

    page = dashboard(world, limited)

    owed = {r.name: (r.amount_owed, r.billing_status.value) for r in page.items}
    assert owed["Contoso"] == (Decimal("0.00"), "on_track")
    assert owed["Fabrikam"] == (Decimal("120.00"), "with_exceptions")


def test_the_billing_status_totals_are_kept_as_partners_start_and_stop_owing(world, billed):
    def totals() -> tuple[int, int, int]:
        owing, on_track = dashboard(world, billing_status="with_exceptions"), dashboard(world, billing_status="on_track")
        kept = world.uow().session.get(OwnerRollup, world.distributor.id)
        return owing.total, on_track.total, kept.partners_owing_below

    before = totals()
    announce(world, billed["cedar"], 2, "0.00", None)  # Fabrikam's only debt is paid
    paid = totals()
    announce(world, billed["cedar"], 3, "60.00", DUE_DATE)  # and it owes again
    owing_again = totals()

    assert (before, paid, owing_again) == ((2, 1, 2), (1, 2, 1), (2, 1, 2))


def test_a_limited_user_counts_only_the_partners_of_its_own_accounts(world, billed):
    limited = user_of(world.distributor, "view_dashboard", accessible=[billed["birch"], billed["cedar"]])

    everything, owing = dashboard(world, limited), dashboard(world, limited, billing_status="with_exceptions")

    assert (everything.total, everything.total_partners) == (2, 2)  # Contoso and Fabrikam, not Northwind
    assert ([r.name for r in owing.items], owing.total) == (["Fabrikam"], 1)


def test_an_account_list_filters_by_billing_status_read_on_the_day_and_sorts_by_amount(world, billed):
    contoso = billed["contoso"]

    due = drill_down(world, partner_id=contoso, billing_status="due")
    overdue_later = drill_down(world, partner_id=contoso, billing_status="overdue", now=NOW + timedelta(days=11))
    current = drill_down(world, partner_id=contoso, billing_status="current")
    by_amount = drill_down(world, partner_id=contoso, sort="-amount")

    assert [(a.name, a.billing_status.value, a.amount_due) for a in due.items] == [("Alpine", "due", Decimal("45.00"))]
    assert [a.name for a in overdue_later.items] == ["Alpine"]
    assert [a.name for a in current.items] == ["Birch"]
    assert [a.name for a in by_amount.items] == ["Alpine", "Birch"]
    assert drill_down(world, partner_id=billed["fabrikam"], billing_status="overdue").total == 1


def test_the_sql_status_agrees_with_the_domain_rule_on_every_day_around_the_due_date(world, billed):
    for offset in range(-2, 14):
        day = NOW.date() + timedelta(days=offset)
        with world.db.engine.connect() as connection:
            in_sql = dict(connection.execute(sa.select(Account.id, billing_status_case(day))).all())
        session = world.db.unit_of_work().session
        in_python = {a.id: billing_facts_of(a).status_on(day).value for a in session.scalars(sa.select(Account))}
        session.close()
        assert in_sql == in_python, day


def test_a_late_or_repeated_announcement_changes_nothing(world, billed):
    before = columns(world)

    assert announce(world, billed["birch"], 1, "30.00", DUE_DATE) is False  # late
    assert announce(world, billed["alpine"], 1, "45.00", DUE_DATE) is False  # repeated

    assert columns(world) == before
    assert dashboard(world, billing_status="on_track").items[0].name == "Northwind"


def test_a_replay_from_empty_in_any_order_with_repeats_reproduces_the_same_columns(world, billed):
    before = columns(world)
    stream = [(billed["alpine"], 1, "45.00", DUE_DATE), (billed["birch"], 1, "30.00", DUE_DATE),
              (billed["birch"], 2, "0.00", None), (billed["cedar"], 1, "120.00", NOW.date() - timedelta(days=3)),
              (billed["direct"], 1, "7.50", DUE_DATE)]
    stream += stream[:3]
    random.Random(3).shuffle(stream)
    with world.db.engine.begin() as connection:
        connection.execute(sa.update(Account).values(billing_version=0, billing_bills=0, billing_amount_due=0,
                                                     billing_currency=None, billing_overdue_from=None))
        connection.execute(sa.update(OwnerRollup).values(billing_owed=0, billing_owing=0, billing_currency=None,
                                                         partners_owing_below=0))

    for account_id, version, owed, due in stream:
        announce(world, account_id, version, owed, due)

    assert columns(world) == before


def test_facts_of_an_unknown_account_or_a_malformed_message_are_dropped(world, billed):
    before = columns(world)

    assert announce(world, uuid.uuid4(), 1, "5.00", DUE_DATE) is False
    assert billing_projection.record_account_billing_message(world.db.unit_of_work(), {"payload": {}}) is False

    assert columns(world) == before
