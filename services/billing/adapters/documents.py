"""Bills as documents: the invoice (or receipt) as a PDF, the detail of a consolidated bill
as CSV. Pure code: a :class:`BillDocument` in, bytes out.

The PDF is drawn with fpdf2 and its core Helvetica font, which covers Latin-1: other
characters in a name are shown as "?" (the CSV keeps them, UTF-8).

The CSV follows RFC 4180 (comma-separated, CRLF line ends, fields with commas, quotes or
line breaks quoted, quotes doubled; UTF-8) with one row per account and backup service;
its ``amount`` column sums to the invoice total. Text cells that a spreadsheet would run
as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are
prefixed with an apostrophe.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from eventlet import tpool
from fpdf import FPDF

from contracts.billing import CONSOLIDATED_BILL, DocumentFormat, DocumentReply
from contracts.errors import NotFound
from services.billing.domain.invoicing import InvoiceLine
from services.billing.domain.money import format_money

SELLER = ("Backup Reseller Portal", "billing@portal.example")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("reference", "period_start", "period_end", "account_id", "account_name", "partner_id", "plan",
               "service", "seats", "unit_price", "days", "period_days", "amount", "currency")


@dataclass(frozen=True)
class BillDocument:
    reference: str
    consolidated: bool
    issue_date: date
    due_date: date
    period_start: date
    period_end: date
    currency: str
    total: Decimal
    bill_to: Sequence[str]
    lines: Sequence[InvoiceLine]
    paid_on: date | None = None
    paid_by: str | None = None

    @property
    def title(self) -> str:
        return "Receipt" if self.paid_on else "Invoice"


def safe_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def render_csv(document: BillDocument) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for line in document.lines:
        for item in line.items:
            writer.writerow([
                document.reference, document.period_start.isoformat(), document.period_end.isoformat(),
                str(line.account_id), safe_cell(line.account_name), str(line.partner_id or ""), line.plan.value,
                safe_cell(item.service or "unclassified"), item.seats, f"{item.unit_price:.2f}", line.days,
                line.period_days, f"{item.amount:.2f}", document.currency,
            ])
    return out.getvalue().encode("utf-8")


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.cell(0, 10, f"Page {self.page_no()}/{{nb}}", align="C")


def render_pdf(document: BillDocument) -> bytes:
    pdf = _Pdf(format="A4")
    pdf.set_title(f"{document.title} {document.reference}")
    pdf.set_author(SELLER[0])
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, f"{document.title} {document.reference}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    facts = [
        ("Issued", document.issue_date.isoformat()),
        ("Due", document.due_date.isoformat()),
        ("Period", f"{document.period_start.isoformat()} to {document.period_end.isoformat()}"),
        ("Bill", CONSOLIDATED_BILL if document.consolidated else "Annual subscription"),
    ]
    if document.paid_on:
        facts.append(("Paid", f"{document.paid_on.isoformat()} ({document.paid_by or 'payment'})"))
    for label, value in facts:
        pdf.cell(30, 6, label)
        pdf.cell(0, 6, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(95, 6, "From")
    pdf.cell(0, 6, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for index in range(max(len(SELLER), len(document.bill_to))):
        pdf.cell(95, 5, SELLER[index] if index < len(SELLER) else "")
        pdf.cell(0, 5, _latin1(document.bill_to[index]) if index < len(document.bill_to) else "",
                 new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    widths = (70, 30, 20, 16, 24, 30)
    pdf.set_font("Helvetica", "B", 9)
    for width, heading in zip(widths, ("Account", "Service", "Seats", "Days", "Unit price", "Amount"), strict=True):
        pdf.cell(width, 7, heading, border="B", align="L" if heading in ("Account", "Service") else "R")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for line in document.lines:
        for position, item in enumerate(line.items):
            name = _latin1(line.account_name)[:40] if position == 0 else ""
            cells = (name, (item.service or "other").replace("_", " "), str(item.seats),
                     f"{line.days}/{line.period_days}", f"{item.unit_price:.2f}", f"{item.amount:,.2f}")
            for width, value, align in zip(widths, cells, "LLRRRR", strict=True):
                pdf.cell(width, 6, value, align=align)
            pdf.ln()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(sum(widths[:-1]), 8, "Total", border="T", align="R")
    pdf.cell(widths[-1], 8, format_money(document.total, document.currency), border="T", align="R",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    pdf.ln(4)
    pdf.multi_cell(0, 4, "Prices are per protected seat; monthly lines are prorated by the days the account was "
                         "subscribed in the period. Amounts are rounded half up to the cent per line item.")
    return bytes(pdf.output())


def render(document: BillDocument, fmt: DocumentFormat) -> DocumentReply:
    """The document's bytes (CPU-bound: see render_off_the_hub)."""
    if fmt is DocumentFormat.CSV:
        if not document.consolidated:
            raise NotFound("the detailed CSV is for consolidated bills")
        content, content_type = render_csv(document), "text/csv; charset=utf-8"
    else:
        content, content_type = render_pdf(document), "application/pdf"
    return DocumentReply(filename=f"{document.reference}.{fmt.value}", content_type=content_type,
                         content_base64=base64.b64encode(content).decode("ascii"))


def render_off_the_hub(document: BillDocument, fmt: DocumentFormat) -> DocumentReply:
    """PDF and CSV rendering is CPU work: in a native thread, so the service's other green
    threads keep running (docs/runtime-traps.md §10)."""
    return tpool.execute(render, document, fmt)
