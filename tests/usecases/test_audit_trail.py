"""The audit trail's use cases on the real handlers and a real (SQLite) database, no broker."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.audit import Activity, AuditFilters, AuditQuery, AuditStatus, ExportPageRequest
from contracts.context import OPERATOR_TENANT_ID, Caller
from contracts.envelope import Actor, EventEnvelope
from contracts.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from contracts.tenancy import TenantProfileUpdate
from services.audit.adapters.models import AuditEntry, AuditTenant, ChainHead
from services.audit.usecases import retention, search, trail
from services.audit.usecases.verify import verify_chains, verify_for
from services.tenancy.usecases import accounts as tenancy_accounts
from services.tenancy.usecases import partners, profiles
from tests.support.fixtures import MigratedDatabase
from tests.usecases.tenancy_world import admin_of, build_world

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTOR, PARTNER, OTHER_PARTNER, ACCOUNT = (uuid.uuid4() for _ in range(4))
NOW = datetime.now(UTC)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def audit_db(tmp_path: Any) -> Iterator[MigratedDatabase]:
    db = MigratedDatabase("audit", ROOT / "services" / "audit" / "adapters" / "migrations", f"sqlite:///{tmp_path}/audit.db")
    yield db
    db.dispose()


def envelope(event_type: str, payload: dict[str, Any], tenant_id: uuid.UUID | None = DISTRIBUTOR,
             source: str = "identity", email: str | None = "admin@northwind.example", at: datetime | None = None,
             ip: str = "203.0.113.7") -> EventEnvelope:
    return EventEnvelope(type=event_type, source=source, tenant_id=tenant_id, occurred_at=at or NOW,
                         actor=Actor(email=email, ip=ip, user_agent=BROWSER), correlation_id="req-1", payload=payload)


def record(db: MigratedDatabase, env: EventEnvelope) -> AuditEntry | None:
    return trail.record_event(db.unit_of_work(), env)


def sign_in(db: MigratedDatabase, tenant_id: uuid.UUID, email: str, at: datetime | None = None, ok: bool = True,
            ip: str = "203.0.113.7") -> EventEnvelope:
    env = envelope("signed_in" if ok else "sign_in_failed", {"email": email, "method": "password",
                                                             "reason": "bad_credentials"},
                   tenant_id=tenant_id, email=None, at=at, ip=ip)
    record(db, env)
    return env


def build_tree(db: MigratedDatabase) -> None:
    """operator → distributor → {partner → account, other partner}, as tenancy announces it."""
    record(db, envelope("tenant_created", {"tenant_id": str(DISTRIBUTOR), "parent_id": str(OPERATOR_TENANT_ID),
                                           "kind": "distributor", "name": "Northwind"},
                        tenant_id=OPERATOR_TENANT_ID, source="tenancy"))
    for partner, name in ((PARTNER, "Contoso IT"), (OTHER_PARTNER, "Fabrikam")):
        record(db, envelope("partner_created", {"partner_id": str(partner), "parent_id": str(DISTRIBUTOR),
                                                "name": name, "partner_code": "P-ABCDEF"}, source="tenancy"))
    record(db, envelope("account_created", {"account_id": str(ACCOUNT), "owner_id": str(PARTNER),
                                            "name": "Coho Winery", "subscription": "trial_expiring"},
                        tenant_id=PARTNER, source="tenancy"))


def reader(tenant_id: uuid.UUID, role: str = "administrator", permissions: list[str] | None = None,
           accounts: list[uuid.UUID] | None = None) -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=tenant_id, email="reader@x.example", role=role,
                  permissions=permissions or [], accessible_accounts=accounts, ip="198.51.100.9")


def find(db: MigratedDatabase, caller: Caller, **filters: Any):
    uow = db.unit_of_work(caller)
    return search.search(uow, uow.context, AuditQuery(filters=AuditFilters(**filters), page_size=200))


def descriptions(page) -> list[str]:
    return [item.description for item in page.items]


# ---- writing ---------------------------------------------------------------------------------------------------


def test_an_event_becomes_one_entry_with_its_columns_chained_from_the_genesis(audit_db):
    build_tree(audit_db)
    env = sign_in(audit_db, DISTRIBUTOR, "admin@northwind.example")

    page = find(audit_db, reader(DISTRIBUTOR), activity=[Activity.SIGN_IN])

    [item] = page.items
    assert item.id == env.event_id and item.occurred_at == NOW
    assert (item.activity, item.status, item.performed_by, item.ip) == (
        Activity.SIGN_IN, AuditStatus.COMPLETED, "admin@northwind.example", "203.0.113.7")
    assert item.description == "Native sign in (OK) Firefox from ip 203.0.113.7"
    assert item.tenant_id == DISTRIBUTOR and item.correlation_id == "req-1"
    uow = audit_db.unit_of_work()
    head = uow.session.get(ChainHead, DISTRIBUTOR)
    entries = uow.session.execute(sa.select(AuditEntry).where(AuditEntry.tenant_id == DISTRIBUTOR)
                                  .order_by(AuditEntry.seq)).scalars().all()
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert head is not None and (head.seq, head.last_hash) == (entries[-1].seq, entries[-1].hash)


def test_a_redelivered_event_makes_no_second_entry(audit_db):
    env = sign_in(audit_db, DISTRIBUTOR, "admin@northwind.example")

    assert record(audit_db, env) is None
    uow = audit_db.unit_of_work()
    assert uow.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one() == 1


def test_events_the_trail_does_not_record_leave_no_entry(audit_db):
    record(audit_db, envelope("backup_runs_recorded", {"runs": []}, source="tenancy"))

    assert find(audit_db, reader(OPERATOR_TENANT_ID)).total == 0


def test_an_account_event_is_named_from_the_tree_and_an_accounts_own_trail_is_about_it(audit_db):
    build_tree(audit_db)
    record(audit_db, envelope("account_subscribed", {"account_id": str(ACCOUNT), "owner_id": str(PARTNER),
                                                     "plan": "monthly", "reason": "subscribe_trials"},
                              tenant_id=PARTNER, source="tenancy"))
    sign_in(audit_db, ACCOUNT, "it@coho.example")

    subscribed = find(audit_db, reader(PARTNER), activity=[Activity.SUBSCRIBED_TO_PLAN]).items[0]
    signed_in = find(audit_db, reader(PARTNER), activity=[Activity.SIGN_IN]).items[0]
    assert (subscribed.account_id, subscribed.account_name) == (ACCOUNT, "Coho Winery")
    assert (signed_in.account_id, signed_in.account_name) == (ACCOUNT, "Coho Winery")


# ---- who sees what ------------------------------------------------------------------------------------------


def test_a_distributor_sees_its_partners_entries_and_a_partner_not_the_distributors(audit_db):
    build_tree(audit_db)
    sign_in(audit_db, DISTRIBUTOR, "boss@northwind.example")
    sign_in(audit_db, PARTNER, "msp@contoso.example")
    sign_in(audit_db, ACCOUNT, "it@coho.example")
    sign_in(audit_db, OTHER_PARTNER, "msp@fabrikam.example")

    def performers(tenant_id: uuid.UUID) -> set[str | None]:
        return {i.performed_by for i in find(audit_db, reader(tenant_id), activity=[Activity.SIGN_IN]).items}

    assert performers(DISTRIBUTOR) == {"boss@northwind.example", "msp@contoso.example", "it@coho.example",
                                       "msp@fabrikam.example"}
    assert performers(PARTNER) == {"msp@contoso.example", "it@coho.example"}
    assert performers(ACCOUNT) == {"it@coho.example"}
    assert performers(OPERATOR_TENANT_ID) == performers(DISTRIBUTOR)


def test_entries_of_a_tenant_the_tree_does_not_know_yet_appear_once_it_does(audit_db):
    build_tree(audit_db)
    late_partner, its_account = uuid.uuid4(), uuid.uuid4()
    sign_in(audit_db, its_account, "it@late.example")  # before anyone heard of either tenant
    record(audit_db, envelope("account_created", {"account_id": str(its_account), "owner_id": str(late_partner),
                                                  "name": "Late Account"}, tenant_id=late_partner, source="tenancy"))
    assert "it@late.example" not in {i.performed_by for i in find(audit_db, reader(DISTRIBUTOR)).items}

    record(audit_db, envelope("partner_created", {"partner_id": str(late_partner), "parent_id": str(DISTRIBUTOR),
                                                  "name": "Late Partner", "partner_code": "P-LATE22"},
                              source="tenancy"))

    assert "it@late.example" in {i.performed_by for i in find(audit_db, reader(DISTRIBUTOR)).items}
    assert "it@late.example" in {i.performed_by for i in find(audit_db, reader(late_partner)).items}
    uow = audit_db.unit_of_work()
    account = uow.session.get(AuditTenant, its_account)
    assert account is not None and account.path == f"/{OPERATOR_TENANT_ID}/{DISTRIBUTOR}/{late_partner}/{its_account}/"


def test_reading_needs_the_permission_the_service_checks_itself(audit_db):
    build_tree(audit_db)
    sign_in(audit_db, DISTRIBUTOR, "boss@northwind.example")

    with pytest.raises(PermissionDenied):
        find(audit_db, reader(DISTRIBUTOR, role="custom", permissions=["view_dashboard"]))
    with pytest.raises(NotAuthenticated):
        find(audit_db, Caller(ip="198.51.100.9"))
    assert find(audit_db, reader(DISTRIBUTOR, role="custom", permissions=["view_security_audit"])).total >= 1


def test_accounts_that_do_not_exist_for_the_user_leave_their_entries_out(audit_db):
    build_tree(audit_db)
    other_account = uuid.uuid4()
    record(audit_db, envelope("account_created", {"account_id": str(other_account), "owner_id": str(PARTNER),
                                                  "name": "Hidden Ltd"}, tenant_id=PARTNER, source="tenancy"))

    page = find(audit_db, reader(PARTNER, accounts=[ACCOUNT]), activity=[Activity.ACCOUNT_CREATED])

    assert {i.account_name for i in page.items} == {"Coho Winery"}


# ---- search ----------------------------------------------------------------------------------------------------


def seeded_history(db: MigratedDatabase) -> None:
    build_tree(db)
    for minutes in range(30):
        sign_in(db, PARTNER, f"user{minutes % 3}@contoso.example", at=NOW - timedelta(minutes=minutes),
                ok=minutes % 5 != 0)


def test_search_is_newest_first_with_every_filter(audit_db):
    seeded_history(audit_db)
    who = reader(DISTRIBUTOR)

    everything = find(audit_db, who, activity=[Activity.SIGN_IN])
    failed = find(audit_db, who, status=AuditStatus.FAILED)
    recent = find(audit_db, who, activity=[Activity.SIGN_IN], date_from=NOW - timedelta(minutes=9),
                  date_to=NOW - timedelta(minutes=4))
    by_user = find(audit_db, who, performed_by="USER1@Contoso.example")
    by_name = find(audit_db, who, account="contoso")
    by_id = find(audit_db, who, account=str(PARTNER))
    several = find(audit_db, who, activity=[Activity.SIGN_IN, Activity.ACCOUNT_CREATED])

    times = [i.occurred_at for i in everything.items]
    assert times == sorted(times, reverse=True) and len(times) == 30
    assert failed.total == 6 and {i.status for i in failed.items} == {AuditStatus.FAILED}
    assert [i.occurred_at for i in recent.items] == [NOW - timedelta(minutes=m) for m in range(5, 10)]  # "to" is exclusive
    assert by_user.total == 10
    assert by_name.total == by_id.total == 1 and by_id.items[0].activity is Activity.ACCOUNT_CREATED
    assert several.total == 30 + 3


def test_like_wildcards_in_the_account_filter_match_only_themselves(audit_db):
    seeded_history(audit_db)
    who = reader(DISTRIBUTOR)

    assert find(audit_db, who, account="contoso").total == 1
    assert find(audit_db, who, account="%").total == 0
    assert find(audit_db, who, account="_").total == 0
    assert find(audit_db, who, account="contoso_it").total == 0

def test_paging_by_number_and_by_cursor_agree(audit_db):
    seeded_history(audit_db)
    who = reader(PARTNER)
    uow = audit_db.unit_of_work(who)
    filters = AuditFilters(activity=[Activity.SIGN_IN])

    first = search.search(uow, uow.context, AuditQuery(filters=filters, page_size=12))
    second = search.search(uow, uow.context, AuditQuery(filters=filters, page=2, page_size=12))
    by_cursor = search.search(uow, uow.context, AuditQuery(filters=filters, page_size=12, cursor=first.next_cursor))
    last = search.search(uow, uow.context, AuditQuery(filters=filters, page=3, page_size=12))

    assert (first.total, first.total_capped, len(first.items)) == (30, False, 12)
    assert [i.id for i in by_cursor.items] == [i.id for i in second.items]
    assert len(last.items) == 6 and last.next_cursor is None


def test_oldest_first_pages_by_number_and_cursor_the_other_way_round(audit_db):
    seeded_history(audit_db)
    who = reader(PARTNER)
    uow = audit_db.unit_of_work(who)
    filters = AuditFilters(activity=[Activity.SIGN_IN])

    newest = search.search(uow, uow.context, AuditQuery(filters=filters, page_size=30)).items
    first = search.search(uow, uow.context, AuditQuery(filters=filters, page_size=12, sort="date"))
    by_cursor = search.search(uow, uow.context, AuditQuery(filters=filters, page_size=12, sort="date",
                                                           cursor=first.next_cursor))
    second = search.search(uow, uow.context, AuditQuery(filters=filters, page=2, page_size=12, sort="date"))

    oldest = [i.id for i in reversed(newest)]
    assert [i.id for i in first.items] == oldest[:12]
    assert [i.id for i in by_cursor.items] == [i.id for i in second.items] == oldest[12:24]


def test_a_cursor_that_was_not_given_out_is_refused(audit_db):
    uow = audit_db.unit_of_work(reader(DISTRIBUTOR))

    with pytest.raises(ValidationFailed) as refused:
        search.search(uow, uow.context, AuditQuery(cursor="bm90LWEtY3Vyc29y"))
    assert refused.value.details["fields"][0]["field"] == "cursor"


# ---- export ------------------------------------------------------------------------------------------------------


def export_all(db: MigratedDatabase, caller: Caller, export_id: uuid.UUID, limit: int, **filters: Any) -> str:
    chunks, cursor = [], None
    while True:
        uow = db.unit_of_work(caller)
        page = search.export_page(uow, uow.context, ExportPageRequest(
            export_id=export_id, filters=AuditFilters(**filters), cursor=cursor, limit=limit))
        chunks.append(page.csv)
        cursor = page.next_cursor
        if cursor is None:
            return "".join(chunks)


def test_an_export_in_chunks_holds_every_entry_once_and_is_itself_recorded_once(audit_db):
    seeded_history(audit_db)
    who = reader(PARTNER)
    export_id = uuid.uuid4()

    text = export_all(audit_db, who, export_id, limit=7, activity=[Activity.SIGN_IN])
    again = export_all(audit_db, who, export_id, limit=50, activity=[Activity.SIGN_IN])  # a retried export

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][0] == "Date (UTC)" and len(rows) == 1 + 30
    assert len({r[7] for r in rows[1:]}) == 30
    assert again == text  # the export entry is not a sign-in: the same rows
    exports = find(audit_db, who, activity=[Activity.NOTIFICATION])
    assert [i.id for i in exports.items] == [export_id]
    assert exports.items[0].description == "Notification: exported security audit (activity sign_in)"
    assert exports.items[0].performed_by == "reader@x.example" and exports.items[0].tenant_id == PARTNER
    assert [e["payload"]["export_id"] for e in audit_db.events("audit_exported")] == [str(export_id)]


def test_an_export_neutralises_a_name_a_spreadsheet_would_run(audit_db):
    build_tree(audit_db)
    evil = '=HYPERLINK("http://evil.example","Click")'
    record(audit_db, envelope("account_created", {"account_id": str(uuid.uuid4()), "owner_id": str(PARTNER),
                                                  "name": evil}, tenant_id=PARTNER, source="tenancy"))

    text = export_all(audit_db, reader(PARTNER), uuid.uuid4(), limit=100, activity=[Activity.ACCOUNT_CREATED])

    names = [row[3] for row in csv.reader(io.StringIO(text, newline=""))]
    assert "'" + evil in names and evil not in names


def test_exporting_needs_the_permission(audit_db):
    uow = audit_db.unit_of_work(reader(DISTRIBUTOR, role="custom"))

    with pytest.raises(PermissionDenied):
        search.export_page(uow, uow.context, ExportPageRequest(export_id=uuid.uuid4()))
    assert audit_db.events("audit_exported") == []


# ---- append-only, verification, retention ---------------------------------------------------------------------


def raw(db: MigratedDatabase, statement: str, **params: Any) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def test_entries_cannot_be_updated_or_deleted(audit_db):
    sign_in(audit_db, DISTRIBUTOR, "boss@northwind.example")

    with pytest.raises(sa.exc.DatabaseError, match="append-only: UPDATE refused"):
        raw(audit_db, "UPDATE audit_entries SET description = 'nothing happened'")
    with pytest.raises(sa.exc.DatabaseError, match="append-only: DELETE refused"):
        raw(audit_db, "DELETE FROM audit_entries")


def test_verify_reports_an_entry_edited_behind_the_services_back(audit_db):
    build_tree(audit_db)
    target = sign_in(audit_db, DISTRIBUTOR, "boss@northwind.example")
    sign_in(audit_db, DISTRIBUTOR, "boss@northwind.example")
    assert verify_chains(audit_db.unit_of_work().session).ok

    raw(audit_db, "DROP TRIGGER audit_entries_no_update")  # someone with the owner's rights
    raw(audit_db, "UPDATE audit_entries SET ip = '10.0.0.1' WHERE event_id = :id", id=target.event_id.hex)

    report = verify_chains(audit_db.unit_of_work().session)
    [broken] = report.breaks
    assert (broken.tenant_id, broken.entry_id, broken.problem) == (DISTRIBUTOR, target.event_id, "hash_mismatch")
    assert report.tenants_checked == 3  # the operators', the distributor's and the partner's chains


def test_verify_reports_a_deleted_entry(audit_db):
    for _ in range(3):
        sign_in(audit_db, DISTRIBUTOR, "boss@northwind.example")
    raw(audit_db, "DROP TRIGGER audit_entries_no_delete")
    raw(audit_db, "DELETE FROM audit_entries WHERE seq = 2")

    [broken] = verify_chains(audit_db.unit_of_work().session).breaks

    assert (broken.seq, broken.problem) == (2, "missing_entries")


def test_verify_for_a_partner_covers_only_its_subtree(audit_db):
    build_tree(audit_db)
    sign_in(audit_db, PARTNER, "msp@contoso.example")
    sign_in(audit_db, DISTRIBUTOR, "boss@northwind.example")

    report = verify_for(audit_db.unit_of_work().session, reader(PARTNER))

    assert report.ok and report.tenants_checked == 1  # the partner's chain; its account has none


def test_retention_purges_old_entries_records_it_and_keeps_the_chain_verifiable(audit_db):
    build_tree(audit_db)
    for days in (400, 380, 10):
        sign_in(audit_db, OTHER_PARTNER, "msp@fabrikam.example", at=NOW - timedelta(days=days))
    sign_in(audit_db, OTHER_PARTNER, "late@fabrikam.example", at=NOW - timedelta(days=500))  # recorded after newer ones

    result = retention.purge_expired(audit_db.unit_of_work(), retention_days=365, now=NOW)
    again = retention.purge_expired(audit_db.unit_of_work(), retention_days=365, now=NOW)

    assert (result.removed, again.removed) == (2, 0)  # the late one waits behind the 10-day-old entry
    page = find(audit_db, reader(OTHER_PARTNER))
    retained = [i for i in page.items if i.activity is Activity.RETENTION]
    assert len(retained) == 1 and retained[0].performed_by is None
    assert retained[0].description.startswith(f"Retention: removed 2 entries older than "
                                              f"{(NOW - timedelta(days=365)):%Y-%m-%d}")
    assert {i.performed_by for i in page.items if i.activity is Activity.SIGN_IN} == {
        "msp@fabrikam.example", "late@fabrikam.example"}
    assert verify_chains(audit_db.unit_of_work().session).ok
    uow = audit_db.unit_of_work()
    head = uow.session.get(ChainHead, OTHER_PARTNER)
    assert head is not None and head.anchor_seq == 2
    assert [e["payload"]["removed"] for e in audit_db.events("audit_purged")] == [2]


# ---- tenancy's real events ---------------------------------------------------------------------------------------


class TenancyRelay:
    """Hands every event tenancy's use cases wrote to its outbox to audit, once, in order: the
    broker's part, without a broker."""

    def __init__(self, tenancy: MigratedDatabase, audit: MigratedDatabase) -> None:
        self.tenancy, self.audit, self.relayed = tenancy, audit, 0

    def __call__(self) -> list[EventEnvelope]:
        bodies = self.tenancy.events()[self.relayed:]
        self.relayed += len(bodies)
        envelopes = [EventEnvelope.from_wire(body) for body in bodies]
        for env in envelopes:
            record(self.audit, env)
        return envelopes


