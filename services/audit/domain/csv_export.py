"""The CSV export's text. Pure: RFC 4180 (``csv`` module, CRLF line ends, quotes doubled) and
safe to open in a spreadsheet: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return would be read as a formula, so it gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from contracts.audit import Activity, activity_label

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = ("Date (UTC)", "Activity", "Status", "Account", "Performed by", "IP address", "Description", "Event ID")


class ExportedEntry(Protocol):
    """What a row of the export is made of (a stored entry as read for the export)."""

    event_id: uuid.UUID
    occurred_at: datetime
    activity: str
    status: str
    account_id: uuid.UUID | None
    account_name: str | None
    performed_by: str | None
    ip: str | None
    description: str


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def entry_cells(entry: ExportedEntry) -> tuple[str, ...]:
    return (
        entry.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
        activity_label(Activity(entry.activity)),
        entry.status.capitalize(),
        entry.account_name or (str(entry.account_id) if entry.account_id else ""),
        entry.performed_by or "System",
        entry.ip or "",
        entry.description,
        str(entry.event_id),
    )


def csv_text(rows: Iterable[Sequence[str]], header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(HEADER)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return out.getvalue()


def entries_csv(entries: Iterable[ExportedEntry], header: bool) -> str:
    return csv_text((entry_cells(entry) for entry in entries), header)
