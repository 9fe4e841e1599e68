"""Which tasks a list holds and in what order: TaskFilter and TaskOrder, as SQL conditions and keys (the
resolvers and the compiled read path share them)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_
from strawberry import Info

from aurum.area.model import Area as AreaModel
from aurum.graphql.context import Context
from aurum.graphql.types import OrderDirection
from aurum.ids import decode_id
from aurum.models import table_of
from aurum.pagination import Ordering, SortKey
from aurum.pillar.graphql import name_search
from aurum.project.graphql import Priority, archived_ancestor
from aurum.project.model import Project as ProjectModel
from aurum.task import rules
from aurum.task.kinds import TaskStatus
from aurum.task.model import CLOSED_STATUSES
from aurum.task.model import Task as TaskModel

TABLE = table_of(TaskModel)
PROJECTS = table_of(ProjectModel)
AREAS = table_of(AreaModel)


@strawberry.enum(description="What a list of tasks is ordered by.")
class TaskOrderField(Enum):
    SORT_ORDER = "SORT_ORDER"
    DUE_DATE = "DUE_DATE"
    PRIORITY = "PRIORITY"
    SCORE = strawberry.enum_value(
        "SCORE", description="The priority score (completed, skipped and not yet scored tasks come last)."
    )
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input(description="How to order tasks.")
class TaskOrder:
    field: TaskOrderField = strawberry.field(default=TaskOrderField.SORT_ORDER, description="The key.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="The direction.")


PRIORITY_RANK = case({"low": 1, "medium": 2, "high": 3, "urgent": 4}, value=TABLE.c.priority)


def task_ordering(order_by: TaskOrder | None) -> Ordering:
    from aurum.graphql.ordering import standard_keys
    from aurum.hrm.graphql.scores import SCORE_VALUE

    order = order_by or TaskOrder()
    tie = SortKey(TABLE.c.id, uuid.UUID)
    special = {
        "DUE_DATE": (
            SortKey(TABLE.c.due_date.is_(None), bool),
            SortKey(func.coalesce(TABLE.c.due_date, literal(date(1, 1, 1))), date),
            SortKey(func.coalesce(TABLE.c.due_time, literal(rules.END_OF_DAY)), time),
            tie,
        ),
        "PRIORITY": (SortKey(PRIORITY_RANK, int), tie),
        "SCORE": _score_keys(SCORE_VALUE, order.direction is OrderDirection.DESC, tie),
    }
    keys = special.get(order.field.value) or standard_keys(TABLE, order.field.value)
    assert keys is not None
    return Ordering(
        name=f"tasks:{order.field.value}", keys=keys, descending=order.direction is OrderDirection.DESC
    )


def _score_keys(stored: ColumnElement[Any], descending: bool, tie: SortKey) -> tuple[SortKey, ...]:
    """Scored open tasks by score, then completed, skipped and not yet scored ones (-1), in either direction.

    Every key of a keyset ordering runs in the list's direction, so the first key says "comes last" going up
    and "comes first" going down; closed tasks count as unscored even before the scoring job drops them.
    """
    value = case((TABLE.c.status.in_(CLOSED_STATUSES), literal(-1.0)), else_=stored)
    unscored = value < 0
    return SortKey(~unscored if descending else unscored, bool), SortKey(value, float), tie


@strawberry.input(description="Which tasks to list.")
class TaskFilter:
    project_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only tasks of this project."
    )
    area_id: strawberry.ID | None = strawberry.field(default=None, description="Only tasks below this area.")
    pillar_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only tasks below this pillar."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only subtasks of this task."
    )
    top_level: bool | None = strawberry.field(
        default=None,
        description="true: only tasks that are not subtasks; false: only subtasks. Project.tasks lists "
        "top-level tasks unless this or parentId is given.",
    )
    status: list[TaskStatus] | None = strawberry.field(default=None, description="Only these statuses.")
    priority: list[Priority] | None = strawberry.field(default=None, description="Only these priorities.")
    due_before: date | None = strawberry.field(
        default=None, description="Only tasks due on or before this day."
    )
    due_after: date | None = strawberry.field(
        default=None, description="Only tasks due on or after this day."
    )
    overdue: bool | None = strawberry.field(
        default=None, description="true: only overdue; false: none overdue."
    )
    completed: bool | None = strawberry.field(
        default=None, description="true: only completed; false: open ones (neither completed nor skipped)."
    )
    search: str | None = strawberry.field(default=None, description="Part of the name, any case.")
    archived: bool | None = strawberry.field(
        default=False, description="false (default): leave out tasks of archived projects, areas and pillars."
    )


def _in_projects(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(PROJECTS.c.id == TABLE.c.project_id, condition)


async def task_conditions(info: Info[Context, None], filter: TaskFilter | None) -> list[ColumnElement[bool]]:
    """Alike at the top and nested: by default, tasks of archived projects, areas or pillars are left out."""
    overdue = filter is not None and filter.overdue is not None
    return task_filter_conditions(filter, await info.context.timezone() if overdue else None)


def task_filter_conditions(filter: TaskFilter | None, zone: ZoneInfo | None) -> list[ColumnElement[bool]]:
    """The conditions of ``filter``; ``zone``, the viewer's, is needed for ``overdue`` only."""
    filter = filter or TaskFilter()
    conditions = name_search(TABLE.c.name, filter.search)
    if filter.project_id is not None:
        conditions.append(
            TABLE.c.project_id == decode_id(str(filter.project_id), "Project", ["filter", "projectId"])
        )
    if filter.area_id is not None:
        conditions.append(
            _in_projects(PROJECTS.c.area_id == decode_id(str(filter.area_id), "Area", ["filter", "areaId"]))
        )
    if filter.pillar_id is not None:
        pillar = decode_id(str(filter.pillar_id), "Pillar", ["filter", "pillarId"])
        conditions.append(
            _in_projects(exists().where(AREAS.c.id == PROJECTS.c.area_id, AREAS.c.pillar_id == pillar))
        )
    if filter.parent_id is not None:
        conditions.append(
            TABLE.c.parent_id == decode_id(str(filter.parent_id), "Task", ["filter", "parentId"])
        )
    if filter.top_level is not None:
        conditions.append(TABLE.c.parent_id.is_(None) if filter.top_level else TABLE.c.parent_id.is_not(None))
    if filter.status:
        conditions.append(TABLE.c.status.in_([s.value for s in filter.status]))
    if filter.priority:
        conditions.append(TABLE.c.priority.in_([p.value for p in filter.priority]))
    if filter.due_before is not None:
        conditions.append(TABLE.c.due_date <= filter.due_before)
    if filter.due_after is not None:
        conditions.append(TABLE.c.due_date >= filter.due_after)
    if filter.completed is not None:
        conditions.append(
            (TABLE.c.status == "completed") if filter.completed else TABLE.c.status.not_in(CLOSED_STATUSES)
        )
    if filter.overdue is not None:
        assert zone is not None, "the viewer's time zone decides what is overdue"
        overdue = _overdue_condition(datetime.now(zone))
        conditions.append(overdue if filter.overdue else ~overdue)
    if filter.archived is False:
        conditions.append(~_in_projects(PROJECTS.c.archived.is_(True) | archived_ancestor()))
    elif filter.archived is True:
        conditions.append(_in_projects(PROJECTS.c.archived.is_(True) | archived_ancestor()))
    return conditions


def _overdue_condition(now: datetime) -> ColumnElement[bool]:
    today, clock = now.date(), now.time().replace(tzinfo=None)
    past = or_(
        TABLE.c.due_date < today,
        and_(TABLE.c.due_date == today, TABLE.c.due_time.is_not(None), TABLE.c.due_time < clock),
    )
    return and_(TABLE.c.due_date.is_not(None), TABLE.c.status.not_in(CLOSED_STATUSES), past)
