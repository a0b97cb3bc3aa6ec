"""Distributors, partners and the dashboard's partner list, on the real use cases (SQLite)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from contracts.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from contracts.tenancy import (
    AccountCreateRequest,
    AccountListQuery,
    DistributorCreateRequest,
    PartnerCreateRequest,
    PartnerListQuery,
    TenantProfileUpdate,
)
from services.tenancy.adapters.models import OwnerRollup, Tenant
from services.tenancy.usecases import accounts, partner_list, partners, profiles
from services.tenancy.usecases.access import authorise
from tests.usecases.tenancy_world import NOW, World, admin_of, build_world, operator, run, user_of


@pytest.fixture
def world(tenancy_db) -> World:
    return build_world(tenancy_db)


def list_partners(world: World, caller=None, **query):
    uow = world.uow(caller)
    return partner_list.list_partners(uow, uow.context, PartnerListQuery(**query))


def test_adding_a_partner_announces_it_for_identity_to_invite_its_administrator(world):
    partner = world.add_partner("Contoso IT", "Msp@Contoso.example", contact_name="Dana Lee")

    event = world.db.events("partner_created")[-1]
    assert event["tenant_id"] == str(world.distributor.id)
    assert event["payload"]["partner_id"] == str(partner.id)
    assert event["payload"]["email"] == "Msp@contoso.example"  # as given; the domain part is case-free
    assert event["payload"]["name"] == "Contoso IT"
    assert event["payload"]["contact_name"] == "Dana Lee"
    assert partner.partner_code and partner.partner_code.startswith("P-")


def test_a_partner_inherits_the_distributors_default_subscription_unless_given(tenancy_db):
    world = build_world(tenancy_db, default_subscription="trial_auto_annual")

    inherited = world.add_partner("Contoso IT")
    chosen = world.add_partner("Fabrikam", default_subscription="subscribe_monthly")

    assert inherited.default_subscription == "trial_auto_annual"
    assert chosen.default_subscription == "subscribe_monthly"


def test_a_partner_email_in_use_anywhere_in_the_portal_is_a_conflict_naming_email(world):
    world.add_partner("Contoso IT", "msp@contoso.example")

    with pytest.raises(Conflict) as refused:
        world.add_partner("Contoso Again", "MSP@CONTOSO.EXAMPLE")
    with pytest.raises(Conflict):
        world.add_partner("Same as the distributor", "D@Northwind.example")

    assert refused.value.details["fields"][0]["field"] == "email"
    assert len(world.db.events("partner_created")) == 1


class UsersWithEmails:
    """Identity's answer as a fake: these emails have users (any letter case)."""

    def __init__(self, *emails: str) -> None:
        self.emails = {email.lower() for email in emails}
        self.asked: list[str] = []

    def email_in_use(self, email: str) -> bool:
        self.asked.append(email)
        return email.strip().lower() in self.emails


def test_a_partner_or_account_with_a_users_email_is_refused_before_anything_is_written(world):
    users = UsersWithEmails("Ann@Northwind.example")
    announced = len(world.db.events())
    uow = world.uow()

    with pytest.raises(Conflict) as partner_refused:
        partners.create_partner(uow, uow.context, PartnerCreateRequest(
            name="Half made", email="ANN@northwind.EXAMPLE", country="US", data_center="us-east-1"), users=users)
    uow = world.uow()
    with pytest.raises(Conflict) as account_refused:
        accounts.create_account(uow, uow.context, AccountCreateRequest(name="Half made", email="ann@northwind.example"),
                                users=users)

    for refused in (partner_refused, account_refused):
        assert refused.value.details["fields"] == [{"field": "email", "reason": "already in use"}]
    assert [email.lower() for email in users.asked] == ["ann@northwind.example"] * 2
    with world.db.engine.connect() as connection:
        assert connection.execute(sa.select(Tenant.id).where(Tenant.name == "Half made")).first() is None
    assert len(world.db.events()) == announced


