"""Reading everything a running suite wrote, for the scans that prove a secret is nowhere in it."""

from __future__ import annotations

import sqlalchemy as sa

from servicekit.settings import normalise_database_url


def database_text(url: str) -> str:
    """Every row of every table, as text."""
    engine = sa.create_engine(normalise_database_url(url))
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        chunks = []
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(sa.select(table)):
                    chunks.append(" ".join(str(value) for value in row))
        return "\n".join(chunks)
    finally:
        engine.dispose()
