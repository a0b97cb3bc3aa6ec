"""Backup tasks and run ingest: idempotent, out-of-order safe, roll-ups by deltas (SQLite)."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict

import pytest
import sqlalchemy as sa

from contracts.context import Caller
from contracts.errors import Conflict, NotFound, PermissionDenied
from contracts.tenancy import AccountListQuery, BackupTaskRequest, PartnerListQuery, RemoveAccountRequest, TaskState
from services.tenancy.adapters.models import Account, OwnerRollup
from services.tenancy.domain.rollups import AccountRollup, LatestRun, is_newer
from services.tenancy.usecases import accounts, backups, partner_list
from tests.usecases.tenancy_world import NOW, World, admin_of, build_world, operator, run


@pytest.fixture
def world(tenancy_db) -> World:
    return build_world(tenancy_db)


def account_of(world: World, account_id):
    uow = world.uow()
    return accounts.get_account(uow, uow.context, account_id, now=NOW)


def test_the_same_run_ingested_twice_counts_once(world):
    account = world.add_account("Coho")
    report = run(world.add_task(account), size=1000, seats=4)

    first = world.ingest(report)
    again = world.ingest(report, report)

    assert (first.accepted, first.duplicates) == (1, 0)
    assert (again.accepted, again.duplicates) == (0, 2)
    view = account_of(world, account.id)
    assert (view.size_bytes, view.seats, view.tasks[0].runs) == (1000, 4, 1)
    assert [len(e["payload"]["runs"]) for e in world.db.events("backup_runs_recorded")] == [1]


def test_an_older_run_arriving_late_does_not_replace_the_latest(world):
    account = world.add_account("Coho")
    task = world.add_task(account)

    world.ingest(run(task, "success", hours=5, size=900))
    late = world.ingest(run(task, "failure", hours=1, size=100))

    view = account_of(world, account.id)
    assert late.accepted == 1
    assert view.backup_status == "successful" and view.size_bytes == 900
    assert view.tasks[0].last_run.finished_at.hour == (NOW.hour + 5) % 24
    assert view.tasks[0].runs == 2
    assert world.db.events("backup_runs_recorded")[-1]["payload"]["runs"][-1]["latest"] is False


def test_within_one_batch_the_newest_run_wins_whatever_its_position(world):
    account = world.add_account("Coho")
    task = world.add_task(account)

    world.ingest(run(task, "partial", hours=3, size=300), run(task, "success", hours=1, size=100))

    view = account_of(world, account.id)
    assert (view.backup_status, view.size_bytes) == ("partially_failed", 300)


def test_a_run_of_an_unknown_task_is_rejected_alone(world):
    account = world.add_account("Coho")
    good = run(world.add_task(account))
    stray = run(uuid.uuid4())

    reply = world.ingest(stray, good)

    assert reply.accepted == 1
    assert [(r.index, r.task_id, r.code) for r in reply.rejected] == [(0, stray.task_id, "not_found")]


def test_statuses_and_sizes_follow_the_runs_up_to_the_partner_row(world):
    partner = world.add_partner("Contoso")
    first, second = world.add_account("First", partner), world.add_account("Second", partner)
    mail, drive = world.add_task(first), world.add_task(first, "onedrive", "Files")
    other = world.add_task(second)

    world.ingest(run(mail, size=100, seats=10), run(drive, "failure", size=50, seats=10), run(other, size=5, seats=1))
    uow = world.uow()
    row = partner_list.list_partners(uow, uow.context, PartnerListQuery()).items[0]
    uow = world.uow()
    page = accounts.list_accounts(uow, uow.context, AccountListQuery(partner_id=partner.id), now=NOW)

    assert {r.name: r.backup_status for r in page.items} == {"First": "partially_failed", "Second": "successful"}
    assert (row.size_bytes, row.seats, row.task_status) == (155, 21, "failures")
    world.ingest(run(drive, "success", hours=1, size=60, seats=10))
    uow = world.uow()
    row = partner_list.list_partners(uow, uow.context, PartnerListQuery()).items[0]
    assert (row.size_bytes, row.task_status) == (165, "successful")
    changes = world.db.events("account_status_changed")
    assert (changes[-1]["payload"]["previous_backup_status"], changes[-1]["payload"]["backup_status"]) == (
        "partially_failed", "successful")


def latest_by_task(reports) -> dict[uuid.UUID, LatestRun]:
    """From scratch: the latest run of each task among all reports."""
    latest: dict[uuid.UUID, LatestRun] = {}
    for report in reports:
        candidate = LatestRun(report.run_id, report.status, report.finished_at, report.size_bytes, report.seats)
        if is_newer(candidate, latest.get(report.task_id)):
            latest[report.task_id] = candidate
    return latest


def test_incremental_roll_ups_equal_a_recomputation_from_all_runs(world):
    rng = random.Random(7)
    partner = world.add_partner("Contoso")
    owners = {}
    tasks_of = defaultdict(list)
    for index in range(4):
        owner = partner if index % 2 else None
        account = world.add_account(f"Account {index}", owner)
        owners[account.id] = account.owner_id
        for service in ("exchange", "onedrive")[: 1 + index % 2]:
            tasks_of[account.id].append(world.add_task(account, service, service))
    task_account = {task: account for account, tasks in tasks_of.items() for task in tasks}
    reports = [
        run(task, rng.choice(["success", "partial", "failure"]), hours=rng.randint(0, 48),
            size=rng.randint(0, 10**6), seats=rng.randint(0, 50))
        for task in task_account for _ in range(6)
    ]
    rng.shuffle(reports)
    for start in range(0, len(reports), 5):  # batches arriving in any order, some sent twice
        world.ingest(*reports[start : start + 5])
        if start % 10 == 0:
            world.ingest(*reports[start : start + 5])

    latest = latest_by_task(reports)
    expected_accounts: dict[uuid.UUID, AccountRollup] = {}
    for account_id, tasks in tasks_of.items():
        rollup = AccountRollup(tasks=len(tasks))
        for task in tasks:
            rollup = rollup.with_latest(None, latest[task])
        expected_accounts[account_id] = rollup
    with world.db.engine.connect() as connection:
        stored = {row.id: row for row in connection.execute(sa.select(Account))}
        owner_rows = {row.owner_id: row for row in connection.execute(sa.select(OwnerRollup))}
    for account_id, expected in expected_accounts.items():
        row = stored[account_id]
        assert (row.size_bytes, row.seats, row.tasks, row.backup_status) == (
            expected.size_bytes, expected.seats, expected.tasks, expected.backup_status.value)
    for owner_id in set(owners.values()):
        mine = [expected_accounts[a] for a, o in owners.items() if o == owner_id]
        row = owner_rows[owner_id]
        assert (row.accounts, row.tasks, row.size_bytes, row.seats) == (
            len(mine), sum(r.tasks for r in mine), sum(r.size_bytes for r in mine), sum(r.seats for r in mine))
        assert row.backup_failed == sum(r.backup_status == "failed" for r in mine)
        assert row.backup_partially_failed == sum(r.backup_status == "partially_failed" for r in mine)
        assert row.backup_successful == sum(r.backup_status == "successful" for r in mine)


def test_only_the_engine_operators_or_the_system_report_runs(world):
    account = world.add_account("Coho")
    report = run(world.add_task(account))
    engine = Caller(engine_key_id=uuid.uuid4())

    for pretender in (admin_of(world.distributor), admin_of(world.distributor, "operator")):
        uow = world.uow(pretender)
        with pytest.raises(PermissionDenied):
            backups.ingest_runs(uow, uow.context, [report], now=NOW)
    uow = world.uow(operator())
    assert backups.ingest_runs(uow, uow.context, [run(report.task_id)], now=NOW).accepted == 1
    uow = world.uow(engine)
    assert backups.ingest_runs(uow, uow.context, [report], now=NOW).accepted == 1


def test_an_engine_key_may_do_nothing_but_report_runs(world):
    account = world.add_account("Coho")
    uow = world.uow(Caller(engine_key_id=uuid.uuid4()))

    with pytest.raises(PermissionDenied):
        accounts.get_account(uow, uow.context, account.id)


def test_a_task_is_added_inactive_then_activated_and_paused(world):
    account = world.add_account("Coho")
    uow = world.uow()
    task = backups.add_backup_task(uow, uow.context, account.id, BackupTaskRequest(service="teams", name="Chats"),
                                   now=NOW)
    uow = world.uow()
    with pytest.raises(Conflict):
        backups.set_task_state(uow, uow.context, account.id, task.id, TaskState.PAUSED, now=NOW)
    uow = world.uow()
    active = backups.set_task_state(uow, uow.context, account.id, task.id, TaskState.ACTIVE, now=NOW)
    uow = world.uow()
    paused = backups.set_task_state(uow, uow.context, account.id, task.id, TaskState.PAUSED, now=NOW)

    assert (task.state, active.state, paused.state) == ("inactive", "active", "paused")
    assert [e["payload"]["change"] for e in world.db.events("backup_task_changed")] == [
        "added", "activated", "paused"]
    view = account_of(world, account.id)
    assert view.backup_status == "no_backup" and len(view.tasks) == 1


def test_a_task_of_another_account_is_not_found_through_this_one(world):
    mine, other = world.add_account("Mine"), world.add_account("Other")
    task = world.add_task(other)
    uow = world.uow()

    with pytest.raises(NotFound):
        backups.set_task_state(uow, uow.context, mine.id, task, TaskState.PAUSED, now=NOW)


def test_a_removed_account_takes_no_new_tasks_and_its_runs_are_unknown(world):
    account = world.add_account("Annual", subscription="subscribe_annual")
    task = world.add_task(account)

    uow = world.uow()
    accounts.remove_account(uow, uow.context, account.id, RemoveAccountRequest(approve_data_removal=True), now=NOW)

    uow = world.uow()
    with pytest.raises(Conflict):
        backups.add_backup_task(uow, uow.context, account.id, BackupTaskRequest(service="box", name="Box"), now=NOW)
    assert world.ingest(run(task)).rejected[0].code == "not_found"
