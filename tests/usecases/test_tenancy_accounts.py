"""Customer accounts: create, read, list, subscribe trials, delete, remove (SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from contracts.tenancy import (
    AccountCreateRequest,
    AccountListQuery,
    DistributorCreateRequest,
    NameLookupRequest,
    PartnerListQuery,
    RemoveAccountRequest,
    SubscribeTrialsRequest,
)
from servicekit.validation import parse
from services.tenancy.usecases import accounts, partner_list, partners
from tests.usecases.tenancy_world import NOW, World, admin_of, build_world, operator, run, user_of


@pytest.fixture
def world(tenancy_db) -> World:
    return build_world(tenancy_db)


def list_accounts(world: World, caller=None, now=NOW, **query):
    uow = world.uow(caller)
    return accounts.list_accounts(uow, uow.context, AccountListQuery(**query), now=now)


def get_account(world: World, account_id, caller=None, now=NOW):
    uow = world.uow(caller)
    return accounts.get_account(uow, uow.context, account_id, now=now)


def subscribe(world: World, caller=None, **request):
    uow = world.uow(caller)
    return accounts.subscribe_trials(uow, uow.context, SubscribeTrialsRequest(**request), now=NOW)


def test_a_direct_account_sits_under_the_distributor_and_starts_its_default(world):
    account = world.add_account("Blue Yonder")

    assert account.owner_id == world.distributor.id and account.owner_kind == "distributor"
    assert account.partner_id is None
    assert account.account_status == "trial_started"
    assert account.trial_ends_at == NOW + timedelta(days=14)
    assert account.data_center == "us-east-1"
    created = world.db.events("account_created")[-1]
    assert created["payload"]["account_id"] == str(account.id)
    assert created["tenant_id"] == str(world.distributor.id)


def test_an_account_under_a_partner_takes_the_partners_default_unless_it_chooses(world):
    partner = world.add_partner("Contoso", default_subscription="subscribe_annual")

    default = world.add_account("Coho", partner)
    chosen = world.add_account("Alpine", partner, subscription="trial_auto_monthly")

    assert (default.account_status, default.plan) == ("annual_subscribed", "annual")
    assert (chosen.account_status, chosen.auto_subscribe) == ("trial_started", "monthly")
    subscribed = world.db.events("account_subscribed")
    assert [(e["payload"]["account_id"], e["payload"]["reason"]) for e in subscribed] == [(str(default.id), "created")]


def test_a_partner_user_adds_accounts_under_its_own_partner(world):
    partner = world.add_partner("Contoso")

    account = world.add_account("Coho", caller=admin_of(partner, "partner"))

    assert account.partner_id == partner.id


def test_an_operator_names_the_owner_of_a_new_account(world):
    uow = world.db.unit_of_work(operator())

    with pytest.raises(ValidationFailed) as refused:
        accounts.create_account(uow, uow.context, AccountCreateRequest(name="X", email="x@x.example"))

    assert refused.value.details["fields"][0]["field"] == "partner_id"


def test_an_account_email_is_unique_across_the_portal(world):
    world.add_account("Coho")

    with pytest.raises(Conflict) as refused:
        world.add_account("Coho")  # same generated email

    assert refused.value.details["fields"][0]["field"] == "email"


def test_adding_accounts_needs_the_permission(world):
    with pytest.raises(PermissionDenied):
        world.add_account("Coho", caller=user_of(world.distributor, "view_dashboard"))


def test_the_account_list_counts_trials_and_backups_and_says_n_of_m(world):
    partner = world.add_partner("Contoso")
    world.add_account("Started", partner)
    world.add_account("Expiring", partner, at=NOW - timedelta(days=12))
    world.add_account("Monthly", partner, subscription="subscribe_monthly")
    failed = world.add_account("Annual", partner, subscription="subscribe_annual")
    world.ingest(run(world.add_task(failed), "failure"))

    everything = list_accounts(world, partner_id=partner.id)
    expiring = list_accounts(world, partner_id=partner.id, account_status="trial_expiring")
    failing = list_accounts(world, partner_id=partner.id, backup_status="failed")

    assert (everything.total, everything.total_accounts) == (4, 4)
    assert everything.counters.trial.model_dump() == {"in_progress": 1, "expiring": 1, "expired": 0}
    assert everything.counters.backup.model_dump() == {
        "no_backup": 3, "successful": 0, "partially_failed": 0, "failed": 1}
    assert [row.name for row in expiring.items] == ["Expiring"]
    assert (expiring.total, expiring.total_accounts) == (1, 4)
    assert [row.name for row in failing.items] == ["Annual"]


def test_accounts_sort_by_status_and_backup_status_with_the_name_breaking_ties(world):
    partner = world.add_partner("Contoso")
    world.add_account("Zed Trial", partner)
    world.add_account("Able Trial", partner)
    world.add_account("Monthly", partner, subscription="subscribe_monthly")
    world.ingest(run(world.add_task(world.add_account("Failing", partner)), "failure"))

    def names(sort: str) -> list[str]:
        return [row.name for row in list_accounts(world, partner_id=partner.id, sort=sort).items]

    assert names("status") == ["Monthly", "Able Trial", "Failing", "Zed Trial"]  # subscribed < trial
    assert names("-status") == ["Able Trial", "Failing", "Zed Trial", "Monthly"]
    assert names("-backup_status") == ["Able Trial", "Monthly", "Zed Trial", "Failing"]  # no_backup > failed
    assert names("backup_status") == ["Failing", "Able Trial", "Monthly", "Zed Trial"]


def test_each_account_status_filter_agrees_with_the_rows_status(world):
    partner = world.add_partner("Contoso")
    for name, subscription, days_ago in [("a", "trial_expiring", 0), ("b", "trial_expiring", 12),
                                         ("c", "subscribe_monthly", 0), ("d", "subscribe_annual", 0)]:
        world.add_account(name, partner, subscription=subscription, at=NOW - timedelta(days=days_ago))
    later = NOW + timedelta(days=2)

    every = list_accounts(world, partner_id=partner.id, now=later).items
    for status in ("trial_started", "trial_expiring", "trial_expired", "monthly_subscribed", "annual_subscribed"):
        filtered = list_accounts(world, partner_id=partner.id, account_status=status, now=later).items
        assert {row.id for row in filtered} == {row.id for row in every if row.account_status == status}


def test_the_account_list_searches_name_or_email_and_pages(world):
    for name in ["Alpine", "Coho Winery", "Contoso Shop", "Wide World"]:
        world.add_account(name)

    found = list_accounts(world, search="CO")
    by_email = list_accounts(world, search="wide-world.example")
    page = list_accounts(world, page=2, page_size=3)

    assert [row.name for row in found.items] == ["Coho Winery", "Contoso Shop"]
    assert [row.name for row in by_email.items] == ["Wide World"]
    assert [row.name for row in page.items] == ["Wide World"] and page.total == 4


def test_another_partners_accounts_do_not_exist_for_a_partner_user(world):
    mine, theirs = world.add_partner("Mine"), world.add_partner("Theirs")
    hidden = world.add_account("Hidden", theirs)
    me = admin_of(mine, "partner")

    with pytest.raises(NotFound):
        get_account(world, hidden.id, me)
    with pytest.raises(NotFound):
        list_accounts(world, me, partner_id=theirs.id)
    with pytest.raises(NotFound):
        world.add_account("Sneaky", theirs, caller=me)
    uow = world.uow(me)
    with pytest.raises(NotFound):
        accounts.delete_trial(uow, uow.context, hidden.id)
    assert subscribe(world, me, plan="monthly", scope="all").changed == 0
    assert get_account(world, hidden.id).account_status == "trial_started"


def test_naming_an_account_out_of_reach_in_subscribe_trials_is_404_and_changes_nothing(world):
    mine, theirs = world.add_partner("Mine"), world.add_partner("Theirs")
    own_trial, hidden = world.add_account("Own trial", mine), world.add_account("Hidden", theirs)
    me = admin_of(mine, "partner")

    with pytest.raises(NotFound) as refused:
        subscribe(world, me, plan="monthly", account_ids=[own_trial.id, hidden.id])

    assert refused.value.details == {"field": "account_ids", "indexes": [1]}
    assert get_account(world, own_trial.id).account_status == "trial_started"  # nothing half-done
    assert get_account(world, hidden.id).account_status == "trial_started"
    # A subscribed account of one's own is in reach: named, it is simply not a trial.
    monthly = world.add_account("Own monthly", mine, subscription="subscribe_monthly")
    assert subscribe(world, me, plan="annual", account_ids=[own_trial.id, monthly.id]).changed == 1


def test_accounts_outside_a_users_accessible_list_do_not_exist_for_it(world):
    partner = world.add_partner("Contoso")
    seen, hidden = world.add_account("Seen", partner), world.add_account("Hidden", partner)
    limited = user_of(world.distributor, "view_dashboard", "subscribe_accounts", accessible=[seen.id])

    page = list_accounts(world, limited, partner_id=partner.id)

    assert [row.id for row in page.items] == [seen.id]
    assert page.total_accounts == 1 and page.counters.trial.in_progress == 1
    with pytest.raises(NotFound):
        get_account(world, hidden.id, limited)
    assert subscribe(world, limited, plan="annual", scope="all").changed == 1
    assert get_account(world, hidden.id).account_status == "trial_started"


def test_subscribe_trials_changes_trial_accounts_only_and_says_how_many(world):
    partner = world.add_partner("Contoso")
    trials = [world.add_account(name, partner) for name in ("One", "Two")]
    subscribed = world.add_account("Monthly", partner, subscription="subscribe_monthly")
    elsewhere = world.add_account("Direct trial")

    reply = subscribe(world, plan="annual", partner_id=partner.id)

    assert reply.changed == 2
    assert {get_account(world, a.id).account_status for a in trials} == {"annual_subscribed"}
    assert get_account(world, subscribed.id).account_status == "monthly_subscribed"
    assert get_account(world, elsewhere.id).account_status == "trial_started"
    assert {e["payload"]["reason"] for e in world.db.events("account_subscribed")[-2:]} == {"subscribe_trials"}
    assert subscribe(world, plan="annual", partner_id=partner.id).changed == 0


def test_subscribe_all_trials_of_the_whole_distributor_touches_every_trial_in_reach_and_nothing_else(world):
    contoso, fabrikam = world.add_partner("Contoso"), world.add_partner("Fabrikam")
    trials = [world.add_account("Contoso trial", contoso), world.add_account("Fabrikam trial", fabrikam),
              world.add_account("Direct trial"), world.add_account("Expired trial", contoso,
                                                                   at=NOW - timedelta(days=20))]
    monthly = world.add_account("Contoso monthly", contoso, subscription="subscribe_monthly")
    annual = world.add_account("Direct annual", subscription="subscribe_annual")
    uow = world.db.unit_of_work(operator())
    elsewhere = accounts.create_account(uow, uow.context, AccountCreateRequest(
        name="Other trial", email="it@other-trial.example", distributor_id=other_distributor(world).id), now=NOW)

    reply = subscribe(world, plan="monthly", scope="all")  # the whole distributor, asked for by name

    assert reply.changed == 4
    assert {get_account(world, a.id).account_status for a in trials} == {"monthly_subscribed"}
    assert get_account(world, monthly.id).account_status == "monthly_subscribed"
    assert get_account(world, annual.id).account_status == "annual_subscribed"
    assert get_account(world, elsewhere.id, operator()).account_status == "trial_started"
    subscribed = [e["payload"] for e in world.db.events("account_subscribed") if e["payload"]["reason"] ==
                  "subscribe_trials"]
    assert sorted(p["account_id"] for p in subscribed) == sorted(str(a.id) for a in trials)


def test_subscribing_the_direct_accounts_trials_leaves_a_partners_trials_alone(world):
    partner = world.add_partner("Contoso")
    direct_trial, partner_trial = world.add_account("Direct trial"), world.add_account("Partner trial", partner)

    reply = subscribe(world, plan="monthly", scope="direct")

    assert reply.changed == 1
    assert get_account(world, direct_trial.id).account_status == "monthly_subscribed"
    assert get_account(world, partner_trial.id).account_status == "trial_started"
    # A partner's own list is its direct list: the same scope names the partner's accounts for its users.
    assert subscribe(world, admin_of(partner, "partner"), plan="annual", scope="direct").changed == 1
    assert get_account(world, partner_trial.id).account_status == "annual_subscribed"


def test_subscribe_trials_that_names_no_scope_is_refused_naming_scope_and_changes_nothing(world):
    trial = world.add_account("Direct trial", world.add_partner("Contoso"))
    uow = world.uow()

    with pytest.raises(ValidationFailed) as refused:
        accounts.subscribe_trials(uow, uow.context, parse(SubscribeTrialsRequest, {"plan": "monthly"}), now=NOW)

    assert [f["field"] for f in refused.value.details["fields"]] == ["scope"]
    assert get_account(world, trial.id).account_status == "trial_started"


def test_subscribe_trials_scopes_are_exact_and_refuse_a_mismatched_owner(world):
    contoso, fabrikam = world.add_partner("Contoso"), world.add_partner("Fabrikam")
    mine, theirs = world.add_account("Mine", contoso), world.add_account("Theirs", fabrikam)
    direct = world.add_account("Direct")

    assert subscribe(world, plan="annual", partner_id=contoso.id).changed == 1  # partner_id alone: that partner
    assert subscribe(world, admin_of(fabrikam, "partner"), plan="annual", scope="partner").changed == 1
    assert {get_account(world, a.id).account_status for a in (mine, theirs)} == {"annual_subscribed"}
    assert get_account(world, direct.id).account_status == "trial_started"
    for wrong, field in [({"scope": "partner"}, "partner_id"),  # a distributor has no partner of its own
                         ({"scope": "all", "partner_id": contoso.id}, "partner_id"),
                         ({"scope": "direct", "partner_id": contoso.id}, "partner_id"),
                         ({"scope": "partner", "partner_id": contoso.id, "distributor_id": world.distributor.id},
                          "distributor_id")]:
        with pytest.raises(ValidationFailed) as refused:
            uow = world.uow()
            accounts.subscribe_trials(uow, uow.context, parse(SubscribeTrialsRequest, {"plan": "monthly", **wrong}),
                                      now=NOW)
        assert [f["field"] for f in refused.value.details["fields"]] == [field], wrong
    # Named accounts outside the scope do not exist for it, even when the caller sees them.
    with pytest.raises(NotFound):
        subscribe(world, plan="monthly", scope="direct", account_ids=[direct.id, mine.id])
    assert get_account(world, direct.id).account_status == "trial_started"

def other_distributor(world: World):
    uow = world.db.unit_of_work(operator())
    return partners.create_distributor(uow, uow.context, DistributorCreateRequest(
        name="Elsewhere", email="d@elsewhere.example", country="US", data_center="us-east-1"), now=NOW)


def test_subscribe_trials_needs_the_permission(world):
    with pytest.raises(PermissionDenied):
        subscribe(world, user_of(world.distributor, "view_dashboard", "add_accounts"), plan="monthly", scope="all")


def test_a_trial_can_be_deleted_and_is_gone(world):
    partner = world.add_partner("Contoso")
    trial = world.add_account("Coho", partner)
    world.ingest(run(world.add_task(trial), size=500))
    uow = world.uow()

    accounts.delete_trial(uow, uow.context, trial.id)

    with pytest.raises(NotFound):
        get_account(world, trial.id)
    page = list_accounts(world, partner_id=partner.id)
    assert page.total_accounts == 0
    assert world.db.events("trial_deleted")[-1]["payload"]["account_id"] == str(trial.id)
    assert world.add_account("Coho", partner).name == "Coho"  # its email is free again


def test_deleting_a_subscribed_account_is_a_conflict(world):
    subscribed = world.add_account("Annual", subscription="subscribe_annual")
    uow = world.uow()

    with pytest.raises(Conflict):
        accounts.delete_trial(uow, uow.context, subscribed.id)

    assert get_account(world, subscribed.id).account_status == "annual_subscribed"
    assert world.db.events("trial_deleted") == []


def remove(world: World, account_id, approve: bool):
    uow = world.uow()
    return accounts.remove_account(uow, uow.context, account_id, RemoveAccountRequest(approve_data_removal=approve),
                                   now=NOW)


def test_removal_without_approval_is_refused_naming_the_field_and_changes_nothing(world):
    subscribed = world.add_account("Annual", subscription="subscribe_annual")

    with pytest.raises(ValidationFailed) as refused:
        remove(world, subscribed.id, approve=False)

    assert refused.value.details["fields"][0]["field"] == "approve_data_removal"
    assert get_account(world, subscribed.id).account_status == "annual_subscribed"
    assert world.db.events("account_removed") == []


def test_removal_with_approval_takes_the_data_and_is_announced(world):
    partner = world.add_partner("Contoso")
    subscribed = world.add_account("Annual", partner, subscription="subscribe_annual")
    world.ingest(run(world.add_task(subscribed), "failure", size=700, seats=3))

    removed = remove(world, subscribed.id, approve=True)

    assert removed.account_status == "removed" and removed.removed_at == NOW
    assert (removed.size_bytes, removed.seats, removed.tasks) == (0, 0, [])
    announced = world.db.events("account_removed")[-1]
    assert announced["payload"]["account_id"] == str(subscribed.id)
    assert announced["payload"]["data_removal_approved"] is True
    page = list_accounts(world, partner_id=partner.id, account_status="removed")
    assert [row.account_status for row in page.items] == ["removed"]
    assert page.counters.backup.failed == 0
    with pytest.raises(Conflict):
        remove(world, subscribed.id, approve=True)


def test_removed_accounts_count_in_no_total_unless_the_removed_filter_asks_for_them(world):
    partner = world.add_partner("Contoso")
    kept = world.add_account("Kept", partner, subscription="subscribe_monthly")
    world.add_account("Trial", partner)
    gone = world.add_account("Gone", partner, subscription="subscribe_annual")
    remove(world, gone.id, approve=True)

    everything = list_accounts(world, partner_id=partner.id)
    searched = list_accounts(world, partner_id=partner.id, search="gone")
    removed = list_accounts(world, partner_id=partner.id, account_status="removed")
    uow = world.uow()
    [row] = partner_list.list_partners(uow, uow.context, PartnerListQuery()).items

    assert {r.name for r in everything.items} == {"Kept", "Trial"}
    assert (everything.total, everything.total_accounts) == (2, 2) == (row.accounts, row.accounts)
    assert (searched.items, searched.total, searched.total_accounts) == ([], 0, 2)
    assert kept.id in {r.id for r in everything.items}
    assert [r.id for r in removed.items] == [gone.id]
    assert (removed.total, removed.total_accounts) == (1, 3)
    uow = world.uow()
    assert accounts.account_ids(uow, uow.context, AccountListQuery(partner_id=partner.id), now=NOW).total == 2


def test_a_distributor_or_partner_user_opening_an_account_is_announced_but_not_its_own_user(world):
    partner = world.add_partner("Contoso")
    account = world.add_account("Coho Winery", partner)

    get_account(world, account.id)  # the distributor's administrator
    get_account(world, account.id, admin_of(partner, "partner"))
    get_account(world, account.id, admin_of(account.id, "account"))  # the account's own user
    uow = world.db.unit_of_work()  # the system (no user): no one opened it
    accounts.get_account(uow, uow.context, account.id, now=NOW)

    accessed = world.db.events("account_accessed")
    assert [e["payload"] for e in accessed] == [
        {"account_id": str(account.id), "account_name": "Coho Winery", "owner_id": str(partner.id)}] * 2
    assert {e["tenant_id"] for e in accessed} == {str(partner.id)}  # the partner's trail, seen from above too
    assert [e["type"] for e in accessed] == ["account_accessed"] * 2


def test_the_account_list_narrows_to_given_ids_such_as_a_billing_status_match(world):
    chosen, _ = world.add_account("Chosen"), world.add_account("Other")

    page = list_accounts(world, ids=[chosen.id])

    assert [row.id for row in page.items] == [chosen.id]
    assert (page.total, page.total_accounts) == (1, 2)


def test_a_page_past_the_end_is_empty_but_still_says_how_many(world):
    for name in ("One", "Two", "Three"):
        world.add_account(name)

    page = list_accounts(world, page=5, page_size=2)

    assert page.items == [] and (page.total, page.total_accounts) == (3, 3)


def test_the_candidates_for_an_amount_sort_are_every_account_the_list_would_show_to_the_caller(world):
    partner = world.add_partner("Contoso")
    alpine, birch = world.add_account("Alpine", partner), world.add_account("Birch", partner)
    world.add_account("Direct One")
    limited = user_of(world.distributor, "view_dashboard", accessible=[birch.id])

    def ids(caller=None, **query):
        uow = world.uow(caller)
        return accounts.account_ids(uow, uow.context, AccountListQuery(**query), now=NOW)

    assert sorted(ids(partner_id=partner.id, page_size=1).ids) == sorted([alpine.id, birch.id])
    assert ids(partner_id=partner.id, search="alp").ids == [alpine.id]
    assert ids(limited, partner_id=partner.id).ids == [birch.id]
    assert ids().total == 1  # the direct accounts


def test_names_are_answered_only_for_tenants_the_caller_sees(world):
    partner = world.add_partner("Contoso")
    seen, hidden = world.add_account("Seen", partner), world.add_account("Hidden", partner)
    uow = world.db.unit_of_work(operator())
    other = accounts.create_account(uow, uow.context, AccountCreateRequest(
        name="Elsewhere", email="it@elsewhere.example", distributor_id=build_world_other(world)))
    limited = user_of(world.distributor, "view_dashboard", accessible=[seen.id])

    def names(caller=None):
        uow = world.uow(caller)
        reply = accounts.tenant_names(uow, uow.context, NameLookupRequest(ids=[seen.id, hidden.id, partner.id,
                                                                              other.id]))
        return {item.id: item.name for item in reply.items}

    assert names() == {seen.id: "Seen", hidden.id: "Hidden", partner.id: "Contoso"}
    assert names(limited) == {seen.id: "Seen", partner.id: "Contoso"}


def build_world_other(world: World):
    """Another distributor, for names that must not leak."""
    uow = world.db.unit_of_work(operator())
    return partners.create_distributor(uow, uow.context, DistributorCreateRequest(
        name="Other", email="other@dist.example", country="DE", data_center="eu-central-1")).id
