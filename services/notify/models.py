"""The notify service's tables (its own database; nobody else reads it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = sa.MetaData()


metadata = Base.metadata