def test_a_rename_in_tenancy_reads_old_to_new_and_renames_audits_copy_of_the_tenant(tenancy_db, audit_db):

    world = build_world(tenancy_db)
    partner = world.add_partner("Contoso IT")
    relay = TenancyRelay(tenancy_db, audit_db)
    relay()
    uow = world.uow()
    partners.update_partner(uow, uow.context, partner.id, TenantProfileUpdate(name="Contoso Cloud", phone="+1 555"))
    uow = world.uow()
    profiles.update_account_settings(uow, uow.context, TenantProfileUpdate(phone="+1 556"))
    uow = world.uow()
    profiles.update_account_settings(uow, uow.context, TenantProfileUpdate(name="Northwind Cloud"))

    assert [env.type for env in relay()] == ["partner_updated", "settings_changed", "settings_changed"]

    page = find(audit_db, reader(world.distributor.id), activity=[Activity.ACCOUNT_RENAMED, Activity.SETTINGS_CHANGED])
    assert [(i.activity, i.description, i.account_id, i.account_name) for i in reversed(page.items)] == [
        (Activity.ACCOUNT_RENAMED, "Renamed Contoso IT to Contoso Cloud", partner.id, "Contoso Cloud"),
        (Activity.SETTINGS_CHANGED, "Account settings changed: phone", world.distributor.id, "Northwind"),
        (Activity.ACCOUNT_RENAMED, "Renamed Northwind to Northwind Cloud", world.distributor.id, "Northwind Cloud"),
    ]
    uow = audit_db.unit_of_work()
    assert uow.session.get(AuditTenant, partner.id).name == "Contoso Cloud"
    assert uow.session.get(AuditTenant, world.distributor.id).name == "Northwind Cloud"


