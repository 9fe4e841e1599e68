"""The declarative base and the columns every user-owned row shares."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    any_,
    bindparam,
    func,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class Archivable:
    """Archived rows stay but leave the default lists."""

    archived: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserOwned(Timestamped):
    """A row that belongs to one user and goes with them."""

    @declared_attr
    def user_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"))


PRIORITIES = ("low", "medium", "high", "urgent")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK expression keeping ``column`` within ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# Columns kept for the database's own use (search), never read back into objects.
INTERNAL_COLUMNS = frozenset({"search_vector"})


def among(
    column: ColumnElement[Any] | InstrumentedAttribute[Any], values: Iterable[Any] | BindParameter[Any]
) -> ColumnElement[bool]:
    """``column = ANY($1)``: one parameter however many values. ``IN`` renders a parameter for each, so a
    batch of 2,000 ids is a statement text of its own, prepared again, for every size a batch comes in."""
    if isinstance(values, BindParameter):
        return column == any_(values)
    return column == any_(literal(list(values), ARRAY(column.type)))


USER, IDS = "_user", "_ids"  # the names of the parameters below


def the_user() -> BindParameter[Any]:
    """The user a statement reads for, named: a statement built once is run for each user by this name."""
    return bindparam(USER, value=None, type_=UUID(as_uuid=True))


def the_ids() -> BindParameter[Any]:
    """The ids a batched statement reads, named (``among(column, the_ids())``)."""
    return bindparam(IDS, value=None, type_=ARRAY(UUID(as_uuid=True)))


def readable(table: Table) -> list[Column[Any]]:
    """The columns a read returns: all but the internal ones."""
    return [column for column in table.c if column.name not in INTERNAL_COLUMNS]


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model, for reads that want rows rather than ORM objects."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
