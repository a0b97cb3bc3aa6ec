"""Days and moments a request may carry: ISO 8601 text within 2000-01-01..2100-12-31.

Python's dates end at year 1 and year 9999: a day at either end overflowed the moment a
use case stepped a day, a month or a time zone past it (a 500). And pydantic reads a bare
number as seconds since 1970, so ``as_of=0`` meant 1970-01-01. Every request model's date
field is a ``SaneDate`` or ``SaneDatetime``, and the gateway's own query parsing uses
``check_day`` / ``check_moment``: anything else is refused with a ``ValueError`` naming the
range, which becomes 422 ``validation_failed`` naming the parameter.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
RANGE = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"

_DAY_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def _iso_text(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, date):
            return value
        if not isinstance(value, str) or not pattern.match(value.strip()):
            raise ValueError(f"must be an ISO 8601 {what} (YYYY-MM-DD…) {RANGE}")
        return value
    return check


def check_day(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"must be {RANGE}")
    return value


def check_moment(value: datetime) -> datetime:
    """A moment whose UTC day is in range (a naive one is taken as UTC)."""
    try:
        day = (value.astimezone(UTC) if value.tzinfo is not None else value).date()
    except OverflowError:
        raise ValueError(f"must be {RANGE}") from None
    check_day(day)
    return value


SaneDate = Annotated[date, BeforeValidator(_iso_text(_DAY_TEXT, "date")), AfterValidator(check_day)]
SaneDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text(_MOMENT_TEXT, "date-time")),
                         AfterValidator(check_moment)]