def test_a_partner_user_cannot_add_partners(world):
    partner = world.add_partner("Contoso IT")
    uow = world.uow(admin_of(partner, "partner"))

    with pytest.raises(PermissionDenied):
        partners.create_partner(uow, uow.context, PartnerCreateRequest(
            name="Sub", email="sub@msp.example", country="US", data_center="us-east-1"))


def test_a_user_without_add_accounts_cannot_add_partners(world):
    uow = world.uow(user_of(world.distributor, "view_dashboard"))

    with pytest.raises(PermissionDenied):
        partners.create_partner(uow, uow.context, PartnerCreateRequest(
            name="X", email="x@msp.example", country="US", data_center="us-east-1"))


def test_another_distributors_partner_does_not_exist_for_the_caller(world):
    uow = world.db.unit_of_work(operator())
    other = partners.create_distributor(uow, uow.context, DistributorCreateRequest(
        name="Other", email="other@dist.example", country="DE", data_center="eu-central-1"))
    theirs = world.add_partner("Theirs")
    uow = world.uow(admin_of(other))

    with pytest.raises(NotFound):
        partners.get_partner(uow, uow.context, theirs.id)
    with pytest.raises(NotFound):
        partners.update_partner(uow, uow.context, theirs.id, TenantProfileUpdate(name="Mine now"))
    assert list_partners(world, admin_of(other)).total == 0


def test_editing_a_partner_changes_only_the_given_fields_and_says_which(world):
    partner = world.add_partner("Contoso IT", contact_name="Dana")
    uow = world.uow()

    edited = partners.update_partner(uow, uow.context, partner.id, TenantProfileUpdate(phone="+1 555 0100"))

    assert (edited.phone, edited.contact_name, edited.name) == ("+1 555 0100", "Dana", "Contoso IT")
    assert world.db.events("partner_updated")[-1]["payload"]["fields"] == ["phone"]


def test_a_rename_announces_the_new_and_the_old_name_and_other_edits_the_current_name(world):
    partner = world.add_partner("Contoso IT")
    uow = world.uow()
    partners.update_partner(uow, uow.context, partner.id, TenantProfileUpdate(name="Contoso Cloud", phone="+1 555"))
    uow = world.uow()
    partners.update_partner(uow, uow.context, partner.id, TenantProfileUpdate(phone="+1 556"))
    uow = world.uow()
    profiles.update_account_settings(uow, uow.context, TenantProfileUpdate(name="Northwind Cloud"))

    renamed, edited = (e["payload"] for e in world.db.events("partner_updated"))
    [settings] = world.db.events("settings_changed")
    assert renamed == {"tenant_id": str(partner.id), "kind": "partner", "fields": ["name", "phone"],
                       "name": "Contoso Cloud", "previous_name": "Contoso IT"}
    assert (edited["fields"], edited["name"], edited["previous_name"]) == (["phone"], "Contoso Cloud", None)
    assert (settings["payload"]["name"], settings["payload"]["previous_name"]) == ("Northwind Cloud", "Northwind")


def test_the_storage_location_is_changed_by_an_operator_only(world):
    partner = world.add_partner("Contoso IT")
    uow = world.uow()

    with pytest.raises(ValidationFailed) as refused:
        partners.update_partner(uow, uow.context, partner.id, TenantProfileUpdate(data_center="eu-west-1"))
    uow = world.db.unit_of_work(operator())
    moved = partners.update_partner(uow, uow.context, partner.id, TenantProfileUpdate(data_center="eu-west-1"))

    assert refused.value.details["fields"][0]["field"] == "data_center"
    assert moved.data_center_label == "EU (Ireland)"


def test_clearing_a_required_field_is_refused_naming_it(world):
    partner = world.add_partner("Contoso IT")
    uow = world.uow()

    with pytest.raises(ValidationFailed) as refused:
        partners.update_partner(uow, uow.context, partner.id, TenantProfileUpdate(name=None))

    assert refused.value.details["fields"][0]["field"] == "name"


