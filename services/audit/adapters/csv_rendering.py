"""CSV of audit entries rendered off the eventlet hub: an export chunk of thousands of rows
is CPU work that would hold the service's other green threads back (docs/runtime-traps.md §10)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventlet import tpool

from services.audit.domain.csv_export import entries_csv


def entries_csv_off_the_hub(rows: Sequence[Any], header: bool) -> str:
    return str(tpool.execute(entries_csv, rows, header))
