"""The shared substring search: LIKE's wildcards typed by a user are text, on a real SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from servicekit.text_search import contains_text, like_pattern, text_contains

ROWS = ["100% Cloud", "1000 Clouds", "ann_lee", "annalee", "back\\slash", "plain"]


def test_the_pattern_escapes_the_wildcards_and_the_escape_character():
    assert like_pattern("A%b_C\\") == "%a\\%b\\_c\\\\%"


@pytest.mark.parametrize(("text", "expected"), [
    ("%", ["100% Cloud"]), ("_", ["ann_lee"]), ("\\", ["back\\slash"]), ("100%", ["100% Cloud"]),
    ("n_l", ["ann_lee"]), ("CLOUD", ["100% Cloud", "1000 Clouds"]), ("%%", []),
])
def test_contains_text_matches_what_was_typed_literally_and_text_contains_agrees(text, expected):
    engine = sa.create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), sa.Column("name", sa.String), sa.Column("other", sa.String))
    table.create(engine)
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"name": name, "other": "-"} for name in ROWS])
        found = connection.execute(
            sa.select(table.c.name).where(contains_text(text, table.c.name, table.c.other)).order_by(table.c.name)
        ).scalars().all()
    assert found == expected
    assert [name for name in ROWS if text_contains(text, name, None)] == expected
