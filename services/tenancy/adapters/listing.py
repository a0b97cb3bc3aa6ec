"""Search and paging shared by the partner and account lists."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from servicekit.text_search import contains_pattern, like_pattern
from services.tenancy.adapters.models import Tenant


def search_condition(text: str) -> sa.ColumnElement[bool]:
    """Name or email contains ``text``, any case (trigram indexes serve it on PostgreSQL)."""
    return search_matches(like_pattern(text))


def search_matches(pattern: Any) -> sa.ColumnElement[bool]:
    """:func:`search_condition` for a LIKE pattern (``like_pattern``), or a bound parameter
    that will hold one (a statement built once)."""
    return contains_pattern(pattern, Tenant.name, Tenant.email)


def count(session: Session, query: sa.Select) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one())


def page_of(session: Session, query: sa.Select, page: int, page_size: int) -> tuple[list[Any], int]:
    """One page of ``query`` and how many rows it has in all, in one round trip (a window count).

    Only a page past the end needs a second query for the total.
    """
    counted = query.add_columns(sa.func.count().over().label("_total"))
    rows = list(session.execute(counted.offset((page - 1) * page_size).limit(page_size)).all())
    if rows:
        return rows, int(rows[0]._total)
    return rows, 0 if page == 1 else count(session, query)
