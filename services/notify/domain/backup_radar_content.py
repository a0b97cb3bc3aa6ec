"""What goes to Backup Radar: webhook payloads and the generic-parser CSV. Pure domain code.

Generic parser CSV (one attachment of a mail whose subject starts ``Backup Report CSV``):

| column | value |
|---|---|
| ``Device`` | the customer account's name |
| ``Status`` | ``Success`` / ``Warning`` / ``Failure`` (a partially failed run is a warning) |
| ``Backup Date`` | when the run finished, ``YYYY-MM-DD HH:MM:SS`` UTC |
| ``Job`` | the backup task's name and its service, e.g. ``Mailboxes (exchange)`` |
| ``Client`` | the partner (or ``Direct Accounts``) the account belongs to |
| ``Data Size`` | the task's stored size after the run, binary units (``1.50 GB``) |
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from contracts.tenancy import AccountRow, AccountView, BackupRunRecorded, RunListRow, RunStatus
from services.notify.domain.report_content import csv_text, human_size, utc_text

CSV_HEADER = ("Device", "Status", "Backup Date", "Job", "Client", "Data Size")
STATUS_LABELS = {RunStatus.SUCCESS: "Success", RunStatus.PARTIAL: "Warning", RunStatus.FAILURE: "Failure"}
SUBJECT_PREFIX = "Backup Report CSV"

BACKUP_RESULT = "backup.result"
ACCOUNT_HEALTH = "account.health"


def radar_status(status: str) -> str:
    return STATUS_LABELS[RunStatus(status)]


def job_name(task_name: str, service: str) -> str:
    return f"{task_name} ({service})"


def generic_parser_csv(client: str, runs: Iterable[RunListRow]) -> tuple[str, int]:
    """The CSV text and its number of data rows, oldest run first."""
    ordered = sorted(runs, key=lambda r: (r.finished_at, r.account_name.lower(), r.task_name.lower()))
    rows = [[r.account_name, radar_status(r.status), utc_text(r.finished_at), job_name(r.task_name, r.service),
             client, human_size(r.size_bytes)] for r in ordered]
    return csv_text(CSV_HEADER, rows), len(rows)


def csv_filename(client: str, day: datetime) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in client).strip("-").lower() or "partner"
    return f"backup-report-{safe}-{day.date().isoformat()}.csv"


def backup_result_data(run: BackupRunRecorded, account: AccountView | None) -> dict[str, Any]:
    """The ``data`` of a ``backup.result`` webhook: one task-level result."""
    task = next((t for t in account.tasks if t.id == run.task_id), None) if account else None
    return {
        "run_id": str(run.run_id),
        "task_id": str(run.task_id),
        "task_name": task.name if task else None,
        "service": task.service.value if task else None,
        "account_id": str(run.account_id),
        "account_name": account.name if account else None,
        "owner_id": str(run.owner_id),
        "status": radar_status(run.status),
        "result": run.status.value,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "size_bytes": run.size_bytes,
        "seats": run.seats,
    }


def account_health_data(distributor_id: uuid.UUID, as_of: datetime, page: int, pages: int,
                        accounts: Sequence[tuple[str, AccountRow]]) -> dict[str, Any]:
    """The ``data`` of an ``account.health`` webhook: one page of the distributor's accounts."""
    return {
        "distributor_id": str(distributor_id),
        "as_of": as_of.isoformat(),
        "page": page,
        "pages": pages,
        "accounts": [
            {
                "account_id": str(row.id),
                "name": row.name,
                "client": client,
                "account_status": row.account_status.value,
                "backup_status": row.backup_status.value,
                "size_bytes": row.size_bytes,
                "seats": row.seats,
                "tasks": row.tasks,
            }
            for client, row in accounts
        ],
    }
