"""Recipients and report settings of a tenant, through the use cases on a real (SQLite) database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.context import Caller
from contracts.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied
from contracts.notify import NotificationSettings, RecipientListQuery, RecipientRequest, RecipientUpdate
from services.notify.usecases import recipients
from tests.support.fixtures import MigratedDatabase

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "notify" / "adapters" / "migrations"
TENANT, OTHER_TENANT = uuid.uuid4(), uuid.uuid4()


def admin(tenant: uuid.UUID = TENANT) -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=tenant, tenant_kind="distributor", role="administrator",
                  email="admin@northwind.example")


def custom(*permissions: str) -> Caller:
    return Caller(user_id=uuid.uuid4(), tenant_id=TENANT, tenant_kind="distributor", role="custom",
                  permissions=list(permissions))


@pytest.fixture
def notify_db(tmp_path: Any) -> Iterator[MigratedDatabase]:
    db = MigratedDatabase("notify", MIGRATIONS, f"sqlite:///{tmp_path}/notify.db")
    yield db
    db.dispose()


def add(db: MigratedDatabase, email: str, *types: str, caller: Caller | None = None, **extra: Any):
    request = RecipientRequest(email=email, types=list(types) or ["summary_report"], **extra)
    uow = db.unit_of_work(caller or admin())
    return recipients.add_recipient(uow, uow.context, request)


def listed(db: MigratedDatabase, caller: Caller | None = None, **query: Any):
    uow = db.unit_of_work(caller or admin())
    return recipients.list_recipients(uow, uow.context, RecipientListQuery(**query))


def test_a_recipient_is_added_listed_and_announced(notify_db):
    added = add(notify_db, "Ops@Contoso.example", "summary_report", "exceptions_notification", display_name="Ops")

    page = listed(notify_db)
    assert [r.id for r in page.items] == [added.id] and page.total == 1
    assert added.types == ["summary_report", "exceptions_notification"] and added.tenant_id == TENANT
    [event] = notify_db.events("recipient_added")
    assert event["tenant_id"] == str(TENANT)
    assert event["payload"] == {"recipient_id": str(added.id), "email": added.email,
                                "types": ["summary_report", "exceptions_notification"], "fields": []}


def test_the_same_address_twice_in_one_tenant_is_a_conflict_but_another_tenant_may_use_it(notify_db):
    add(notify_db, "ops@contoso.example")

    with pytest.raises(Conflict) as caught:
        add(notify_db, "OPS@contoso.example")

    assert caught.value.details["fields"][0]["field"] == "email"
    add(notify_db, "ops@contoso.example", caller=admin(OTHER_TENANT))
    assert listed(notify_db).total == 1


@pytest.mark.parametrize("taken", ["ops@contoso.example", "OPS@Contoso.EXAMPLE"])
def test_changing_a_recipients_email_to_another_recipients_is_a_conflict_naming_the_field(notify_db, taken):
    add(notify_db, "ops@contoso.example")
    other = add(notify_db, "billing@contoso.example", display_name="Billing")
    uow = notify_db.unit_of_work(admin())

    with pytest.raises(Conflict) as caught:
        recipients.update_recipient(uow, uow.context, other.id, RecipientUpdate(email=taken, display_name="Ops"))

    assert caught.value.details["fields"][0]["field"] == "email"
    kept = {r.id: (r.email, r.display_name) for r in listed(notify_db).items}
    assert kept[other.id] == ("billing@contoso.example", "Billing")
    assert notify_db.events("recipient_changed") == []


def test_another_tenants_recipients_do_not_exist_for_the_caller(notify_db):
    theirs = add(notify_db, "ops@fabrikam.example", caller=admin(OTHER_TENANT))
    uow = notify_db.unit_of_work(admin())

    assert listed(notify_db).total == 0
    with pytest.raises(NotFound):
        recipients.update_recipient(uow, uow.context, theirs.id, RecipientUpdate(display_name="x"))
    with pytest.raises(NotFound):
        recipients.remove_recipient(notify_db.unit_of_work(admin()), uow.context, theirs.id)


def test_an_update_changes_only_the_fields_given_and_names_them_in_the_event(notify_db):
    added = add(notify_db, "ops@contoso.example", "summary_report", display_name="Ops")
    uow = notify_db.unit_of_work(admin())

    changed = recipients.update_recipient(uow, uow.context, added.id,
                                          RecipientUpdate(types=["trial_accounts_report", "summary_report"]))

    assert changed.types == ["trial_accounts_report", "summary_report"] and changed.display_name == "Ops"
    assert notify_db.events("recipient_changed")[0]["payload"]["fields"] == ["types"]
    unchanged = recipients.update_recipient(notify_db.unit_of_work(admin()), uow.context, added.id,
                                            RecipientUpdate(display_name="Ops"))
    assert unchanged.updated_at == changed.updated_at and len(notify_db.events("recipient_changed")) == 1


def test_a_removed_recipient_is_gone_and_announced(notify_db):
    added = add(notify_db, "ops@contoso.example")
    uow = notify_db.unit_of_work(admin())

    recipients.remove_recipient(uow, uow.context, added.id)

    assert listed(notify_db).total == 0
    assert notify_db.events("recipient_removed")[0]["payload"]["recipient_id"] == str(added.id)


def test_the_list_filters_by_type_and_pages(notify_db):
    for n in range(5):
        add(notify_db, f"r{n}@contoso.example", "summary_report" if n % 2 else "trial_accounts_report")

    trials = listed(notify_db, type="trial_accounts_report", page=2, page_size=2)
    everyone = listed(notify_db, page=3, page_size=2)

    assert trials.total == 3 and [r.email for r in trials.items] == ["r4@contoso.example"]
    assert everyone.total == 5 and [r.email for r in everyone.items] == ["r4@contoso.example"]


def test_settings_default_to_weekly_attachments_and_keep_what_is_put(notify_db):
    uow = notify_db.unit_of_work(admin())
    assert recipients.get_settings(uow, uow.context) == NotificationSettings(frequency="weekly",
                                                                             csv_delivery="attachment")

    recipients.put_settings(uow, uow.context, NotificationSettings(frequency="daily", csv_delivery="link"))

    other = notify_db.unit_of_work(admin(OTHER_TENANT))
    assert recipients.get_settings(notify_db.unit_of_work(admin()), uow.context).frequency == "daily"
    assert recipients.get_settings(other, other.context).frequency == "weekly"
    assert notify_db.events("notification_settings_changed")[0]["payload"] == {"frequency": "daily",
                                                                               "csv_delivery": "link"}


def test_managing_notifications_needs_the_permission_or_an_administrator(notify_db):
    add(notify_db, "ops@contoso.example", caller=custom("manage_notifications"))

    with pytest.raises(PermissionDenied):
        listed(notify_db, caller=custom("view_dashboard"))
    with pytest.raises(NotAuthenticated):
        listed(notify_db, caller=Caller())
    with pytest.raises(PermissionDenied):
        listed(notify_db, caller=Caller(engine_key_id=uuid.uuid4(), tenant_id=TENANT, user_id=uuid.uuid4()))
    assert listed(notify_db, caller=custom("manage_notifications")).total == 1
