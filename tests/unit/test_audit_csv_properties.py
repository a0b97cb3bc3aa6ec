"""Properties of CSV neutralisation: the audit export (services/audit/domain/csv_export.py), the
reports' CSV (services/notify/domain/report_content.py) and the bill detail (services/billing/adapters/documents.py).
Whatever the text, a spreadsheet reads every cell back as that text (RFC 4180 round trip)
and never as a formula."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.audit import Activity
from services.audit.domain import csv_export
from services.billing.adapters.documents import safe_cell
from services.notify.domain import report_content

# No per-example deadline: the machine is shared and timing is not what is tested.
PROPERTY = settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Text rich in what breaks CSV and what spreadsheets run: quotes, separators, line ends, triggers.
cells = st.text(alphabet=st.sampled_from(list('=+-@\t\r\n",;\'ab1 é')) | st.characters(codec="utf-8"), max_size=30)
NEUTRALISERS = (csv_export.neutralise, report_content.csv_cell, safe_cell)


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@PROPERTY
@given(cells)
def test_a_neutralised_cell_never_starts_a_formula_and_keeps_the_text(cell):
    for neutralise in NEUTRALISERS:
        safe = neutralise(cell)

        assert not safe.startswith(TRIGGERS)
        assert safe == cell or (cell.startswith(TRIGGERS) and safe == "'" + cell)
        assert neutralise(safe) == safe  # neutralising twice changes nothing more


@PROPERTY
@given(st.lists(st.lists(cells, min_size=1, max_size=6), max_size=8))
def test_the_audit_csv_reads_back_row_for_row_and_cell_for_cell(rows):
    text = csv_export.csv_text(rows, header=True)

    parsed = read(text)

    assert parsed[0] == list(csv_export.HEADER)
    assert parsed[1:] == [[csv_export.neutralise(cell) for cell in row] for row in rows]
    assert all(not cell.startswith(TRIGGERS) for row in parsed for cell in row)


@dataclass
class Entry:
    event_id: uuid.UUID
    occurred_at: datetime
    activity: str
    status: str
    account_id: uuid.UUID | None
    account_name: str | None
    performed_by: str | None
    ip: str | None
    description: str


@PROPERTY
@given(st.builds(Entry, event_id=st.uuids(), occurred_at=st.datetimes(timezones=st.just(UTC)),
                 activity=st.sampled_from([a.value for a in Activity]), status=st.sampled_from(["completed", "failed"]),
                 account_id=st.none() | st.uuids(), account_name=st.none() | cells, performed_by=st.none() | cells,
                 ip=st.none() | cells, description=cells))
def test_an_audit_entry_row_has_eight_safe_cells(entry):
    [row] = read(csv_export.entries_csv([entry], header=False))

    assert len(row) == len(csv_export.HEADER)
    assert row[7] == str(entry.event_id)
    assert row[6] == csv_export.neutralise(entry.description)
    assert all(not cell.startswith(TRIGGERS) for cell in row)


@PROPERTY
@given(st.lists(cells, min_size=1, max_size=5).flatmap(
    lambda header: st.tuples(st.just(header), st.lists(st.lists(st.none() | cells | st.integers(),
                                                                 min_size=len(header), max_size=len(header)),
                                                        max_size=6))))
def test_the_reports_csv_reads_back_with_safe_cells(table):
    header, rows = table

    parsed = read(report_content.csv_text(header, rows))

    assert parsed[0] == list(header)
    assert parsed[1:] == [[report_content.csv_cell(cell) for cell in row] for row in rows]
    assert all(not cell.startswith(TRIGGERS) for row in parsed[1:] for cell in row)