def test_the_partner_list_carries_sizes_task_status_and_the_direct_accounts_row(world):
    busy, quiet, empty = world.add_partner("Busy"), world.add_partner("Quiet"), world.add_partner("Empty")
    task = world.add_task(world.add_account("Coho", busy))
    world.add_account("Idle", quiet)
    world.add_account("Direct One")
    world.ingest(run(task, "failure", size=5000, seats=7))

    page = list_partners(world)

    rows = {row.name: row for row in page.items}
    assert [row.name for row in page.items] == ["Busy", "Empty", "Quiet"]
    assert (rows["Busy"].size_bytes, rows["Busy"].seats, rows["Busy"].accounts) == (5000, 7, 1)
    assert rows["Busy"].task_status == "failures"
    assert rows["Quiet"].task_status == "no_tasks_yet"
    assert rows["Empty"].task_status == "no_accounts_yet"
    assert page.direct is not None and page.direct.accounts == 1 and page.direct.id == world.distributor.id
    assert (page.total, page.total_partners) == (3, 3)
    assert rows["Empty"].partner_code == empty.partner_code


def test_the_partner_list_searches_filters_sorts_and_pages(world):
    tasks = []
    for index in range(5):
        partner = world.add_partner(f"Partner {index}", f"team{index}@msp{index % 2}.example")
        tasks.append(world.add_task(world.add_account(f"Account {index}", partner)))
    world.ingest(run(tasks[3], size=10**9), run(tasks[1], "failure"))

    by_email = list_partners(world, search="MSP1.EXAMPLE")
    failing = list_partners(world, task_status="failures")
    biggest = list_partners(world, sort="-size", page_size=2)
    second_page = list_partners(world, page=3, page_size=2)

    assert {row.name for row in by_email.items} == {"Partner 1", "Partner 3"}
    assert (by_email.total, by_email.total_partners) == (2, 5)
    assert [row.name for row in failing.items] == ["Partner 1"]
    assert (failing.total, failing.total_partners) == (1, 5)
    assert biggest.items[0].name == "Partner 3" and len(biggest.items) == 2 and biggest.total == 5
    assert [row.name for row in second_page.items] == ["Partner 4"]


def test_a_search_pages_its_matches_in_name_order_either_way_with_their_figures(world):
    for name in ("North A", "north b", "South C", "North D", "Northwind E"):
        partner = world.add_partner(name)
        world.ingest(run(world.add_task(world.add_account(f"{name} account", partner)), size=len(name)))

    first = list_partners(world, search="north", page_size=2)
    last = list_partners(world, search="north", sort="-name", page=2, page_size=3)
    beyond = list_partners(world, search="north", page=9, page_size=2)

    assert [(r.name, r.size_bytes, r.accounts) for r in first.items] == [("North A", 7, 1), ("north b", 7, 1)]
    assert (first.total, first.total_partners) == (4, 5)
    assert [r.name for r in last.items] == ["North A"] and last.total == 4
    assert (beyond.items, beyond.total) == ([], 4)


def test_lists_of_one_shape_answer_each_with_its_own_search_and_page(world):
    # The statement of a shape is built once (partner_list._maintained_statements): the values
    # of one call must never leak into the next.
    for name in ("North A", "North B", "South C", "South D", "South E"):
        world.add_partner(name)

    north, south = list_partners(world, search="north"), list_partners(world, search="south")
    first, second = list_partners(world, page_size=2), list_partners(world, page=2, page_size=2)

    assert [r.name for r in north.items] == ["North A", "North B"] and north.total == 2
    assert [r.name for r in south.items] == ["South C", "South D", "South E"] and south.total == 3
    assert [r.name for r in first.items] == ["North A", "North B"]
    assert [r.name for r in second.items] == ["South C", "South D"]


