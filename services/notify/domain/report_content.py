"""The scheduled reports' content: figures for the mail and the CSV detail. Pure domain code.

- **summary report**: one row per account with its runs in the period by outcome;
- **exceptions notification**: every failed or partially failed run in the period (none: no mail);
- **trial accounts report**: trials in progress, expiring and expired (none: no mail).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from contracts.notify import NotificationType
from contracts.tenancy import AccountRow, AccountStatus, RunListRow, RunStatus
from services.notify.domain.periods import Period

SCHEDULED_TYPES = (
    NotificationType.SUMMARY_REPORT,
    NotificationType.EXCEPTIONS_NOTIFICATION,
    NotificationType.TRIAL_ACCOUNTS_REPORT,
)
TITLES = {
    NotificationType.SUMMARY_REPORT: "Backup summary report",
    NotificationType.EXCEPTIONS_NOTIFICATION: "Backup exceptions",
    NotificationType.TRIAL_ACCOUNTS_REPORT: "Trial accounts report",
}
TRIAL_STATUSES = {
    AccountStatus.TRIAL_STARTED: "In progress",
    AccountStatus.TRIAL_EXPIRING: "Expiring",
    AccountStatus.TRIAL_EXPIRED: "Expired",
}
RUN_LABELS = {RunStatus.SUCCESS: "Successful", RunStatus.PARTIAL: "Partially failed", RunStatus.FAILURE: "Failed"}
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_MAIL_LINES = 20
DIRECT_ACCOUNTS = "Direct Accounts"


@dataclass(frozen=True)
class OwnedAccount:
    owner_name: str
    row: AccountRow


@dataclass(frozen=True)
class ReportInput:
    tenant_name: str
    period: Period
    accounts: Sequence[OwnedAccount] = ()
    runs: Sequence[RunListRow] = ()
    owner_names: dict[uuid.UUID, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    label: str
    value: str


@dataclass(frozen=True)
class Report:
    report_type: NotificationType
    title: str
    figures: list[Figure]
    lines: list[str]
    csv_filename: str
    csv_text: str
    rows: int


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text and never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def utc_text(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


def human_size(size_bytes: int) -> str:
    """Binary units, labelled the way backup tools do: ``1.50 GB`` is 1.5 * 2**30 bytes."""
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _filename(report_type: NotificationType, period: Period) -> str:
    return f"{report_type.value.replace('_', '-')}-{period.start.date().isoformat()}.csv"


def _owner_of(data: ReportInput, run: RunListRow) -> str:
    return data.owner_names.get(run.owner_id, DIRECT_ACCOUNTS)


def summary_report(data: ReportInput) -> Report:
    by_account: dict[uuid.UUID, Counter[str]] = defaultdict(Counter)
    last_run: dict[uuid.UUID, datetime] = {}
    for run in data.runs:
        by_account[run.account_id][run.status] += 1
        last_run[run.account_id] = max(run.finished_at, last_run.get(run.account_id, run.finished_at))
    totals: Counter[str] = Counter()
    rows = []
    for owned in sorted(data.accounts, key=lambda a: (a.owner_name.lower(), a.row.name.lower())):
        account = owned.row
        counts = by_account.get(account.id, Counter())
        totals.update(counts)
        rows.append([owned.owner_name, account.name, account.email or "", account.account_status.value,
                     account.backup_status.value, counts[RunStatus.SUCCESS], counts[RunStatus.PARTIAL],
                     counts[RunStatus.FAILURE], utc_text(last_run.get(account.id)), account.size_bytes,
                     account.seats])
    header = ["Partner", "Account", "Email", "Account status", "Backup status", "Successful runs",
              "Partially failed runs", "Failed runs", "Last run (UTC)", "Size (bytes)", "Seats"]
    figures = [Figure("Accounts", str(len(rows)))] + [
        Figure(f"{label} runs", str(totals[status])) for status, label in RUN_LABELS.items()
    ] + [Figure("Protected data", human_size(sum(a.row.size_bytes for a in data.accounts)))]
    failing = [f"{row[1]} ({row[0]}): {row[7]} failed, {row[6]} partially failed"
               for row in rows if row[6] or row[7]]
    kind = NotificationType.SUMMARY_REPORT
    return Report(kind, TITLES[kind], figures, failing[:MAX_MAIL_LINES], _filename(kind, data.period),
                  csv_text(header, rows), len(rows))


def exceptions_report(data: ReportInput) -> Report | None:
    failed = [run for run in data.runs if run.status in (RunStatus.FAILURE, RunStatus.PARTIAL)]
    if not failed:
        return None
    failed.sort(key=lambda r: (_owner_of(data, r).lower(), r.account_name.lower(), r.task_name.lower(),
                               r.finished_at))
    header = ["Partner", "Account", "Task", "Service", "Status", "Started (UTC)", "Finished (UTC)", "Size (bytes)"]
    rows = [[_owner_of(data, r), r.account_name, r.task_name, r.service, RUN_LABELS[RunStatus(r.status)],
             utc_text(r.started_at), utc_text(r.finished_at), r.size_bytes] for r in failed]
    counts = Counter(r.status for r in failed)
    figures = [Figure("Failed runs", str(counts[RunStatus.FAILURE])),
               Figure("Partially failed runs", str(counts[RunStatus.PARTIAL])),
               Figure("Accounts affected", str(len({r.account_id for r in failed})))]
    lines = [f"{r.account_name} / {r.task_name} ({r.service}): {RUN_LABELS[RunStatus(r.status)].lower()}"
             f" at {utc_text(r.finished_at)}" for r in failed]
    kind = NotificationType.EXCEPTIONS_NOTIFICATION
    return Report(kind, TITLES[kind], figures, lines[:MAX_MAIL_LINES], _filename(kind, data.period),
                  csv_text(header, rows), len(rows))


def trials_report(data: ReportInput) -> Report | None:
    trials = [a for a in data.accounts if a.row.account_status in TRIAL_STATUSES]
    if not trials:
        return None
    trials.sort(key=lambda a: (list(TRIAL_STATUSES).index(a.row.account_status), a.owner_name.lower(),
                               a.row.name.lower()))
    header = ["Partner", "Account", "Email", "Trial status", "Trial ends (UTC)", "Backup status"]
    rows = [[a.owner_name, a.row.name, a.row.email or "", TRIAL_STATUSES[a.row.account_status],
             utc_text(a.row.trial_ends_at), a.row.backup_status.value] for a in trials]
    counts = Counter(a.row.account_status for a in trials)
    figures = [Figure(label, str(counts[status])) for status, label in TRIAL_STATUSES.items()]
    lines = [f"{row[1]} ({row[0]}): expiring, ends {row[4]}" for row in rows if row[3] == "Expiring"]
    kind = NotificationType.TRIAL_ACCOUNTS_REPORT
    return Report(kind, TITLES[kind], figures, lines[:MAX_MAIL_LINES], _filename(kind, data.period),
                  csv_text(header, rows), len(rows))


BUILDERS = {
    NotificationType.SUMMARY_REPORT: summary_report,
    NotificationType.EXCEPTIONS_NOTIFICATION: exceptions_report,
    NotificationType.TRIAL_ACCOUNTS_REPORT: trials_report,
}
NEEDS_RUNS = {NotificationType.SUMMARY_REPORT, NotificationType.EXCEPTIONS_NOTIFICATION}
NEEDS_ACCOUNTS = {NotificationType.SUMMARY_REPORT, NotificationType.TRIAL_ACCOUNTS_REPORT}


def build_report(report_type: NotificationType, data: ReportInput) -> Report | None:
    """The report, or None when there is nothing to tell (no exceptions, no trials)."""
    return BUILDERS[report_type](data)
