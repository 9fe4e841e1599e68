"""Putting sibling tasks (same project and parent) in a new order.

The given tasks take the places they already hold among all their siblings, in the order given; the siblings
left out keep theirs. Then every sibling is numbered 0, 1, 2 … in that order, so no two share a sort order:
reordering [d, b] of [a, b, c, d, e] gives [a, d, c, b, e]. Only the tasks whose number changes are written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from aurum import crud
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput, NotFound
from aurum.task.model import Task

MAX_REORDERED = 500


async def reorder(uow: UnitOfWork, task_ids: Sequence[uuid.UUID]) -> list[Task]:
    """Put the given siblings in the order given, within the places they hold; returns them in that order."""
    _check_ids(task_ids)
    found = await _given(uow, task_ids)
    siblings = await _siblings(uow, next(iter(found.values())))
    given = set(task_ids)
    places = iter(task_ids)
    arranged = [found[next(places)] if task.id in given else task for task in siblings]
    for position, task in enumerate(arranged):
        if task.sort_order != position:
            task.sort_order = position
            crud.touch(task)
    await uow.session.flush()
    fresh = await uow.session.scalars(
        select(Task).where(Task.id.in_(list(task_ids))).execution_options(populate_existing=True)
    )
    by_id = {task.id: task for task in fresh}
    return [by_id[i] for i in task_ids]


def _check_ids(task_ids: Sequence[uuid.UUID]) -> None:
    if not 1 <= len(task_ids) <= MAX_REORDERED:
        raise InvalidInput(f"Reorder 1 to {MAX_REORDERED} tasks at once", ["input", "ids"])
    if len(set(task_ids)) != len(task_ids):
        raise InvalidInput("Each task may appear once", ["input", "ids"])


async def _given(uow: UnitOfWork, task_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Task]:
    found = {
        t.id: t
        for t in await uow.session.scalars(
            select(Task).where(Task.id.in_(task_ids), Task.user_id == uow.user_id).with_for_update()
        )
    }
    for index, task_id in enumerate(task_ids):
        if task_id not in found:
            raise NotFound("No Task with this id", ["input", "ids", str(index)])
    if len({(t.project_id, t.parent_id) for t in found.values()}) > 1:
        raise InvalidInput(
            "Only siblings (same project and parent) can be reordered together", ["input", "ids"]
        )
    return found


async def _siblings(uow: UnitOfWork, task: Task) -> list[Task]:
    """The siblings of ``task`` (itself included) in list order: sort order, then creation, then id."""
    rows = await uow.session.scalars(
        select(Task)
        .where(
            Task.user_id == uow.user_id,
            Task.project_id == task.project_id,
            Task.parent_id.is_not_distinct_from(task.parent_id),
        )
        .order_by(Task.sort_order, Task.created_at, Task.id)
        .with_for_update()
    )
    return list(rows)
