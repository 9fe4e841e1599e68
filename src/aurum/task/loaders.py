"""What a task's fields load, batched over the whole query: its dependencies and its series' occurrences.

Lists of tasks preload what their selection asks for (see ``aurum.graphql.eager``), so that ``isOverdue``,
``canStart``, ``blockedBy`` and ``dependencies`` answer at once for every task of a page.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Sequence
from typing import Any

from sqlalchemy import Row, Select, select, tuple_
from strawberry import Info

from aurum.graphql.context import Context
from aurum.graphql.eager import node_fields
from aurum.models import IDS, USER, among, readable, table_of, the_ids, the_user
from aurum.task.model import Task, TaskDependency

TABLE = table_of(Task)
DEPENDENCIES = table_of(TaskDependency)
NEEDS_DEPENDENCIES = frozenset(("canStart", "blockedBy", "dependencies"))
NEEDS_TIMEZONE = frozenset(("isOverdue",))


async def occurrence_row(info: Info[Context, None], series_id: uuid.UUID, index: int) -> Row[Any] | None:
    """Occurrence ``index`` of the recurring series ``series_id``; one statement for all of the query."""
    ctx = info.context
    user_id = ctx.user_id

    async def batch(keys: Sequence[tuple[uuid.UUID, int]]) -> list[Row[Any] | None]:
        statement = select(*readable(TABLE)).where(
            tuple_(TABLE.c.recurrence_series_id, TABLE.c.recurrence_index).in_(list(keys)),
            TABLE.c.user_id == user_id,
        )
        async with ctx.reading() as session:
            found = {
                (row.recurrence_series_id, row.recurrence_index): row
                for row in (await session.execute(statement)).all()
            }
        return [found.get(key) for key in keys]

    row: Row[Any] | None = await ctx.loader("occurrences", batch).load((series_id, index))
    return row


def dependencies_of(info: Info[Context, None], task_id: uuid.UUID) -> Awaitable[list[Row[Any]]]:
    """The tasks ``task_id`` waits for; one statement for all tasks of the query."""
    ctx = info.context
    user_id = ctx.user_id

    async def batch(ids: Sequence[uuid.UUID]) -> list[list[Row[Any]]]:
        found: dict[uuid.UUID, list[Row[Any]]] = {i: [] for i in ids}
        async with ctx.reading() as session:
            rows = await session.execute(dependencies_statement(), {USER: user_id, IDS: list(ids)})
            for row in rows.all():
                found[row._waiting].append(row)
        return [found[i] for i in ids]

    loaded: Awaitable[list[Row[Any]]] = ctx.loader("dependencies", batch).load(task_id)
    return loaded


def dependencies_statement() -> Select[Any]:
    """The tasks the tasks ``the_ids`` wait for, each row with the waiting task's id as ``_waiting``."""
    return (
        select(*readable(TABLE), DEPENDENCIES.c.task_id.label("_waiting"))
        .join(DEPENDENCIES, DEPENDENCIES.c.depends_on_id == TABLE.c.id)
        .where(among(DEPENDENCIES.c.task_id, the_ids()), DEPENDENCIES.c.user_id == the_user())
        .order_by(TABLE.c.sort_order, TABLE.c.id)
    )


def dependency_statuses_statement() -> Select[Any]:
    """Only the status of the tasks the tasks ``the_ids`` wait for (what ``canStart`` asks)."""
    return (
        select(TABLE.c.status, DEPENDENCIES.c.task_id.label("_waiting"))
        .join(DEPENDENCIES, DEPENDENCIES.c.depends_on_id == TABLE.c.id)
        .where(among(DEPENDENCIES.c.task_id, the_ids()), DEPENDENCIES.c.user_id == the_user())
    )


async def preload(info: Info[Context, None], rows: Sequence[Row[Any]]) -> None:
    """Load, for a page of tasks, what the fields selected below it will ask for: in the same batches as
    they would, so no statement is added, but before the fields run, so they need not wait."""
    if not rows:
        return
    names = node_fields(info)
    loads: list[Awaitable[object]] = []
    if names & NEEDS_TIMEZONE:
        loads.append(info.context.timezone())
    if names & NEEDS_DEPENDENCIES:
        loads.extend(dependencies_of(info, row.id) for row in rows)
    if loads:
        await asyncio.gather(*loads)
