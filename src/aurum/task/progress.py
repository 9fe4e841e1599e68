"""Completed ÷ all tasks below pillars, areas and projects, for many of them in one statement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aurum.area.model import Area
from aurum.models import among
from aurum.project.model import Project
from aurum.task.model import Task

Counts = tuple[int, int]


async def progress_by(
    session: AsyncSession | AsyncConnection, user_id: uuid.UUID, level: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Counts]:
    """``{id: (total, completed)}`` for ids of ``level`` (``pillar``, ``area`` or ``project``). A skipped
    occurrence of a recurring task is neither work done nor work left: it does not count."""
    completed = func.count().filter(Task.status == "completed")
    statement = (
        select(func.count(), completed)
        .select_from(Task)
        .where(Task.user_id == user_id, Task.status != "skipped")
    )
    if level == "project":
        key = Task.project_id
    else:
        statement = statement.join(Project, Project.id == Task.project_id)
        key = Project.area_id
        if level == "pillar":
            statement = statement.join(Area, Area.id == Project.area_id)
            key = Area.pillar_id
    rows = await session.execute(statement.add_columns(key).where(among(key, ids)).group_by(key))
    return {row[2]: (row[0], row[1]) for row in rows.all()}
