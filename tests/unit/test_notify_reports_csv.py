"""The CSV of the reports and Backup Radar's generic-parser format."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.tenancy import AccountRow, RunListRow, RunStatus
from services.notify.domain.backup_radar_content import CSV_HEADER, generic_parser_csv, radar_status
from services.notify.domain.periods import Period
from services.notify.domain.report_content import (
    OwnedAccount,
    ReportInput,
    csv_cell,
    exceptions_report,
    human_size,
    summary_report,
    trials_report,
)

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
DAY = Period(datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC))
PARTNER = uuid.uuid4()


def run(status: str, account: str = "Coho Winery", task: str = "Mailboxes", minutes: int = 0,
        account_id: uuid.UUID | None = None, size: int = 3 * 2**30) -> RunListRow:
    return RunListRow(run_id=uuid.uuid4(), task_id=uuid.uuid4(), task_name=task, service="exchange",
                  account_id=account_id or uuid.uuid4(), account_name=account, owner_id=PARTNER, status=status,
                  started_at=T0 + timedelta(minutes=minutes), finished_at=T0 + timedelta(minutes=minutes + 30),
                  size_bytes=size, seats=10)


def account(name: str, status: str = "monthly_subscribed", backup: str = "successful", **extra) -> AccountRow:
    return AccountRow(id=extra.pop("id", uuid.uuid4()), owner_id=PARTNER, name=name, email=f"it@{name[:4]}.example",
                      account_status=status, backup_status=backup, size_bytes=2**30, seats=5, tasks=1, **extra)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_generic_parser_csv_maps_every_run_status():
    text, rows = generic_parser_csv("Contoso IT", [run("success", minutes=0), run("partial", minutes=1),
                                                   run("failure", minutes=2)])

    parsed = parse(text)
    assert rows == 3
    assert tuple(parsed[0]) == CSV_HEADER
    assert [r["Status"] for r in parsed] == ["Success", "Warning", "Failure"]
    assert parsed[0] == {"Device": "Coho Winery", "Status": "Success", "Backup Date": "2026-11-25 02:30:00",
                         "Job": "Mailboxes (exchange)", "Client": "Contoso IT", "Data Size": "3.00 GB"}


@pytest.mark.parametrize(("status", "label"), [("success", "Success"), ("partial", "Warning"),
                                               ("failure", "Failure")])
def test_each_run_status_has_its_backup_radar_status(status, label):
    assert radar_status(status) == label


def test_every_run_status_of_the_contract_is_mapped():
    assert {radar_status(s) for s in RunStatus} == {"Success", "Warning", "Failure"}


def test_a_formula_in_a_name_is_written_as_text():
    text, _ = generic_parser_csv("=HYPERLINK(\"x\")", [run("success", account="+cmd|calc")])

    [row] = parse(text)
    assert row["Device"] == "'+cmd|calc" and row["Client"].startswith("'=")
    assert csv_cell("-1") == "'-1" and csv_cell("Coho") == "Coho"


@pytest.mark.parametrize(("size", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.50 KB"),
                                            (5 * 2**30, "5.00 GB"), (3 * 2**50, "3072.00 TB")])
def test_sizes_are_shown_in_binary_units(size, text):
    assert human_size(size) == text


def test_the_summary_counts_each_accounts_runs_in_the_period():
    coho, fabrikam = account("Coho Winery"), account("Fabrikam")
    data = ReportInput("Northwind", DAY, [OwnedAccount("Contoso IT", coho), OwnedAccount("Contoso IT", fabrikam)],
                       [run("success", account_id=coho.id), run("failure", account_id=coho.id, minutes=60),
                        run("partial", account_id=coho.id)], {PARTNER: "Contoso IT"})

    report = summary_report(data)

    rows = {r["Account"]: r for r in parse(report.csv_text)}
    assert (rows["Coho Winery"]["Successful runs"], rows["Coho Winery"]["Partially failed runs"],
            rows["Coho Winery"]["Failed runs"]) == ("1", "1", "1")
    assert rows["Coho Winery"]["Last run (UTC)"] == "2026-11-25 03:30:00"
    assert rows["Fabrikam"]["Failed runs"] == "0" and rows["Fabrikam"]["Last run (UTC)"] == ""
    assert {f.label: f.value for f in report.figures}["Failed runs"] == "1"
    assert report.lines == ["Coho Winery (Contoso IT): 1 failed, 1 partially failed"]
    assert report.csv_filename == "summary-report-2026-11-25.csv"


def test_exceptions_list_failed_and_partial_runs_only_and_nothing_means_no_report():
    failing = ReportInput("Northwind", DAY, runs=[run("success"), run("failure", task="Drives"),
                                                  run("partial", task="Sites")], owner_names={PARTNER: "Contoso"})
    quiet = ReportInput("Northwind", DAY, runs=[run("success")])

    report = exceptions_report(failing)

    assert report is not None
    assert [(r["Task"], r["Status"]) for r in parse(report.csv_text)] == [("Drives", "Failed"),
                                                                           ("Sites", "Partially failed")]
    assert exceptions_report(quiet) is None


def test_the_trial_report_groups_trials_by_state_and_leaves_subscribed_accounts_out():
    ends = T0 + timedelta(days=2)
    data = ReportInput("Northwind", DAY, [
        OwnedAccount("Contoso", account("Alpha", "trial_expired")),
        OwnedAccount("Contoso", account("Beta", "trial_expiring", trial_ends_at=ends)),
        OwnedAccount("Contoso", account("Gamma", "trial_started")),
        OwnedAccount("Contoso", account("Delta", "annual_subscribed")),
    ])

    report = trials_report(data)

    assert report is not None
    assert [(r["Account"], r["Trial status"]) for r in parse(report.csv_text)] == [
        ("Gamma", "In progress"), ("Beta", "Expiring"), ("Alpha", "Expired")]
    assert {f.label: f.value for f in report.figures} == {"In progress": "1", "Expiring": "1", "Expired": "1"}
    assert report.lines == ["Beta (Contoso): expiring, ends 2026-11-27 02:00:00"]
    assert trials_report(ReportInput("Northwind", DAY, [OwnedAccount("Contoso", account("Delta"))])) is None
