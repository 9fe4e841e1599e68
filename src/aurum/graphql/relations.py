"""Dataloaders for rows by id and for pages of children, so every level of a query is one statement."""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, select
from strawberry import Info

from aurum.graphql.context import Context
from aurum.models import among, readable
from aurum.pagination import Ordering, Page, PageArgs, fetch_pages


async def row_by_id(info: Info[Context, None], table: Table, object_id: uuid.UUID) -> Row[Any] | None:
    """The viewer's row of ``table`` with this id (``None`` for a missing or foreign one), batched."""
    ctx = info.context
    user_id = ctx.user_id

    async def batch(ids: Sequence[uuid.UUID]) -> list[Row[Any] | None]:
        async with ctx.reading() as session:
            statement = select(*readable(table)).where(among(table.c.id, ids), table.c.user_id == user_id)
            found = {row.id: row for row in (await session.execute(statement)).all()}
        return [found.get(i) for i in ids]

    row: Row[Any] | None = await ctx.loader(("by_id", table.name), batch).load(object_id)
    return row


async def page_of_children(
    info: Info[Context, None],
    name: str,
    table: Table,
    parent_column: ColumnElement[Any],
    parent_id: uuid.UUID,
    where: Sequence[ColumnElement[bool]],
    ordering: Ordering,
    args: PageArgs,
    filter_key: Hashable,
) -> Page:
    """The page of ``table`` rows under ``parent_id``; sibling parents in the query share one statement."""
    ctx = info.context
    user_id = ctx.user_id
    args = args.validate()

    async def batch(parent_ids: Sequence[uuid.UUID]) -> list[Page]:
        conditions = [table.c.user_id == user_id, among(parent_column, parent_ids), *where]
        async with ctx.reading() as session:
            pages = await fetch_pages(session, table, conditions, ordering, args, partition=parent_column)
        return [pages.get(p, Page()) for p in parent_ids]

    key = ("children", name, ordering.name, ordering.descending, args, filter_key)
    page: Page = await ctx.loader(key, batch).load(parent_id)
    return page


async def page_of_list(
    info: Info[Context, None],
    table: Table,
    where: Sequence[ColumnElement[bool]],
    ordering: Ordering,
    args: PageArgs,
) -> Page:
    """A page of the viewer's rows of ``table`` at the top of a query."""
    ctx = info.context
    conditions = [table.c.user_id == ctx.user_id, *where]
    async with ctx.reading() as session:
        pages = await fetch_pages(session, table, conditions, ordering, args.validate())
    return pages.get(None, Page())
