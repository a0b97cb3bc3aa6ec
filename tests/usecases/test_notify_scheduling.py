"""Scheduled reports, Backup Radar's daily CSV and health, password reminders (SQLite, fake tenancy)."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from contracts.errors import PermissionDenied
from contracts.notify import Frequency, NotificationSettings
from contracts.tenancy import AccountRow, AccountView, PartnerRow, RunListRow
from services.notify.adapters import report_runs
from services.notify.adapters.models import OutgoingMail, ReportRun, WebhookDelivery
from services.notify.adapters.upstream import ExpiringPassword, TenantInfo
from services.notify.domain.periods import last_complete_period
from services.notify.domain.retry import RetryPolicy
from services.notify.usecases import backup_radar_daily, password_reminders, recipients, scheduled_reports
from services.notify.usecases.mail import deliver_next
from services.notify.usecases.reactions import report_csv
from tests.support.fixtures import MigratedDatabase
from tests.usecases import test_notify_recipients
from tests.usecases.test_notify_mail_delivery import FakeTransport
from tests.usecases.test_notify_recipients import TENANT, add, admin
from tests.usecases.test_notify_webhooks_delivery import DISTRIBUTOR as RADAR_DISTRIBUTOR
from tests.usecases.test_notify_webhooks_delivery import KEYS, configured, distributor_admin, update

NOW = datetime(2026, 11, 26, 0, 10, tzinfo=UTC)  # Thursday, just after midnight
YESTERDAY = datetime(2026, 11, 25, tzinfo=UTC)
LINKS = scheduled_reports.Links(KEYS, "https://portal.test", valid_days=7)
PARTNER = uuid.uuid4()
notify_db = test_notify_recipients.notify_db  # the fixture: a migrated notify database


class FakeTenancy:
    """A distributor with one partner: accounts and yesterday's runs."""

    def __init__(self, distributor: uuid.UUID = TENANT) -> None:
        self.distributor = distributor
        self.coho = self._account("Coho Winery", PARTNER, "monthly_subscribed", "failed")
        self.trial = self._account("Blue Yonder", distributor, "trial_expiring", "no_backup",
                                   trial_ends_at=NOW + timedelta(days=2))
        self.run_rows = [self._run(status, minutes) for minutes, status in enumerate(("success", "partial", "failure"))]
        self.fail_runs = False
        self.run_queries: list[tuple[uuid.UUID, datetime, datetime]] = []

    @staticmethod
    def _account(name: str, owner: uuid.UUID, status: str, backup: str, **extra: Any) -> AccountRow:
        return AccountRow(id=uuid.uuid4(), owner_id=owner, name=name, email="it@example.com", account_status=status,
                          backup_status=backup, size_bytes=2**30, seats=3, tasks=1, **extra)

    def _run(self, status: str, minutes: int) -> RunListRow:
        start = YESTERDAY + timedelta(hours=2, minutes=minutes)
        return RunListRow(run_id=uuid.uuid4(), task_id=uuid.uuid4(), task_name=f"Task {minutes}", service="onedrive",
                      account_id=self.coho.id, account_name="Coho Winery", owner_id=PARTNER, status=status,
                      started_at=start, finished_at=start + timedelta(minutes=20), size_bytes=2**20, seats=3)

    def tenant(self, tenant_id: uuid.UUID) -> TenantInfo:
        return TenantInfo(id=tenant_id, kind="distributor", name="Northwind Backup")

    def partners(self, distributor_id: uuid.UUID) -> Iterator[PartnerRow]:
        yield PartnerRow(id=PARTNER, name="Contoso IT", size_bytes=0, seats=0, accounts=1, task_status="failures")

    def accounts(self, owner_id: uuid.UUID, owner_kind: str) -> Iterator[AccountRow]:
        yield from [a for a in (self.coho, self.trial) if a.owner_id == owner_id]

    def account(self, account_id: uuid.UUID) -> AccountView:
        raise NotImplementedError

    def runs(self, tenant_id: uuid.UUID, start: datetime, end: datetime) -> Iterator[RunListRow]:
        self.run_queries.append((tenant_id, start, end))
        if self.fail_runs:
            raise ConnectionError("tenancy is away")
        yield from [r for r in self.run_rows if start <= r.finished_at < end]



def set_settings(db: MigratedDatabase, **fields: Any) -> None:
    uow = db.unit_of_work(admin())
    recipients.put_settings(uow, uow.context, NotificationSettings(**fields))


def mails(db: MigratedDatabase) -> list[OutgoingMail]:
    return list(db.unit_of_work().session.scalars(sa.select(OutgoingMail).order_by(OutgoingMail.created_at,
                                                                                   OutgoingMail.recipient)))


def delivered(db: MigratedDatabase) -> list[email.message.EmailMessage]:
    transport = FakeTransport()
    while deliver_next(db.unit_of_work(), transport, "Portal <no-reply@portal.test>", RetryPolicy(), now=NOW):
        pass
    return [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in transport.sent]


