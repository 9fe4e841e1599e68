"""Completed ÷ all tasks below pillars, areas and projects, for many of them in one statement."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aurum.area.model import Area
from aurum.models import IDS, USER, among, the_ids, the_user
from aurum.project.model import Project
from aurum.task.model import Task

Counts = tuple[int, int]


async def progress_by(
    session: AsyncSession | AsyncConnection, user_id: uuid.UUID, level: str, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Counts]:
    """``{id: (total, completed)}`` for ids of ``level`` (``pillar``, ``area`` or ``project``)."""
    rows = await session.execute(progress_statement(level), {USER: user_id, IDS: list(ids)})
    return {row[2]: (row[0], row[1]) for row in rows.all()}


def progress_statement(level: str) -> Select[Any]:
    """Total and completed tasks below each of the ids (``the_ids``) of ``level``, for ``the_user``. A
    skipped occurrence of a recurring task is neither work done nor work left: it does not count."""
    completed = func.count().filter(Task.status == "completed")
    statement = (
        select(func.count(), completed)
        .select_from(Task)
        .where(Task.user_id == the_user(), Task.status != "skipped")
    )
    if level == "project":
        key = Task.project_id
    else:
        statement = statement.join(Project, Project.id == Task.project_id)
        key = Project.area_id
        if level == "pillar":
            statement = statement.join(Area, Area.id == Project.area_id)
            key = Area.pillar_id
    return statement.add_columns(key).where(among(key, the_ids())).group_by(key)
