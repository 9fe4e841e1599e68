"""Task mutations over GraphQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry import Info

from aurum.db import UnitOfWork
from aurum.graphql.context import Context
from aurum.graphql.mutations import delete_mutation, optional_id, provided, run_mutation
from aurum.graphql.types import DeletePayload, IdInput, Input, UserError
from aurum.ids import decode_id
from aurum.project.graphql import Priority, enum_values
from aurum.task import ordering, service
from aurum.task.graphql import Task
from aurum.task.kinds import Energy, RecurrenceInput, TaskCategory, TaskStatus
from aurum.task.model import Task as TaskModel

FIELDS_NOT_COLUMNS = ("id", "expected_version", "project_id", "parent_id", "dependency_ids", "recurrence")


@strawberry.input(description="A new task.")
class TaskCreateInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A client-made UUID or global id: repeating the create returns the same task.",
    )
    project_id: strawberry.ID = strawberry.field(description="The project it belongs to.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Make it a subtask of this task."
    )
    name: str = strawberry.field(description="1–200 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    status: TaskStatus | None = strawberry.field(default=strawberry.UNSET, description="Default TODO.")
    priority: Priority | None = strawberry.field(default=strawberry.UNSET, description="Default MEDIUM.")
    due_date: date | None = strawberry.field(default=strawberry.UNSET, description="The day it is due.")
    due_time: str | None = strawberry.field(default=strawberry.UNSET, description="'HH:MM' on the due day.")
    reminder_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When to remind; without an offset, read in the viewer's time zone.",
    )
    start_date: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="The day work on it can start: until then it is out of today and plan.",
    )
    defer_until: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="Snoozed until then (with its UTC offset): out of today and plan until that moment.",
    )
    estimated_minutes: int | None = strawberry.field(default=strawberry.UNSET, description="1–10080 minutes.")
    energy: Energy | None = strawberry.field(default=strawberry.UNSET, description="Energy it takes.")
    category: TaskCategory | None = strawberry.field(default=strawberry.UNSET, description="Kind of work.")
    subtasks_required: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether its subtasks must be completed before it."
    )
    dependency_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Tasks it waits for (yours, never forming a cycle)."
    )
    recurrence: RecurrenceInput | None = strawberry.field(default=None, description="How it repeats.")
    sort_order: int | None = strawberry.field(default=strawberry.UNSET, description="Position in lists.")


@strawberry.input(description="Changes to a task; fields left out stay as they are.")
class TaskUpdateInput:
    id: strawberry.ID = strawberry.field(description="The task to change.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the task is still at this version."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="1–200 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Free text.")
    status: TaskStatus | None = strawberry.field(default=strawberry.UNSET, description="Where it stands.")
    priority: Priority | None = strawberry.field(default=strawberry.UNSET, description="How pressing it is.")
    due_date: date | None = strawberry.field(default=strawberry.UNSET, description="The day it is due.")
    due_time: str | None = strawberry.field(default=strawberry.UNSET, description="'HH:MM' on the due day.")
    reminder_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When to remind; without an offset, read in the viewer's time zone.",
    )
    start_date: date | None = strawberry.field(
        default=strawberry.UNSET,
        description="The day work on it can start: until then it is out of today and plan.",
    )
    defer_until: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="Snoozed until then (with its UTC offset): out of today and plan until that moment.",
    )
    estimated_minutes: int | None = strawberry.field(default=strawberry.UNSET, description="1–10080 minutes.")
    energy: Energy | None = strawberry.field(default=strawberry.UNSET, description="Energy it takes.")
    category: TaskCategory | None = strawberry.field(default=strawberry.UNSET, description="Kind of work.")
    subtasks_required: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Whether its subtasks must be completed before it."
    )
    dependency_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replace what it waits for; [] clears it."
    )
    recurrence: RecurrenceInput | None = strawberry.field(
        default=strawberry.UNSET, description="Replace how it repeats; null stops it repeating."
    )
    sort_order: int | None = strawberry.field(default=strawberry.UNSET, description="Position in lists.")


@strawberry.input(description="A task to complete, skip or reopen.")
class TaskStatusInput:
    id: strawberry.ID = strawberry.field(description="The task.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the task is still at this version."
    )


@strawberry.input(description="Where to move a task (its subtasks come along).")
class TaskMoveInput:
    id: strawberry.ID = strawberry.field(description="The task to move.")
    project_id: strawberry.ID | None = strawberry.field(
        default=None, description="The project to move it to; defaults to the new parent's project."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Make it a subtask of this task; null makes it a top-level task."
    )
    sort_order: int | None = strawberry.field(default=None, description="Its position at the new place.")
    expected_version: int | None = strawberry.field(
        default=None, description="Fail with CONFLICT unless the task is still at this version."
    )


@strawberry.input(description="Siblings in their new order.")
class TasksReorderInput:
    ids: list[strawberry.ID] = strawberry.field(
        description="Tasks of one project and parent, first to last: all of its tasks or some of them."
    )


@strawberry.type(description="The answer of a task mutation.")
class TaskPayload:
    task: Task | None = strawberry.field(description="The task as it is now.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


@strawberry.type(description="The answer of tasksReorder.")
class TasksReorderPayload:
    tasks: list[Task] = strawberry.field(description="The tasks in their new order.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def task_payload(outcome: Any) -> TaskPayload:
    value = outcome.value
    return TaskPayload(task=Task.from_row(value) if value is not None else None, user_errors=outcome.errors)


def task_id(value: strawberry.ID, field: list[str] | None = None) -> uuid.UUID:
    return decode_id(str(value), "Task", field or ["input", "id"])


def dependency_ids(values: list[strawberry.ID]) -> list[uuid.UUID]:
    return [task_id(v, ["input", "dependencyIds", str(i)]) for i, v in enumerate(values)]


def columns(input: object) -> dict[str, Any]:
    return enum_values(provided(input, skip=FIELDS_NOT_COLUMNS))


@strawberry.type
class TaskMutation:
    @strawberry.mutation(description="Create a task, or a subtask with parentId.")
    async def task_create(self, info: Info[Context, None], input: Input[TaskCreateInput]) -> TaskPayload:
        async def work(uow: UnitOfWork) -> Any:
            return await service.create(
                uow,
                decode_id(str(input.project_id), "Project", ["input", "projectId"]),
                columns(input),
                optional_id(input.id, "Task", ["input", "id"]),
                parent_id=optional_id(input.parent_id, "Task", ["input", "parentId"]),
                dependency_ids=dependency_ids(input.dependency_ids or []),
                recurrence=input.recurrence.to_rule() if input.recurrence else None,
            )

        return task_payload(await run_mutation(info, work))

    @strawberry.mutation(description="Change a task.")
    async def task_update(self, info: Info[Context, None], input: Input[TaskUpdateInput]) -> TaskPayload:
        async def work(uow: UnitOfWork) -> Any:
            dependencies = input.dependency_ids
            recurrence = input.recurrence
            return await service.update(
                uow,
                task_id(input.id),
                columns(input),
                input.expected_version,
                dependency_ids=None
                if dependencies is strawberry.UNSET
                else dependency_ids(dependencies or []),
                recurrence=...
                if recurrence is strawberry.UNSET
                else (recurrence.to_rule() if recurrence else None),
            )

        return task_payload(await run_mutation(info, work))

    @strawberry.mutation(description="Delete a task with its subtasks.")
    async def task_delete(self, info: Info[Context, None], input: Input[IdInput]) -> DeletePayload:
        return await delete_mutation(info, TaskModel, input.id)

    @strawberry.mutation(
        description="Complete a task (its required subtasks first); an occurrence of a recurring task gets "
        "its next occurrence, once however often this is repeated."
    )
    async def task_complete(self, info: Info[Context, None], input: Input[TaskStatusInput]) -> TaskPayload:
        return task_payload(
            await run_mutation(
                info, lambda uow: service.complete(uow, task_id(input.id), input.expected_version)
            )
        )

    @strawberry.mutation(
        description="Skip an occurrence of a recurring task: it becomes SKIPPED (closed, not done) and the "
        "next occurrence is created, once however often this is repeated."
    )
    async def task_skip(self, info: Info[Context, None], input: Input[TaskStatusInput]) -> TaskPayload:
        return task_payload(
            await run_mutation(info, lambda uow: service.skip(uow, task_id(input.id), input.expected_version))
        )

    @strawberry.mutation(description="Reopen a completed or skipped task.")
    async def task_reopen(self, info: Info[Context, None], input: Input[TaskStatusInput]) -> TaskPayload:
        return task_payload(
            await run_mutation(
                info, lambda uow: service.reopen(uow, task_id(input.id), input.expected_version)
            )
        )

    @strawberry.mutation(description="Move a task, with its subtasks, to another parent or project.")
    async def task_move(self, info: Info[Context, None], input: Input[TaskMoveInput]) -> TaskPayload:
        async def work(uow: UnitOfWork) -> Any:
            return await service.move(
                uow,
                task_id(input.id),
                optional_id(input.project_id, "Project", ["input", "projectId"]),
                optional_id(input.parent_id, "Task", ["input", "parentId"]),
                input.sort_order,
                input.expected_version,
            )

        return task_payload(await run_mutation(info, work))

    @strawberry.mutation(
        description="Put sibling tasks in a new order: the given tasks take the places they already hold "
        "among all their siblings, in the order given, and the siblings left out keep theirs (reordering "
        "[d, b] of [a, b, c, d, e] gives [a, d, c, b, e]). Every sibling is then numbered 0, 1, 2 … in that "
        "order, so no two share a sortOrder."
    )
    async def tasks_reorder(
        self, info: Info[Context, None], input: Input[TasksReorderInput]
    ) -> TasksReorderPayload:
        async def work(uow: UnitOfWork) -> Any:
            return await ordering.reorder(
                uow, [task_id(v, ["input", "ids", str(i)]) for i, v in enumerate(input.ids)]
            )

        outcome = await run_mutation(info, work)
        return TasksReorderPayload(
            tasks=[Task.from_row(t) for t in outcome.value or []], user_errors=outcome.errors
        )