def test_a_rename_that_overtakes_the_creation_event_keeps_the_new_name(tenancy_db, audit_db):
    # partner_created and partner_updated reach audit through different queues: the rename
    # may be handled first.
    world = build_world(tenancy_db)
    TenancyRelay(tenancy_db, audit_db)()  # the distributor is known
    already = len(tenancy_db.events())
    partner = world.add_partner("Contoso IT")
    uow = world.uow()
    partners.update_partner(uow, uow.context, partner.id, TenantProfileUpdate(name="Contoso Cloud"))
    envelopes = [EventEnvelope.from_wire(body) for body in tenancy_db.events()[already:]]
    assert [env.type for env in envelopes][-1] == "partner_updated"

    for env in reversed(envelopes):
        record(audit_db, env)

    tenant = audit_db.unit_of_work().session.get(AuditTenant, partner.id)
    assert (tenant.name, tenant.parent_id) == ("Contoso Cloud", world.distributor.id)
    assert tenant.path is not None  # placed in the tree: the distributor's readers see its entries
    page = find(audit_db, reader(world.distributor.id), activity=[Activity.ACCOUNT_RENAMED])
    assert [i.description for i in page.items] == ["Renamed Contoso IT to Contoso Cloud"]


def test_an_account_opened_from_above_in_tenancy_is_one_account_accessed_entry(tenancy_db, audit_db):

    world = build_world(tenancy_db)
    partner = world.add_partner("Contoso IT")
    account = world.add_account("Coho Winery", partner)
    relay = TenancyRelay(tenancy_db, audit_db)
    relay()
    for caller in (world.admin, admin_of(account.id, "account")):
        uow = world.uow(caller)
        tenancy_accounts.get_account(uow, uow.context, account.id)

    assert [env.type for env in relay()] == ["account_accessed"]
    [entry] = find(audit_db, reader(world.distributor.id), activity=[Activity.ACCOUNT_ACCESSED]).items
    assert (entry.account_id, entry.account_name, entry.description, entry.tenant_id) == (
        account.id, "Coho Winery", "Account accessed: Coho Winery", partner.id)