def test_partners_sort_by_task_status_with_the_name_breaking_ties(world):
    quiet, busy = world.add_partner("Quiet", "q@msp.example"), world.add_partner("Busy", "b@msp.example")
    world.add_partner("Empty", "e@msp.example")
    world.add_account("Idle", quiet)
    world.ingest(run(world.add_task(world.add_account("Broken", busy)), "failure"))

    by_status = [row.name for row in list_partners(world, sort="status").items]
    backwards = [row.name for row in list_partners(world, sort="-status").items]

    assert by_status == ["Busy", "Empty", "Quiet"]  # failures < no_accounts_yet < no_tasks_yet
    assert backwards == ["Quiet", "Empty", "Busy"]


def test_the_direct_accounts_row_is_there_only_when_it_matches_the_search_and_task_status(world):
    world.add_partner("Contoso", "msp@contoso.example")
    world.ingest(run(world.add_task(world.add_account("Direct One")), "failure"))

    assert list_partners(world).direct is not None
    assert list_partners(world, search="contoso").direct is None  # a partner's name: not this row
    assert list_partners(world, search="%").direct is None  # wildcards are text here too
    assert list_partners(world, search=world.distributor.email).direct is None  # the name is what it matches
    assert list_partners(world, search="direct ACC").direct is not None
    assert list_partners(world, task_status="successful").direct is None
    assert list_partners(world, task_status="failures").direct is not None
    assert list_partners(world, search="direct", task_status="no_accounts_yet").direct is None
    # The row is beside the partner page: it never counts in total or shifts the paging.
    assert (list_partners(world, search="direct").total, list_partners(world, task_status="failures").total) == (0, 0)

def test_the_task_status_filter_agrees_with_each_rows_status(world):
    for name, runs in [("A", ["success"]), ("B", ["partial"]), ("C", []), ("D", None)]:
        partner = world.add_partner(name)
        if runs is None:
            continue
        task = world.add_task(world.add_account(f"{name} account", partner))
        world.ingest(*(run(task, status) for status in runs))

    every = list_partners(world).items
    for status in ("successful", "failures", "no_tasks_yet", "no_accounts_yet"):
        assert {row.id for row in list_partners(world, task_status=status).items} == {
            row.id for row in every if row.task_status == status
        }


def test_a_search_with_wildcards_matches_them_literally(world):
    world.add_partner("100% Cloud")
    world.add_partner("1000 Clouds")

    assert [row.name for row in list_partners(world, search="100%").items] == ["100% Cloud"]


def test_a_partner_user_sees_only_its_own_row(world):
    mine, _ = world.add_partner("Mine"), world.add_partner("Theirs")

    page = list_partners(world, admin_of(mine, "partner"))

    assert [row.id for row in page.items] == [mine.id]
    assert page.direct is None


def test_a_user_limited_to_some_accounts_sees_figures_of_those_accounts_only(world):
    partner = world.add_partner("Contoso")
    seen, hidden = world.add_account("Seen", partner), world.add_account("Hidden", partner)
    world.ingest(run(world.add_task(seen), size=100), run(world.add_task(hidden), "failure", size=900))
    world.add_partner("No accessible accounts")
    limited = user_of(world.distributor, "view_dashboard", accessible=[seen.id])

    page = list_partners(world, limited)

    assert [(row.name, row.size_bytes, row.accounts, row.task_status) for row in page.items] == [
        ("Contoso", 100, 1, "successful")
    ]
    assert page.direct is not None and page.direct.accounts == 0


def test_an_operator_creates_a_distributor_and_can_undo_it_while_empty(world):
    uow = world.db.unit_of_work(operator())
    created = partners.create_distributor(uow, uow.context, DistributorCreateRequest(
        name="Southwind", email="s@southwind.example", country="gb", data_center="eu-west-2"))
    uow = world.db.unit_of_work(operator())
    partners.delete_distributor(uow, uow.context, created.id)

    uow = world.db.unit_of_work(operator())
    with pytest.raises(NotFound):
        partners.get_partner(uow, uow.context, created.id)
    with pytest.raises(Conflict):
        partners.delete_distributor(uow, uow.context, world.add_partner("Child").parent_id)
    assert created.country == "GB"
    assert world.db.events("tenant_deleted")[-1]["payload"]["tenant_id"] == str(created.id)


