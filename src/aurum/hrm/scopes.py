"""SQL conditions on insights by what they are about: those whose record is gone, and those about a record or
anything below it in the hierarchy (what filtering insights by a scope means)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select

from aurum.area.model import Area
from aurum.hrm.findings import Scope
from aurum.hrm.model import Insight
from aurum.models import UserOwned, table_of
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.task.model import Task

INSIGHTS = table_of(Insight)
SCOPE_MODELS: dict[str, type[UserOwned]] = {"pillar": Pillar, "area": Area, "project": Project, "task": Task}


def scope_gone() -> ColumnElement[bool]:
    """The insight is about a pillar, area, project or task that no longer exists (deleted, or cascaded)."""
    return or_(
        *(
            and_(INSIGHTS.c.scope_type == level, ~exists().where(model.id == INSIGHTS.c.scope_id))
            for level, model in SCOPE_MODELS.items()
        )
    )


def _below(scope: Scope) -> dict[str, Select[Any]]:
    """The ids of the records below the scope's record, per level (a task's: its subtasks, as analysis sees
    them)."""
    if scope.type == "task":
        return {"task": select(Task.id).where(Task.parent_id == scope.id)}
    if scope.type == "project":
        return {"task": select(Task.id).where(Task.project_id == scope.id)}
    if scope.type == "area":
        projects = select(Project.id).where(Project.area_id == scope.id)
        return {"project": projects, "task": select(Task.id).where(Task.project_id.in_(projects))}
    areas = select(Area.id).where(Area.pillar_id == scope.id)
    projects = select(Project.id).where(Project.area_id.in_(areas))
    return {
        "area": areas,
        "project": projects,
        "task": select(Task.id).where(Task.project_id.in_(projects)),
    }


def within(scope: Scope) -> ColumnElement[bool]:
    """The insight is about the scope's record or one below it: analysing a project finds insights about its
    tasks too, and they belong to that project's insights. The global scope contains only global insights."""
    if scope.type == "global" or scope.id is None:
        return INSIGHTS.c.scope_type == "global" if scope.type == "global" else false()
    below = [
        and_(INSIGHTS.c.scope_type == level, INSIGHTS.c.scope_id.in_(ids))
        for level, ids in _below(scope).items()
    ]
    return or_(and_(INSIGHTS.c.scope_type == scope.type, INSIGHTS.c.scope_id == scope.id), *below)
