"""Substring search on text columns, what the user typed matched literally.

``%`` and ``_`` are LIKE's wildcards: a search of ``%`` must not match every row, nor ``_``
any character. Every service's ``search`` (and other "contains" filters) goes through
:func:`contains_text`, which escapes them (and the escape character itself) and compares
lower-cased, so the same expression serves ``lower(column)`` trigram indexes on PostgreSQL
and behaves alike on SQLite. :func:`text_contains` is the same test in Python, for a row
that is not a database row (the dashboard's Direct Accounts row).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

LIKE_ESCAPE = "\\"


def like_pattern(text: str) -> str:
    """``%text%`` lower-cased, with ``\\``, ``%`` and ``_`` escaped by :data:`LIKE_ESCAPE`."""
    escaped = (text.lower().replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
               .replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_"))
    return f"%{escaped}%"


def contains_text(text: str, *columns: Any) -> sa.ColumnElement[bool]:
    """Any of ``columns`` contains ``text``, any case, wildcards taken literally."""
    return contains_pattern(like_pattern(text), *columns)


def contains_pattern(pattern: Any, *columns: Any) -> sa.ColumnElement[bool]:
    """:func:`contains_text` for a pattern made by :func:`like_pattern`, or for a bound
    parameter that will hold one (a statement built once, its values bound per call)."""
    return sa.or_(*(sa.func.lower(column).like(pattern, escape=LIKE_ESCAPE) for column in columns))


def text_contains(text: str, *values: str | None) -> bool:
    """Any of ``values`` contains ``text``, any case: :func:`contains_text` outside SQL."""
    wanted = text.lower()
    return any(value is not None and wanted in value.lower() for value in values)