def test_only_an_operator_creates_distributors(world):
    uow = world.uow()

    with pytest.raises(PermissionDenied):
        partners.create_distributor(uow, uow.context, DistributorCreateRequest(
            name="Sub", email="sub@dist.example", country="US", data_center="us-east-1"))


def test_settings_show_the_callers_own_profile_with_a_read_only_storage_location(world):
    uow = world.uow()
    settings = profiles.get_account_settings(uow, uow.context)

    uow = world.uow()
    with pytest.raises(ValidationFailed):
        profiles.update_account_settings(uow, uow.context, TenantProfileUpdate(data_center="eu-west-1"))
    uow = world.uow()
    changed = profiles.update_account_settings(uow, uow.context, TenantProfileUpdate(
        address="1 Harbour Way", default_subscription="subscribe_annual"), now=NOW)

    assert settings.id == world.distributor.id and settings.data_center == "us-east-1"
    assert (changed.address, changed.default_subscription) == ("1 Harbour Way", "subscribe_annual")
    assert world.db.events("settings_changed")[-1]["payload"]["fields"] == ["address", "default_subscription"]


def test_settings_are_changed_by_administrators_only(world):
    uow = world.uow(user_of(world.distributor, "view_settings"))

    with pytest.raises(PermissionDenied):
        profiles.update_account_settings(uow, uow.context, TenantProfileUpdate(phone="+1 555 0100"))


def test_a_settings_email_taken_by_another_tenant_is_a_conflict(world):
    world.add_partner("Contoso IT", "msp@contoso.example")
    uow = world.uow()

    with pytest.raises(Conflict) as refused:
        profiles.update_account_settings(uow, uow.context, TenantProfileUpdate(email="msp@contoso.example"))

    assert refused.value.details["fields"][0]["field"] == "email"


def test_an_unknown_caller_tenant_is_refused(world):
    uow = world.uow(admin_of(uuid.uuid4()))

    with pytest.raises(PermissionDenied):
        partner_list.list_partners(uow, uow.context, PartnerListQuery())


def test_the_partner_list_narrows_to_given_ids_such_as_a_billing_status_match(world):
    chosen, _ = world.add_partner("Chosen"), world.add_partner("Other")

    page = list_partners(world, ids=[chosen.id])

    assert [row.id for row in page.items] == [chosen.id]
    assert (page.total, page.total_partners) == (1, 2)


def test_an_operator_moves_a_distributors_storage_through_its_settings(world):
    uow = world.db.unit_of_work(operator())

    moved = profiles.update_account_settings(uow, uow.context, TenantProfileUpdate(data_center="customer_aws"),
                                             tenant_id=world.distributor.id, now=NOW)

    assert (moved.id, moved.data_center_label) == (world.distributor.id, "Customer's own AWS storage")
    assert world.db.events("settings_changed")[-1]["payload"] == {
        "tenant_id": str(world.distributor.id), "kind": "distributor", "fields": ["data_center"],
        "name": "Northwind", "previous_name": None}


def test_the_candidates_for_an_amount_sort_are_every_partner_the_list_would_show(world):
    for i in range(30):
        world.add_partner(f"Contoso {i:02}")
    fabrikam = world.add_partner("Fabrikam")

    every = partner_list.partner_ids(world.uow(), world.uow().context, PartnerListQuery(page_size=5))
    searched = partner_list.partner_ids(world.uow(), world.uow().context, PartnerListQuery(search="fabri"))
    uow = world.db.unit_of_work(admin_of(fabrikam, "partner"))
    own = partner_list.partner_ids(uow, uow.context, PartnerListQuery())

    assert every.total == len(every.ids) == 31  # unpaged
    assert searched.ids == [fabrikam.id]
    assert own.ids == [fabrikam.id]  # a partner user: its own row only


# ---- any depth: sub-distributors ------------------------------------------------------------------------------


