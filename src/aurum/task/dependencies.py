"""What a task waits for: other tasks of the same user, never itself, never a cycle."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert

from aurum.db import UnitOfWork
from aurum.errors import InvalidInput, NotFound
from aurum.task.model import Task, TaskDependency

MAX_DEPENDENCIES = 50


async def set_dependencies(uow: UnitOfWork, task_id: uuid.UUID, dependency_ids: Sequence[uuid.UUID]) -> bool:
    """Replace what a task waits for; same user only, never itself, never a cycle. Whether it changed."""
    unique = list(dict.fromkeys(dependency_ids))
    if len(unique) > MAX_DEPENDENCIES:
        raise InvalidInput(
            f"A task can wait for at most {MAX_DEPENDENCIES} others", ["input", "dependencyIds"]
        )
    # Two concurrent edits cannot close a cycle: every unit of work holds the user's lock (db.WRITE_AS_USER).
    owned = set(
        await uow.session.scalars(select(Task.id).where(Task.id.in_(unique), Task.user_id == uow.user_id))
    )
    for index, dependency in enumerate(dependency_ids):
        field = ["input", "dependencyIds", str(index)]
        if dependency not in owned:
            raise NotFound("No Task with this id", field)
        if dependency == task_id:
            raise InvalidInput("A task cannot depend on itself", field)
    if unique and task_id in await _reachable(uow, unique):
        raise InvalidInput("These dependencies would form a cycle", ["input", "dependencyIds"])
    current = set(
        await uow.session.scalars(
            select(TaskDependency.depends_on_id).where(
                TaskDependency.task_id == task_id, TaskDependency.user_id == uow.user_id
            )
        )
    )
    dropped, added = current - set(unique), [d for d in unique if d not in current]
    if dropped:
        await uow.session.execute(
            delete(TaskDependency).where(
                TaskDependency.task_id == task_id, TaskDependency.depends_on_id.in_(dropped)
            )
        )
    if added:
        rows = [{"task_id": task_id, "depends_on_id": d, "user_id": uow.user_id} for d in added]
        await uow.session.execute(insert(TaskDependency).values(rows).on_conflict_do_nothing())
    return bool(dropped or added)


async def _reachable(uow: UnitOfWork, start: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Every task the given ones wait for, directly or through others."""
    rows = await uow.session.execute(
        text(
            "WITH RECURSIVE reach(id) AS ("
            " SELECT unnest(CAST(:start AS uuid[]))"
            " UNION SELECT d.depends_on_id FROM task_dependencies d JOIN reach ON d.task_id = reach.id"
            " WHERE d.user_id = :user"
            ") SELECT id FROM reach"
        ),
        {"start": list(start), "user": uow.user_id},
    )
    return {row[0] for row in rows.all()}
