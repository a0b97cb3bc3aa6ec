"""The security audit: search and CSV export (administrators and "view security audit").

The export streams: RPC replies are not streams, so the gateway asks the audit service for
one chunk of CSV at a time (``export_page``, keyset-paged, at most 5,000 entries) and sends
each chunk on as it arrives; neither side ever holds the whole export.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from contracts.audit import (
    MAX_EXPORT_PAGE,
    MAX_PAGE_SIZE,
    VIEW_SECURITY_AUDIT,
    Activity,
    AuditFilters,
    AuditPage,
    AuditQuery,
    ExportPage,
    ExportPageRequest,
)
from contracts.dates import check_day, check_moment
from contracts.errors import ValidationFailed
from gateway.auth import require_permission
from gateway.deps import RequestRpc, Rpc
from servicekit.validation import parse

router = APIRouter(prefix="/audit", tags=["audit"])
can_view_audit = Depends(require_permission(VIEW_SECURITY_AUDIT))

TIME_HELP = "ISO 8601 date or date-time, 2000-01-01..2100-12-31; without an offset it is UTC"


def parse_time(value: str | None, field: str, whole_day_after: bool = False) -> datetime | None:
    """A date means its midnight (UTC), or with ``whole_day_after`` the midnight after it."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = check_day(date.fromisoformat(value))
            return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1 if whole_day_after else 0)
        moment = check_moment(datetime.fromisoformat(value))
    except ValueError as refused:
        reason = str(refused) if str(refused).startswith("must be") else "must be an ISO 8601 date or date-time"
        raise ValidationFailed.for_field(field, reason) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_activities(values: list[str] | None) -> list[Activity]:
    """``activity`` repeated, or comma-separated, or both."""
    names = [name.strip() for value in values or [] for name in value.split(",") if name.strip()]
    try:
        return list(dict.fromkeys(Activity(name) for name in names))
    except ValueError:
        known = ", ".join(a.value for a in Activity)
        raise ValidationFailed.for_field("activity", f"must be one of {known}") from None


def audit_filters(
    date_from: Annotated[str | None, Query(alias="from", max_length=40, description=f"from (inclusive); {TIME_HELP}")
                         ] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40,
                                         description=f"to: a date includes that whole day; {TIME_HELP}")] = None,
    activity: Annotated[list[str] | None, Query(description="activity types, repeated or comma-separated")] = None,
    status: Annotated[str | None, Query(description="completed or failed")] = None,
    account: Annotated[str | None, Query(max_length=200, description="an account id, or part of its name")] = None,
    performed_by: Annotated[str | None, Query(max_length=320, description="the performer's email")] = None,
) -> AuditFilters:
    return parse(AuditFilters, {
        "date_from": parse_time(date_from, "from"), "date_to": parse_time(date_to, "to", whole_day_after=True),
        "activity": parse_activities(activity), "status": status or None, "account": account or None,
        "performed_by": performed_by or None,
    })


Filters = Annotated[AuditFilters, Depends(audit_filters)]


@router.get(
    "",
    response_model=AuditPage,
    dependencies=[can_view_audit],
    summary="The security audit of the caller's tenant and every tenant below it, newest first (or oldest)",
    description="Page by number (`page`, `page_size`) or, for deep paging, pass the previous page's "
                "`next_cursor` as `cursor`. `total` counts at most 10,000 entries (`total_capped`).",
)
def search_audit(
    filters: Filters,
    rpc: Rpc,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 25,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[Literal["-date", "date"], Query(description="`-date` newest first, `date` oldest first")] = "-date",
) -> AuditPage:
    query = parse(AuditQuery, {"filters": filters.to_wire(), "page": page, "page_size": page_size,
                               "cursor": cursor, "sort": sort})
    return rpc.audit.search(query.to_wire())


def export_chunks(rpc: RequestRpc, export_id: uuid.UUID, filters: AuditFilters, first: ExportPage
                  ) -> Iterator[str]:
    page = first
    yield page.csv
    while page.next_cursor is not None:
        request = ExportPageRequest(export_id=export_id, filters=filters, cursor=page.next_cursor,
                                    limit=MAX_EXPORT_PAGE)
        page = rpc.audit.export_page(request.to_wire())
        yield page.csv


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    dependencies=[can_view_audit],
    summary="The same entries as CSV (RFC 4180), streamed; the export is itself audited",
    responses={200: {"content": {"text/csv": {}}, "description": "the CSV file"}},
)
def export_audit(filters: Filters, rpc: Rpc) -> StreamingResponse:
    export_id = uuid.uuid4()
    # The first chunk is fetched before the response starts: a refusal is still a proper error.
    request = ExportPageRequest(export_id=export_id, filters=filters, limit=MAX_EXPORT_PAGE)
    first = rpc.audit.export_page(request.to_wire())
    filename = f"security-audit-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(export_chunks(rpc, export_id, filters, first), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
