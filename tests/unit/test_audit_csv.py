"""The CSV export's text: RFC 4180 and neutralised formulas (services/audit/domain/csv_export.py)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from services.audit.domain.csv_export import HEADER, entries_csv, neutralise


def entry(**overrides) -> SimpleNamespace:
    """A stored entry as the export reads it."""
    values = {
        "event_id": uuid.uuid4(), "occurred_at": datetime(2026, 11, 26, 10, 3, 6, tzinfo=UTC), "activity": "sign_in",
        "status": "failed", "account_id": None, "account_name": None, "performed_by": "dana@x.example",
        "ip": "203.0.113.7", "description": "Native sign in (Failed: wrong email or password) Chrome from ip 203.0.113.7",
    }
    return SimpleNamespace(**{**values, **overrides})


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
                                  "\tcmd", "\rcmd"])
def test_cells_that_a_spreadsheet_would_run_get_an_apostrophe(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Coho Winery", "203.0.113.7", "2026-11-26 10:03:06", "", "a=b", "'quoted"])
def test_other_cells_are_left_alone(cell):
    assert neutralise(cell) == cell


def test_the_export_is_rfc_4180_with_a_header_and_crlf_lines():
    name = 'Coho "Winery", Ltd.\nSecond line'
    text = entries_csv([entry(account_name=name)], header=True)

    assert text.endswith("\r\n") and text.count("\r\n") == 2
    assert '"Coho ""Winery"", Ltd.\nSecond line"' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(HEADER)
    assert rows[1][:6] == ["2026-11-26 10:03:06", "Sign in", "Failed", name, "dana@x.example", "203.0.113.7"]


def test_a_formula_in_any_column_comes_out_neutralised():
    text = entries_csv([entry(account_name="=HYPERLINK(\"http://evil.example\")", performed_by="@evil",
                              description="-1+1")], header=False)

    row = next(csv.reader(io.StringIO(text, newline="")))
    assert row[3] == "'=HYPERLINK(\"http://evil.example\")"
    assert (row[4], row[6]) == ("'@evil", "'-1+1")


def test_later_chunks_have_no_header_and_the_system_performs_unattributed_actions():
    text = entries_csv([entry(performed_by=None, ip=None)], header=False)

    row = next(csv.reader(io.StringIO(text, newline="")))
    assert row[4] == "System" and row[5] == ""
    assert "Date (UTC)" not in text