def sub_distributor(world: World, name: str, parent=None):
    uow = world.db.unit_of_work(operator())
    return partners.create_distributor(uow, uow.context, DistributorCreateRequest(
        name=name, email=f"d@{name.lower().replace(' ', '-')}.example", country="US", data_center="us-east-1",
        parent_id=(parent or world.distributor).id), now=NOW)


def test_a_sub_distributors_partners_and_accounts_are_seen_from_the_top_but_not_by_a_sibling(world):
    east, west = sub_distributor(world, "Northwind East"), sub_distributor(world, "Northwind West")
    uow = world.db.unit_of_work(admin_of(east))
    deep_partner = partners.create_partner(uow, uow.context, PartnerCreateRequest(
        name="Deep MSP", email="msp@deep.example", country="US", data_center="us-east-1"), now=NOW)
    account = world.add_account("Deep Account", deep_partner, caller=admin_of(east))
    top, sibling = world.admin, admin_of(west)

    def sees(caller) -> bool:
        uow = world.uow(caller)
        try:
            accounts.get_account(uow, uow.context, account.id, now=NOW)
        except NotFound:
            return False
        return True

    assert (sees(top), sees(admin_of(east)), sees(sibling)) == (True, True, False)
    uow = world.uow(top)
    page = accounts.list_accounts(uow, uow.context, AccountListQuery(partner_id=deep_partner.id), now=NOW)
    assert [row.id for row in page.items] == [account.id]
    uow = world.uow(sibling)
    with pytest.raises(NotFound):
        accounts.list_accounts(uow, uow.context, AccountListQuery(partner_id=deep_partner.id), now=NOW)
    # The top distributor's partner list holds partners anywhere below it; a sub-distributor's, its own.
    assert [row.name for row in list_partners(world, top).items] == ["Deep MSP"]
    assert [row.name for row in list_partners(world, admin_of(east)).items] == ["Deep MSP"]
    assert list_partners(world, sibling).total == 0


def test_every_distributor_above_a_new_partner_counts_it_for_the_partner_total(world):
    east = sub_distributor(world, "Northwind East")
    deep = sub_distributor(world, "Northwind East Coast", parent=east)
    world.add_partner("Own MSP")
    for index in range(2):
        uow = world.db.unit_of_work(admin_of(deep))
        partners.create_partner(uow, uow.context, PartnerCreateRequest(
            name=f"Deep MSP {index}", email=f"msp{index}@deep.example", country="US", data_center="us-east-1"),
            now=NOW)

    totals = [list_partners(world, caller).total_partners for caller in (world.admin, admin_of(east), admin_of(deep))]
    searched = list_partners(world, world.admin, search="deep")

    assert totals == [3, 2, 2]
    assert (searched.total, searched.total_partners) == (2, 3)
    kept = {row.owner_id: row.partners_below for row in world.uow().session.execute(sa.select(OwnerRollup)).scalars()}
    assert (kept[world.distributor.id], kept[east.id], kept[deep.id]) == (3, 2, 2)


def test_a_subtree_is_one_prefix_of_the_materialised_path(world):
    east = sub_distributor(world, "Northwind East")
    uow = world.db.unit_of_work(admin_of(east))
    deep_partner = partners.create_partner(uow, uow.context, PartnerCreateRequest(
        name="Deep MSP", email="msp@deep.example", country="US", data_center="us-east-1"), now=NOW)
    account = world.add_account("Deep Account", deep_partner, caller=admin_of(east))

    uow = world.uow()
    tenants = {t.id: t for t in uow.session.execute(sa.select(Tenant)).scalars()}
    top_path = tenants[world.distributor.id].path
    assert tenants[account.id].path == f"{top_path}{east.id}/{deep_partner.id}/{account.id}/"
    scope = authorise(uow, uow.context)
    within = str(scope.within().compile(compile_kwargs={"literal_binds": True}))
    assert within == f"tenants.path LIKE '{top_path}%'"
    assert {t.id for t in tenants.values() if scope.sees(t)} == {world.distributor.id, east.id, deep_partner.id,
                                                                 account.id}
