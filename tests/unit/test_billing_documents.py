"""Invoice PDFs open in a PDF reader; consolidated CSVs follow RFC 4180 and defuse formulas."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from contracts.tenancy import Plan
from services.billing.adapters.documents import BillDocument, render_csv, render_pdf, safe_cell
from services.billing.domain.invoicing import InvoiceLine, LineItem

LINES = [
    InvoiceLine(uuid.uuid4(), "Alpine Dental", None, Plan.MONTHLY, 20, 30, 30,
                (LineItem("exchange", 10, Decimal("2.50"), Decimal("25.00")),
                 LineItem("onedrive", 10, Decimal("2.00"), Decimal("20.00")))),
    InvoiceLine(uuid.uuid4(), '=HYPERLINK("http://x","Birch, "Legal"")', uuid.uuid4(), Plan.MONTHLY, 7, 15, 30,
                (LineItem("exchange", 7, Decimal("2.50"), Decimal("8.75")),)),
    InvoiceLine(uuid.uuid4(), "Zürich Ärzte\nGmbH", None, Plan.MONTHLY, 1, 3, 30,
                (LineItem("dropbox", 1, Decimal("2.25"), Decimal("0.23")),)),
]
DOCUMENT = BillDocument(
    reference="INV-2026-000042", consolidated=True, issue_date=date(2026, 12, 1), due_date=date(2026, 12, 31),
    period_start=date(2026, 11, 1), period_end=date(2026, 11, 30), currency="USD", total=Decimal("53.98"),
    bill_to=["Northwind Backup", "Dana Reyes", "1 Harbour St"], lines=LINES,
)


def test_the_pdf_opens_and_shows_the_reference_and_the_total():
    reader = PdfReader(io.BytesIO(render_pdf(DOCUMENT)))
    text = "\n".join(page.extract_text() for page in reader.pages)

    assert "Invoice INV-2026-000042" in text
    assert "USD 53.98" in text
    assert "Alpine Dental" in text and "Northwind Backup" in text


def test_a_paid_bill_is_a_receipt():
    paid = BillDocument(**{**DOCUMENT.__dict__, "paid_on": date(2026, 12, 1), "paid_by": "card"})
    text = PdfReader(io.BytesIO(render_pdf(paid))).pages[0].extract_text()
    assert "Receipt INV-2026-000042" in text


def test_a_long_bill_runs_over_several_pages():
    many = [InvoiceLine(uuid.uuid4(), f"Account {i:03d}", None, Plan.MONTHLY, 1, 30, 30,
                        (LineItem("exchange", 1, Decimal("2.50"), Decimal("2.50")),)) for i in range(120)]
    long = BillDocument(**{**DOCUMENT.__dict__, "lines": many, "total": Decimal("300.00")})
    reader = PdfReader(io.BytesIO(render_pdf(long)))
    assert len(reader.pages) > 2
    assert "USD 300.00" in reader.pages[-1].extract_text()


def test_the_csv_parses_and_its_amounts_sum_to_the_total():
    raw = render_csv(DOCUMENT)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))

    assert len(rows) == 4  # one per account and service
    assert sum(Decimal(row["amount"]) for row in rows) == DOCUMENT.total
    assert {row["reference"] for row in rows} == {"INV-2026-000042"}
    assert rows[3]["account_name"] == "Zürich Ärzte\nGmbH"  # quoted line break survives


def test_the_csv_is_rfc_4180():
    raw = render_csv(DOCUMENT)
    assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == 5  # a header and four records, CRLF each
    assert b'"Z\xc3\xbcrich \xc3\x84rzte\nGmbH"' in raw  # a line break inside a field is quoted
    assert b'"\'=HYPERLINK(""http://x"",""Birch, ""Legal"""")"' in raw  # quoted, quotes doubled, defused


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_cells_a_spreadsheet_would_run_are_defused(value):
    assert safe_cell(value) == "'" + value


def test_plain_cells_are_left_alone():
    assert safe_cell("Alpine Dental") == "Alpine Dental"
