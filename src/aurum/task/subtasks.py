"""Required subtasks: a parent with ``subtasks_required`` is completed only after all its subtasks, and
stays so.

Whatever would leave such a completed parent with an open subtask follows the rule of most task apps:
reopening a subtask, creating an open one under it, moving an open one under it or setting a subtask's
status back reopens the parent (and, the same way, its own completed parent that requires its subtasks).
Requiring the subtasks of a parent completed while some were open is refused: that would change the
parent's past, not its subtasks, so the person decides (reopen it, or complete them first).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from aurum import crud
from aurum.db import UnitOfWork
from aurum.errors import Conflict, InvalidInput
from aurum.task.model import Task
from aurum.task.rules import status_columns


async def open_subtasks(uow: UnitOfWork, task_id: uuid.UUID) -> int:
    """How many direct subtasks of the task are not completed."""
    count = await uow.session.scalar(
        select(func.count()).where(
            Task.parent_id == task_id, Task.user_id == uow.user_id, Task.status != "completed"
        )
    )
    return int(count or 0)


async def check_done(uow: UnitOfWork, task_id: uuid.UUID, required: bool) -> None:
    """Before completing a task: when its subtasks are ``required``, they must all be completed."""
    if not required:
        return
    if count := await open_subtasks(uow, task_id):
        raise InvalidInput(f"Complete its {count} open required subtask(s) first", ["input", "id"])


async def check_update(uow: UnitOfWork, task: Task, cleaned: dict[str, Any]) -> None:
    """An update that would leave ``task`` completed while requiring subtasks that are open is refused."""
    required = cleaned.get("subtasks_required", task.subtasks_required)
    if cleaned.get("status", task.status) != "completed" or not required:
        return
    if task.status != "completed":
        await check_done(uow, task.id, required)
    elif not task.subtasks_required and (count := await open_subtasks(uow, task.id)):
        raise Conflict(
            f"This task is completed while {count} of its subtasks are open: reopen it, or complete them, "
            "before requiring them",
            ["input", "subtasksRequired"],
        )


async def reopen_parents(uow: UnitOfWork, parent_id: uuid.UUID | None) -> None:
    """An open subtask was just put under ``parent_id``: reopen the completed parents that require it."""
    while parent_id is not None:
        parent = await uow.session.scalar(
            select(Task).where(Task.id == parent_id, Task.user_id == uow.user_id).with_for_update()
        )
        if parent is None or parent.status != "completed" or not parent.subtasks_required:
            return
        for name, value in status_columns("todo", datetime.now(UTC)).items():
            setattr(parent, name, value)
        await crud.save(uow.session, parent)
        parent_id = parent.parent_id
