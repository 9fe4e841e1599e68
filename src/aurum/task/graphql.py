"""Tasks over GraphQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import ColumnElement
from strawberry import Info

if TYPE_CHECKING:
    from aurum.hrm.graphql.insights import Insight, InsightFilter
    from aurum.hrm.graphql.scores import PriorityScore
    from aurum.timetrack.graphql import TimeEntry

from aurum.area.model import Area as AreaModel
from aurum.graphql.context import Context
from aurum.graphql.eager import Eventually, then
from aurum.graphql.node import node_resolver
from aurum.graphql.relations import page_of_children, page_of_list, row_by_id
from aurum.graphql.types import After, Before, Connection, Filter, First, Last, Node, OrderBy
from aurum.ids import to_global_id
from aurum.models import table_of
from aurum.pagination import PageArgs
from aurum.project.graphql import Priority, Project, project_by_id
from aurum.project.model import Project as ProjectModel
from aurum.task import rules
from aurum.task.kinds import (
    Energy,
    KanbanColumn,
    Recurrence,
    TaskCategory,
    TaskStatus,
    recurrence_of,
)
from aurum.task.listing import TaskFilter, TaskOrder, task_conditions, task_ordering
from aurum.task.loaders import dependencies_of, occurrence_row, preload
from aurum.task.model import CLOSED_STATUSES, TaskDependency
from aurum.task.model import Task as TaskModel

TABLE = table_of(TaskModel)
PROJECTS = table_of(ProjectModel)
AREAS = table_of(AreaModel)
DEPENDENCIES = table_of(TaskDependency)
# Lazy so that `Task.subtasks` keeps its argument descriptions.
TaskFilterT = Annotated["TaskFilter", strawberry.lazy("aurum.task.listing")]
TaskOrderT = Annotated["TaskOrder", strawberry.lazy("aurum.task.listing")]
InsightFilterT = Annotated["InsightFilter", strawberry.lazy("aurum.hrm.graphql.insights")]


@strawberry.type(
    description="A daily action inside a project; it may have subtasks and wait for other tasks."
)
class Task(Node):
    uuid: strawberry.Private[UUID]
    project_uuid: strawberry.Private[UUID]
    parent_uuid: strawberry.Private[UUID | None]
    due_time_value: strawberry.Private[time | None]
    series_uuid: strawberry.Private[UUID | None]
    name: str = strawberry.field(description="The task's name, 1–200 characters.")
    description: str | None = strawberry.field(description="Free text about the task.")
    status: TaskStatus = strawberry.field(description="Where the task stands.")
    kanban_column: KanbanColumn = strawberry.field(description="The kanban column, following the status.")
    priority: Priority = strawberry.field(description="How pressing it is.")
    due_date: date | None = strawberry.field(description="The day it is due, in the viewer's time zone.")
    reminder_at: datetime | None = strawberry.field(description="When to remind the person.")
    start_date: date | None = strawberry.field(description="The day work on it can start.")
    defer_until: datetime | None = strawberry.field(description="Snoozed until then.")
    scheduled_start: datetime | None = strawberry.field(
        description="Where the kept plan (planCommit) starts its first block."
    )
    scheduled_end: datetime | None = strawberry.field(description="Where the kept plan ends its last block.")
    estimated_minutes: int | None = strawberry.field(description="The expected effort in minutes.")
    energy: Energy | None = strawberry.field(description="How much energy it takes.")
    category: TaskCategory | None = strawberry.field(description="The kind of work.")
    subtasks_required: bool = strawberry.field(description="Whether its subtasks must be completed first.")
    completed_at: datetime | None = strawberry.field(description="When it was completed.")
    sort_order: int = strawberry.field(description="Position among its siblings.")
    recurrence: Recurrence | None = strawberry.field(description="How it repeats, if it does.")
    recurrence_index: int | None = strawberry.field(
        description="Which occurrence of its recurring series this task is (1 for the first); null for a "
        "task that never repeated."
    )
    version: int = strawberry.field(description="Increases with every change; pass as expectedVersion.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(
        description="Minutes tracked on it: timers and manual entries (a running timer counts to now)."
    )
    async def time_spent_minutes(self, info: Info[Context, None]) -> int:
        from aurum.timetrack.graphql import time_spent

        return await time_spent(info, self.uuid)

    @strawberry.field(description="Its time entries, newest first (at most 100).")
    async def time_entries(
        self, info: Info[Context, None]
    ) -> list[Annotated[TimeEntry, strawberry.lazy("aurum.timetrack.graphql")]]:
        from aurum.timetrack.graphql import entries

        return await entries(info, self.uuid)

    @classmethod
    def from_row(cls, row: Any) -> Task:
        return cls(
            id=strawberry.ID(to_global_id("Task", row.id)),
            uuid=row.id,
            project_uuid=row.project_id,
            parent_uuid=row.parent_id,
            due_time_value=row.due_time,
            series_uuid=row.recurrence_series_id,
            name=row.name,
            description=row.description,
            status=TaskStatus(row.status),
            kanban_column=KanbanColumn(row.kanban_column),
            priority=Priority(row.priority),
            due_date=row.due_date,
            reminder_at=row.reminder_at,
            start_date=row.start_date,
            defer_until=row.defer_until,
            scheduled_start=row.scheduled_start,
            scheduled_end=row.scheduled_end,
            estimated_minutes=row.estimated_minutes,
            energy=Energy(row.energy) if row.energy else None,
            category=TaskCategory(row.category) if row.category else None,
            subtasks_required=row.subtasks_required,
            completed_at=row.completed_at,
            sort_order=row.sort_order,
            recurrence=recurrence_of(row),
            recurrence_index=row.recurrence_index,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The due time ('HH:MM'), read in the viewer's time zone.")
    def due_time(self) -> str | None:
        return self.due_time_value.strftime("%H:%M") if self.due_time_value else None

    @strawberry.field(description="The project the task belongs to.")
    async def project(self, info: Info[Context, None]) -> Project:
        project = await project_by_id(info, self.project_uuid)
        assert project is not None
        return project

    @strawberry.field(description="The task this one is a subtask of.")
    async def parent(self, info: Info[Context, None]) -> Task | None:
        return await task_by_id(info, self.parent_uuid) if self.parent_uuid else None

    @strawberry.field(description="The task's subtasks.")
    async def subtasks(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[TaskFilterT] = None,
        order_by: OrderBy[TaskOrderT] = None,
    ) -> Connection[Task]:
        return await tasks_under(
            info,
            "subtasks",
            TABLE.c.parent_id,
            self.uuid,
            PageArgs(first, after, last, before),
            filter,
            order_by,
        )

    @strawberry.field(
        graphql_type=bool,
        description="Whether it is past due (in the viewer's time zone) and still open (neither completed "
        "nor skipped).",
    )
    def is_overdue(self, info: Info[Context, None]) -> Eventually[bool]:
        if self.status is TaskStatus.SKIPPED or self.due_date is None:
            return False
        return then(info.context.timezone_eventually(), self._is_overdue_in)

    def _is_overdue_in(self, zone: ZoneInfo) -> bool:
        return rules.is_overdue(
            self.status.value, self.due_date, self.due_time_value, zone, datetime.now(UTC)
        )

    @strawberry.field(
        description="The occurrence that follows this one in its recurring series, once it exists "
        "(completing or skipping this one creates it); null before that, after the last occurrence, or once "
        "it is deleted."
    )
    async def next_occurrence(self, info: Info[Context, None]) -> Task | None:
        if self.series_uuid is None or self.recurrence_index is None:
            return None
        row = await occurrence_row(info, self.series_uuid, self.recurrence_index + 1)
        return Task.from_row(row) if row is not None else None

    @strawberry.field(
        description="How much it matters now, 0–100, with the factors behind it (0 and no factors once "
        "completed or skipped)."
    )
    async def score(
        self, info: Info[Context, None]
    ) -> Annotated[PriorityScore, strawberry.lazy("aurum.hrm.graphql.scores")]:
        from aurum.hrm.graphql.scores import task_score

        return await task_score(info, self.uuid, self.status.value, self.completed_at or self.updated_at)

    @strawberry.field(description="The insights about this task, newest first (active ones unless filtered).")
    async def insights(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        filter: Filter[InsightFilterT] = None,
    ) -> Connection[Annotated[Insight, strawberry.lazy("aurum.hrm.graphql.insights")]]:
        from aurum.hrm.graphql.insights import insights_of_task

        return await insights_of_task(info, self.uuid, PageArgs(first, after), filter)

    @strawberry.field(graphql_type=list["Task"], description="The tasks this one waits for.")
    def dependencies(self, info: Info[Context, None]) -> Eventually[list[Task]]:
        return then(dependencies_of(info, self.uuid), lambda rows: [Task.from_row(r) for r in rows])

    @strawberry.field(
        graphql_type=list["Task"],
        description="The tasks this one waits for that are still open (a skipped occurrence does not block).",
    )
    def blocked_by(self, info: Info[Context, None]) -> Eventually[list[Task]]:
        return then(
            dependencies_of(info, self.uuid),
            lambda rows: [Task.from_row(r) for r in rows if r.status not in CLOSED_STATUSES],
        )

    @strawberry.field(
        graphql_type=bool,
        description="Whether every task it waits for is completed (or a skipped occurrence).",
    )
    def can_start(self, info: Info[Context, None]) -> Eventually[bool]:
        return then(
            dependencies_of(info, self.uuid), lambda rows: all(r.status in CLOSED_STATUSES for r in rows)
        )


async def tasks_under(
    info: Info[Context, None],
    name: str,
    parent_column: Any,
    parent_id: uuid.UUID,
    args: PageArgs,
    filter: TaskFilter | None,
    order_by: TaskOrder | None,
    also: Sequence[ColumnElement[bool]] = (),
) -> Connection[Task]:
    page = await page_of_children(
        info,
        name,
        TABLE,
        parent_column,
        parent_id,
        [*await task_conditions(info, filter), *also],
        task_ordering(order_by),
        args,
        repr(filter),
    )
    await preload(info, page.rows)
    return Connection.from_page(page, Task.from_row)


async def tasks_of_project(
    info: Info[Context, None],
    project_id: uuid.UUID,
    args: PageArgs,
    filter: TaskFilter | None,
    order_by: TaskOrder | None,
) -> Connection[Task]:
    """Its top-level tasks, unless the filter asks for subtasks (topLevel: false) or names a parent."""
    top_level = [] if names_its_level(filter) else [TABLE.c.parent_id.is_(None)]
    return await tasks_under(info, "tasks", TABLE.c.project_id, project_id, args, filter, order_by, top_level)


def names_its_level(filter: TaskFilter | None) -> bool:
    """Whether the filter says which tasks of a project to list (topLevel, or a parent): else its top ones."""
    return filter is not None and (filter.top_level is not None or filter.parent_id is not None)


@node_resolver("Task")
async def task_by_id(info: Info[Context, None], task_id: uuid.UUID) -> Task | None:
    row = await row_by_id(info, TABLE, task_id)
    return Task.from_row(row) if row is not None else None


@strawberry.type
class TaskQuery:
    @strawberry.field(description="The viewer's tasks, subtasks included unless filtered out.")
    async def tasks(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Filter[TaskFilter] = None,
        order_by: OrderBy[TaskOrder] = None,
    ) -> Connection[Task]:
        conditions = await task_conditions(info, filter)
        page = await page_of_list(
            info, TABLE, conditions, task_ordering(order_by), PageArgs(first, after, last, before)
        )
        await preload(info, page.rows)
        return Connection.from_page(page, Task.from_row)