def csv_rows(message: email.message.EmailMessage) -> list[dict[str, str]]:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/csv"
    return list(csv.DictReader(io.StringIO(attachment.get_content())))


def test_a_daily_summary_goes_to_each_subscribed_recipient_with_the_csv_attached(notify_db):
    set_settings(notify_db, frequency="daily", csv_delivery="attachment")
    add(notify_db, "ops@northwind.example", "summary_report", display_name="Ops")
    add(notify_db, "boss@northwind.example", "summary_report")
    add(notify_db, "trials@northwind.example", "trial_accounts_report")

    scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), FakeTenancy(), LINKS, NOW)

    messages = {m["To"].addresses[0].addr_spec: m for m in delivered(notify_db)}
    assert set(messages) == {"ops@northwind.example", "boss@northwind.example", "trials@northwind.example"}
    summary = messages["ops@northwind.example"]
    assert summary["Subject"] == "Backup summary report: Northwind Backup, 2026-11-25"
    rows = {r["Account"]: r for r in csv_rows(summary)}
    assert rows["Coho Winery"]["Partner"] == "Contoso IT" and rows["Blue Yonder"]["Partner"] == "Direct Accounts"
    assert (rows["Coho Winery"]["Successful runs"], rows["Coho Winery"]["Failed runs"]) == ("1", "1")
    trials = csv_rows(messages["trials@northwind.example"])
    assert [(r["Account"], r["Trial status"]) for r in trials] == [("Blue Yonder", "Expiring")]
    [event, _] = notify_db.events("report_sent")
    assert event["payload"]["period_start"] == "2026-11-25T00:00:00Z" and event["payload"]["recipients"] == 2


def test_a_period_is_reported_once_whatever_the_ticks_and_restarts(notify_db):
    set_settings(notify_db, frequency="daily")
    add(notify_db, "ops@northwind.example", "summary_report")
    tenancy = FakeTenancy()

    for minutes in (0, 5, 600):  # ticks of one service, then of a restarted one later that day
        scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), tenancy, LINKS, NOW + timedelta(minutes=minutes))
    scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), tenancy, LINKS, NOW + timedelta(days=1))

    periods = [m.subject.rsplit(", ", 1)[1] for m in mails(notify_db)]
    assert periods == ["2026-11-25", "2026-11-26"]
    assert len(tenancy.run_queries) == 2  # nothing is fetched for a period already claimed


def test_a_claimed_period_is_not_sent_by_a_second_instance(notify_db):
    set_settings(notify_db, frequency="weekly")
    add(notify_db, "ops@northwind.example", "summary_report")
    period = last_complete_period(Frequency.WEEKLY, NOW)
    other_instance = notify_db.unit_of_work()
    assert report_runs.claim(other_instance, TENANT, "summary_report", period, NOW) is not None
    other_instance.commit()

    sent = scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), FakeTenancy(), LINKS, NOW)

    assert sent == 0 and mails(notify_db) == []


def test_when_tenancy_is_away_nothing_is_claimed_and_the_next_tick_sends(notify_db):
    set_settings(notify_db, frequency="daily")
    add(notify_db, "ops@northwind.example", "summary_report")
    tenancy = FakeTenancy()
    tenancy.fail_runs = True

    assert scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), tenancy, LINKS, NOW) == 0
    tenancy.fail_runs = False
    assert scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), tenancy, LINKS, NOW) == 1

    assert len(mails(notify_db)) == 1


def test_exceptions_are_mailed_only_when_there_are_some_but_the_period_is_claimed_either_way(notify_db):
    set_settings(notify_db, frequency="daily")
    add(notify_db, "ops@northwind.example", "exceptions_notification")
    quiet = FakeTenancy()
    quiet.run_rows = [r for r in quiet.run_rows if r.status == "success"]

    scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), quiet, LINKS, NOW)

    assert mails(notify_db) == []
    runs = list(notify_db.unit_of_work().session.scalars(sa.select(ReportRun)))
    assert [(r.report_type, r.recipients) for r in runs] == [("exceptions_notification", 0)]


def test_a_linked_csv_is_served_through_its_signed_link_until_it_expires(notify_db):
    set_settings(notify_db, frequency="daily", csv_delivery="link")
    add(notify_db, "ops@northwind.example", "exceptions_notification")
    scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), FakeTenancy(), LINKS, NOW)

    [message] = delivered(notify_db)
    assert list(message.iter_attachments()) == []
    text = message.get_body(("plain",)).get_content()
    url = next(word for word in text.split() if word.startswith("https://portal.test/api/v1/notifications/"))
    parts = urlsplit(url)
    file_id = uuid.UUID(parts.path.rsplit("/", 1)[1].removesuffix(".csv"))
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    expires, signature = int(query["expires"]), query["signature"]
    assert expires == int((NOW + timedelta(days=7)).timestamp())

    served = report_csv(notify_db.unit_of_work(), KEYS, file_id, expires, signature, now=NOW + timedelta(days=1))
    assert [r["Status"] for r in csv.DictReader(io.StringIO(served.content))] == ["Partially failed", "Failed"]
    with pytest.raises(PermissionDenied, match="expired"):
        report_csv(notify_db.unit_of_work(), KEYS, file_id, expires, signature, now=NOW + timedelta(days=8))
    with pytest.raises(PermissionDenied, match="not valid"):
        report_csv(notify_db.unit_of_work(), KEYS, file_id, expires + 3600, signature, now=NOW)


