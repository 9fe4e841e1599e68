"""Keyset pagination for one list or for many lists at once (one per parent), in a single statement.

A page is chosen by ``first``/``after`` or ``last``/``before`` over an ordering whose keys end with the id,
so a cursor names a position that stays valid while rows are added or removed around it.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, Table, and_, func, null, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.errors import InvalidInput
from aurum.models import readable

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

Decoder = Callable[[Any], Any]
BIGINT = 2**63


def _int(value: Any) -> int:
    if type(value) is not int or not -BIGINT <= value < BIGINT:  # PostgreSQL's bigint at most
        raise ValueError("not a cursor integer")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise ValueError("not a cursor string")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not a cursor boolean")
    return value


def _float(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise ValueError("not a cursor number")
    return float(value)


DECODERS: dict[type, Decoder] = {
    int: _int,
    str: _str,
    bool: _bool,
    float: _float,
    uuid.UUID: uuid.UUID,
    date: date.fromisoformat,
    datetime: datetime.fromisoformat,
    time: time.fromisoformat,
}


@dataclass(frozen=True)
class SortKey:
    """One expression of an ordering and the Python type its cursor value decodes to."""

    expression: ColumnElement[Any]
    python_type: type


@dataclass(frozen=True)
class Ordering:
    name: str
    keys: tuple[SortKey, ...]
    descending: bool = False


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def backward(self) -> bool:
        return self.last is not None and self.first is None

    @property
    def limit(self) -> int:
        return (self.last if self.backward else self.first) or DEFAULT_PAGE_SIZE

    def validate(self) -> PageArgs:
        for name in ("first", "last"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= MAX_PAGE_SIZE:
                raise InvalidInput(f"'{name}' must be between 1 and {MAX_PAGE_SIZE}", [name])
        if self.first is not None and self.last is not None:
            raise InvalidInput("Pass either 'first' or 'last', not both", ["last"])
        return self


@dataclass
class Page:
    rows: list[Any] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    has_next: bool = False
    has_previous: bool = False
    total: int = 0


def encode_cursor(ordering: Ordering, values: Sequence[Any]) -> str:
    payload = orjson.dumps([ordering.name, [_plain(v) for v in values]])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(ordering: Ordering, cursor: str, argument: str) -> tuple[Any, ...]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if name != ordering.name or len(values) != len(ordering.keys):
            raise ValueError("cursor of another ordering")
        return tuple(DECODERS[key.python_type](v) for key, v in zip(ordering.keys, values, strict=True))
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, KeyError):
        raise InvalidInput(f"'{argument}' is not a cursor of this list", [argument]) from None


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    return value


def _position(ordering: Ordering, args: PageArgs) -> ColumnElement[bool]:
    """The rows strictly between the cursors."""
    keys = tuple_(*(k.expression for k in ordering.keys))
    conditions: list[ColumnElement[bool]] = []
    for argument, cursor in (("after", args.after), ("before", args.before)):
        if cursor is None:
            continue
        bound = tuple_(*decode_cursor(ordering, cursor, argument))
        ahead = (argument == "after") != ordering.descending
        conditions.append(keys > bound if ahead else keys < bound)
    return and_(*conditions) if conditions else true()


async def fetch_pages(
    session: AsyncSession,
    table: Table,
    where: Sequence[ColumnElement[bool]],
    ordering: Ordering,
    args: PageArgs,
    partition: ColumnElement[Any] | None = None,
) -> dict[Hashable, Page]:
    """One page per value of ``partition`` (or a single page under the key ``None``)."""
    statement = page_statement(table, where, ordering, args, partition)
    rows = (await session.execute(statement)).all()
    layout = {name: index for index, name in enumerate(rows[0]._fields)} if rows else {}
    pages = paged(rows, args, layout)
    for page in pages.values():
        page.cursors = [row_cursor(ordering, row, layout) for row in page.rows]
    return pages


def paged(rows: Sequence[Any], args: PageArgs, layout: Mapping[str, int]) -> dict[Hashable, Page]:
    """The pages of ``page_statement``'s rows, by parent (their cursors left to ``row_cursor``); ``layout``:
    where each column is in a row (by position: a row's mapping costs twenty times more per look)."""
    pages: dict[Hashable, Page] = {}
    if not rows:
        return pages
    parent, total, in_range, rank = (layout[name] for name in ("_parent", "_total", "_in_range", "_rn"))
    limit, backward = args.limit, args.backward
    for row in rows:
        page = pages.get(row[parent])
        if page is None:
            page = pages[row[parent]] = Page(total=row[total])
        if not row[in_range]:
            # Rows on the far side of the cursor exist: the neighbouring page is not empty.
            page.has_previous |= not backward
            page.has_next |= backward
        elif row[rank] > limit:
            page.has_previous |= backward
            page.has_next |= not backward
        else:
            page.rows.append(row)
    if args.backward:
        for page in pages.values():
            page.rows.reverse()
    return pages


def row_cursor(ordering: Ordering, row: Any, layout: Mapping[str, int]) -> str:
    """The cursor of a row of ``page_statement``."""
    return encode_cursor(ordering, [row[layout[f"_k{i}"]] for i in range(len(ordering.keys))])


def page_statement(
    table: Table,
    where: Sequence[ColumnElement[bool]],
    ordering: Ordering,
    args: PageArgs,
    partition: ColumnElement[Any] | None,
    columns: Sequence[ColumnElement[Any]] | None = None,
) -> Select[Any]:
    """Rank rows per parent inside and outside the cursors; keep a page (plus one) inside, one row outside.
    The rows carry ``columns`` (all the readable ones unless given) and ``_parent``, ``_in_range``,
    ``_k0``… (the ordering's keys, for cursors), ``_total`` and ``_rn``."""
    keys = [k.expression for k in ordering.keys]
    walk_descending = ordering.descending != args.backward
    order = [k.desc() if walk_descending else k.asc() for k in keys]
    parent = partition if partition is not None else null()
    in_range = _position(ordering, args)
    window = [parent, in_range]
    inner = (
        select(
            *(readable(table) if columns is None else columns),
            parent.label("_parent"),
            in_range.label("_in_range"),
            *(k.label(f"_k{i}") for i, k in enumerate(keys)),
            func.count().over(partition_by=parent).label("_total"),
            func.row_number().over(partition_by=window, order_by=order).label("_rn"),
        )
        .where(*where)
        .subquery()
    )
    keep = or_(
        and_(inner.c._in_range, inner.c._rn <= args.limit + 1), and_(~inner.c._in_range, inner.c._rn == 1)
    )
    # By key, not attribute: `inner.c._parent` is the column collection itself, which orders by every column.
    ordered = [inner.c["_parent"], inner.c["_in_range"], inner.c["_rn"]]
    return select(inner).where(keep).order_by(*ordered)
