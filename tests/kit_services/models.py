"""Tables of the two small services the kit's own tests run (not part of the product)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = sa.MetaData()


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    text: Mapped[str] = mapped_column(sa.String(200))


class CountedNote(Base):
    """The consumer's side effect: one row per note it was told about."""

    __tablename__ = "counted_notes"

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True, autoincrement=True)
    note_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid())


metadata = Base.metadata