# ---- Backup Radar ---------------------------------------------------------------------------------------


def test_the_backup_radar_csv_goes_daily_per_partner_in_the_generic_parser_format(notify_db):
    configured(notify_db)
    update(notify_db, distributor_admin(), report_email="inbound@radar.example")
    tenancy = FakeTenancy(RADAR_DISTRIBUTOR)

    backup_radar_daily.run_backup_radar_daily(notify_db.unit_of_work(), tenancy, NOW)
    backup_radar_daily.run_backup_radar_daily(notify_db.unit_of_work(), tenancy, NOW + timedelta(hours=3))

    [message] = delivered(notify_db)  # Contoso's runs; the direct accounts had none yesterday
    assert message["Subject"].startswith("Backup Report CSV")
    assert message["To"].addresses[0].addr_spec == "inbound@radar.example"
    rows = csv_rows(message)
    assert list(rows[0]) == ["Device", "Status", "Backup Date", "Job", "Client", "Data Size"]
    assert [r["Status"] for r in rows] == ["Success", "Warning", "Failure"]
    assert {r["Client"] for r in rows} == {"Contoso IT"} and rows[0]["Job"] == "Task 0 (onedrive)"


def test_the_account_health_summary_is_queued_once_a_day_as_webhooks(notify_db):
    configured(notify_db)
    tenancy = FakeTenancy(RADAR_DISTRIBUTOR)

    backup_radar_daily.run_backup_radar_daily(notify_db.unit_of_work(), tenancy, NOW)
    backup_radar_daily.run_backup_radar_daily(notify_db.unit_of_work(), tenancy, NOW + timedelta(hours=1))

    [delivery] = notify_db.unit_of_work().session.scalars(sa.select(WebhookDelivery)).all()
    assert delivery.event_type == "account.health" and delivery.source_key == "health:2026-11-25:1"
    body = json.loads(delivery.body)
    assert {a["name"] for a in body["data"]["accounts"]} == {"Coho Winery", "Blue Yonder"}
    assert body["data"]["pages"] == 1


# ---- password reminders ---------------------------------------------------------------------------------


def test_password_reminders_go_once_per_threshold(notify_db):
    user = ExpiringPassword(user_id=uuid.uuid4(), tenant_id=TENANT, email="ann@northwind.example",
                            password_expires_at=NOW + timedelta(days=5))

    def fetch(days: int) -> list[ExpiringPassword]:
        assert days == 7
        return [user]

    password_reminders.run_password_reminders(notify_db.unit_of_work(), fetch, (7, 1), "https://portal.test", NOW)
    password_reminders.run_password_reminders(notify_db.unit_of_work(), fetch, (7, 1), "https://portal.test",
                                              NOW + timedelta(days=1))
    password_reminders.run_password_reminders(notify_db.unit_of_work(), fetch, (7, 1), "https://portal.test",
                                              NOW + timedelta(days=4, hours=12))

    assert [m.subject for m in mails(notify_db)] == ["Your password expires in 5 days",
                                                     "Your password expires in 1 day"]


def test_without_runs_from_tenancy_the_reports_needing_none_still_go(notify_db):
    set_settings(notify_db, frequency="daily")
    add(notify_db, "ops@northwind.example", "summary_report", "trial_accounts_report")
    tenancy = FakeTenancy()
    tenancy.fail_runs = True

    scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), tenancy, LINKS, NOW)

    assert [m.subject.split(":")[0] for m in mails(notify_db)] == ["Trial accounts report"]
    tenancy.fail_runs = False
    scheduled_reports.run_scheduled_reports(notify_db.unit_of_work(), tenancy, LINKS, NOW)
    assert sorted(m.subject.split(":")[0] for m in mails(notify_db)) == ["Backup summary report",
                                                                          "Trial accounts report"]


def test_the_health_summary_goes_even_when_the_csv_cannot_be_made(notify_db):
    configured(notify_db)
    update(notify_db, distributor_admin(), report_email="inbound@radar.example")
    tenancy = FakeTenancy(RADAR_DISTRIBUTOR)
    tenancy.fail_runs = True

    backup_radar_daily.run_backup_radar_daily(notify_db.unit_of_work(), tenancy, NOW)

    assert mails(notify_db) == []
    [delivery] = notify_db.unit_of_work().session.scalars(sa.select(WebhookDelivery)).all()
    assert delivery.event_type == "account.health"
