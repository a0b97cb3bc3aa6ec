"""Scheduled reports against the real tenancy service: notify's timer fires, its report path
reads partners, accounts and runs from tenancy over RPC, page by page, and mails the CSV.

Real RabbitMQ and PostgreSQL; tenancy and notify run in-process (tests.support.fixtures), the
mail lands in the local Maildir. The tree has more partners, accounts and runs than one
page (200) holds, so a page skipped, repeated or never asked for shows in the CSV.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import mailbox
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.notify import NotificationSettings, RecipientRequest
from contracts.tenancy import BackupRunReport
from servicekit.context import SYSTEM_CALLER
from servicekit.settings import normalise_database_url
from services.notify.adapters.models import ReportRun
from services.notify.adapters.upstream import PAGE_SIZE
from services.notify.entrypoints import NotifyService
from services.notify.usecases import recipients
from services.tenancy.entrypoints import TenancyService
from services.tenancy.usecases import backups
from tests.support.fixtures import MigratedDatabase, wait_for
from tests.usecases.tenancy_world import World, admin_of, build_world
from tests.usecases.tenancy_world import run as tenancy_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = PAGE_SIZE + 3  # two pages of partners
BIG_PARTNER_ACCOUNTS = PAGE_SIZE + 7  # two pages of one partner's accounts, and of the day's runs
RECIPIENT = "reports@northwind.example"


@pytest.fixture
def urls(database_url: Callable[[str], str]) -> dict[str, str]:
    return {name: database_url(name) for name in ("tenancy", "notify")}


@pytest.fixture
def databases(urls: dict[str, str]) -> Iterator[dict[str, MigratedDatabase]]:
    """Both services' databases, migrated, to arrange the tree and the recipients before the start."""
    prepared = {name: MigratedDatabase(name, ROOT / "services" / name / "adapters" / "migrations", normalise_database_url(url))
                for name, url in urls.items()}
    yield prepared
    for db in prepared.values():
        db.dispose()


def build_tree(world: World, yesterday_noon: datetime, now: datetime) -> dict[str, str]:
    """Partners (the first one big), each account with one task and one run finished yesterday.
    Returns account name → partner name ("Direct Accounts" for the distributor's own)."""
    expected: dict[str, str] = {}
    partners = [world.add_partner(f"Partner {n:03d}") for n in range(PARTNERS)]
    owners = [(partners[0], f"Big {n:03d}") for n in range(BIG_PARTNER_ACCOUNTS)]
    owners += [(partners[1], "Small 1"), (None, "Direct 1"), (None, "Direct 2")]
    runs: list[BackupRunReport] = []
    for minute, (owner, name) in enumerate(owners):
        account = world.add_account(name, owner)
        task = world.add_task(account)
        finished = yesterday_noon + timedelta(seconds=minute)
        planned = tenancy_run(task)
        runs.append(planned.model_copy(update={"started_at": finished - timedelta(minutes=5),
                                               "finished_at": finished}))
        expected[name] = owner.name if owner is not None else "Direct Accounts"
    uow = world.db.unit_of_work(SYSTEM_CALLER)
    reply = backups.ingest_runs(uow, uow.context, runs, now=now)
    assert reply.accepted == len(runs)
    return expected


def report_mails(maildir: Path) -> list[email.message.EmailMessage]:
    if not maildir.exists():
        return []
    messages = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
                for m in mailbox.Maildir(maildir, create=False)]
    return [m for m in messages if m["Subject"].startswith("Backup summary report")]


@pytest.mark.calendar
def test_the_timer_sends_a_summary_with_every_account_of_a_tree_larger_than_a_page_once(
        start_services, urls, databases, tmp_path, monkeypatch):
    monkeypatch.delenv("NOTIFY_SMTP_HOST", raising=False)
    now = datetime.now(UTC)
    yesterday_noon = now.replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    world = build_world(databases["tenancy"])
    expected = build_tree(world, yesterday_noon, now)
    admin = admin_of(world.distributor, email="admin@northwind.example")
    notify = databases["notify"].unit_of_work(admin)
    recipients.put_settings(notify, notify.context, NotificationSettings(frequency="daily",
                                                                       csv_delivery="attachment"))
    notify = databases["notify"].unit_of_work(admin)
    recipients.add_recipient(notify, notify.context, RecipientRequest(email=RECIPIENT, types=["summary_report"]))
    databases["notify"].unit_of_work().close()

    # Two runners, stopped in reverse: notify (whose timer may be mid-call) before tenancy.
    start_services(TenancyService, env={"TENANCY_DATABASE_URL": urls["tenancy"]})
    start_services(NotifyService, env={
        "NOTIFY_DATABASE_URL": urls["notify"],
        "NOTIFY_SCHEDULE_SECONDS": "0.5",  # the timer, not a direct call, runs the schedules
        # identity is not running here: its reminders job gives up quickly (its queue may exist,
        # left by an earlier test of the session, with nobody consuming it).
        "NOTIFY_RPC_TIMEOUT_SECONDS": "5",
    })

    [message] = wait_for(lambda: report_mails(tmp_path / "var" / "mail"), timeout=60,
                         message="the summary report mailed by the scheduler")
    assert message["To"].addresses[0].addr_spec == RECIPIENT
    assert message["Subject"] == f"Backup summary report: Northwind, {yesterday_noon.date().isoformat()}"
    [attachment] = list(message.iter_attachments())
    rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
    seen = Counter(row["Account"] for row in rows)
    assert len(rows) == len(expected) == BIG_PARTNER_ACCOUNTS + 3
    assert set(seen) == set(expected) and set(seen.values()) == {1}  # every account, each once
    assert {row["Account"]: row["Partner"] for row in rows} == expected
    # Every run of the day was read (they span two pages of list_backup_runs), none twice.
    assert {(row["Successful runs"], row["Failed runs"]) for row in rows} == {("1", "0")}
    with databases["notify"].engine.connect() as connection:
        claims = connection.execute(sa.select(ReportRun.rows).where(ReportRun.report_type == "summary_report")).all()
    assert [c.rows for c in claims] == [len(expected)]  # one period claimed, whatever the ticks since
