"""Tasks: creation, changes, completion, moves, ordering and dependencies, with the domain's rules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from aurum import crud
from aurum.auth.model import User
from aurum.db import UnitOfWork
from aurum.errors import InvalidInput
from aurum.project.model import Project
from aurum.task import recurrence as series
from aurum.task import subtasks
from aurum.task.dependencies import set_dependencies
from aurum.task.model import CLOSED_STATUSES, Task
from aurum.task.rules import NO_RECURRENCE, Recurrence, check_recurrence, parse_due_time, status_columns
from aurum.validation import (
    LONG_TEXT,
    NAME,
    NOT_NULL,
    SORT_ORDER,
    Checks,
    int_range,
    nullable,
    validate_fields,
)

CHECKS: dict[str, Any] = {
    "name": NAME,
    "description": LONG_TEXT,
    "status": NOT_NULL,
    "priority": NOT_NULL,
    "due_time": nullable(parse_due_time),
    "estimated_minutes": nullable(lambda v, f: int_range(v, f, 1, 10080)),
    "sort_order": SORT_ORDER,
    "subtasks_required": NOT_NULL,
    "defer_until": nullable(lambda v, f: aware(v, f)),
}


def aware(moment: datetime, field: list[str]) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput("Give the moment with its UTC offset, such as 2026-05-01T09:00:00+02:00", field)
    return moment


def _now() -> datetime:
    return datetime.now(UTC)


def _status_columns(status: str, now: datetime) -> dict[str, Any]:
    """The columns that follow from a status; a skipped occurrence is closed (kanban done), not completed."""
    if status == "skipped":
        return {"status": "skipped", "completed_at": None, "kanban_column": "done"}
    return status_columns(status, now)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = validate_fields(values, CHECKS)
    if "status" in cleaned:
        cleaned.update(_status_columns(cleaned.pop("status"), _now()))
    return cleaned


def _apply_recurrence(cleaned: dict[str, Any], recurrence: Recurrence | None, due_date: date | None) -> None:
    if recurrence is None:
        cleaned.update(NO_RECURRENCE)
        return
    check_recurrence(recurrence, due_date, ["input", "recurrence"])
    cleaned.update(recurrence.columns())


def _new_series() -> dict[str, Any]:
    """A task given a rule for the first time is occurrence 1 of a series of its own."""
    return {"recurrence_series_id": uuid.uuid4(), "recurrence_index": 1}


def _check_new_status(values: dict[str, Any]) -> None:
    if values.get("status") == "skipped":
        raise InvalidInput(
            "A new task cannot be skipped: skip an occurrence of a recurring task with taskSkip",
            ["input", "status"],
        )


async def create(
    uow: UnitOfWork,
    project_id: uuid.UUID,
    values: dict[str, Any],
    client_id: uuid.UUID | None,
    parent_id: uuid.UUID | None = None,
    dependency_ids: Sequence[uuid.UUID] = (),
    recurrence: Recurrence | None = None,
) -> Task:
    cleaned = checked_new(values, recurrence)
    await _localize_reminder(uow, cleaned)
    await crud.get_owned(uow.session, Project, project_id, uow.user_id, ["input", "projectId"])
    if parent_id is not None:
        await _check_parent(uow, parent_id, project_id, task_id=client_id)
    task, new = await crud.insert_owned(
        uow, Task, {**cleaned, "project_id": project_id, "parent_id": parent_id}, client_id
    )
    if dependency_ids:
        await set_dependencies(uow, task.id, dependency_ids)
    if new and task.status != "completed":
        await subtasks.reopen_parents(uow, task.parent_id)
    return task


def checked_new(values: dict[str, Any], recurrence: Recurrence | None) -> dict[str, Any]:
    """A new task's columns from its input, every check of the input alone done (field checks, the
    recurrence rule and the due time reported together)."""
    cleaned: dict[str, Any] = {}
    checks = Checks()
    checks.run(lambda: cleaned.update(_clean(values)))
    if recurrence is not None:
        checks.run(lambda: _apply_recurrence(cleaned, recurrence, values.get("due_date")))
        cleaned.update(_new_series())
    checks.run(lambda: _check_due(values))
    checks.run(lambda: _check_new_status(values))
    checks.raise_any()
    return cleaned


async def _localize_reminder(uow: UnitOfWork, cleaned: dict[str, Any]) -> None:
    """A reminder without an offset is wall-clock time in the person's zone, as the due time is."""
    reminder: datetime | None = cleaned.get("reminder_at")
    if reminder is not None:
        cleaned["reminder_at"] = localized(reminder, await _zone(uow) if reminder.tzinfo is None else None)


def localized(reminder: datetime, zone: ZoneInfo | None) -> datetime:
    """The reminder in ``zone`` when it has no offset of its own (``zone`` given only then)."""
    if reminder.tzinfo is None:
        assert zone is not None
        reminder = reminder.replace(tzinfo=zone)
    try:
        reminder.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("'reminderAt' is outside the years 1 to 9999", ["input", "reminderAt"]) from None
    return reminder


def _check_due(values: dict[str, Any]) -> None:
    if values.get("due_time") is not None and values.get("due_date") is None:
        raise InvalidInput("A due time needs a due date", ["input", "dueTime"])


async def update(
    uow: UnitOfWork,
    task_id: uuid.UUID,
    values: dict[str, Any],
    expected_version: int | None,
    dependency_ids: Sequence[uuid.UUID] | None = None,
    recurrence: Recurrence | Any | None = ...,
) -> Task:
    cleaned = _clean(values)
    task = await crud.get_owned(uow.session, Task, task_id, uow.user_id, ["input", "id"], for_update=True)
    crud.check_version(task, expected_version)
    was_closed, was_completed = task.status in CLOSED_STATUSES, task.status == "completed"
    await subtasks.check_update(uow, task, cleaned)
    if was_completed and cleaned.get("status") == "completed":
        cleaned.pop("completed_at")
    _check_schedule(task, cleaned, recurrence)
    await _localize_reminder(uow, cleaned)
    changed = crud.assign(task, cleaned)
    if dependency_ids is not None:
        changed = await set_dependencies(uow, task.id, dependency_ids) or changed
    if not changed:
        return task
    task = await crud.save(uow.session, task)
    if task.status in CLOSED_STATUSES and not was_closed:
        await _follow(uow, task)
    if was_completed and task.status != "completed":
        await subtasks.reopen_parents(uow, task.parent_id)
    return task


def _check_schedule(task: Task, cleaned: dict[str, Any], recurrence: Recurrence | Any | None) -> None:
    """The due date and time, the recurrence rule and skipping, as they would be after the update."""
    due_date = cleaned.get("due_date", task.due_date)
    if recurrence is not ...:
        _apply_recurrence(cleaned, recurrence, due_date)
        if recurrence is not None:
            series.check_for_occurrence(recurrence, task.recurrence_index, ["input", "recurrence"])
            if task.recurrence_series_id is None:
                cleaned.update(_new_series())
    elif task.recurrence_frequency is not None and "due_date" in cleaned:
        check_recurrence(_recurrence_of(task), due_date, ["input", "recurrence"])
    _check_due({"due_date": due_date, "due_time": cleaned.get("due_time", task.due_time)})
    if cleaned.get("status") == "skipped" and task.status != "skipped":
        _check_skippable(task, cleaned.get("recurrence_frequency", task.recurrence_frequency), "status")


def _recurrence_of(task: Task) -> Recurrence:
    return Recurrence(
        frequency=task.recurrence_frequency or "daily",
        interval=task.recurrence_interval or 1,
        weekdays=tuple(task.recurrence_weekdays) if task.recurrence_weekdays else None,
        month_day=task.recurrence_month_day,
        end_date=task.recurrence_end_date,
        count=task.recurrence_count,
    )


async def complete(uow: UnitOfWork, task_id: uuid.UUID, expected_version: int | None = None) -> Task:
    """Complete a task; an occurrence of a recurring task that was open gets its next occurrence."""
    task = await crud.get_owned(uow.session, Task, task_id, uow.user_id, ["input", "id"], for_update=True)
    crud.check_version(task, expected_version)
    if task.status == "completed":
        return task
    was_closed = task.status in CLOSED_STATUSES
    await subtasks.check_done(uow, task.id, task.subtasks_required)
    for name, value in status_columns("completed", _now()).items():
        setattr(task, name, value)
    task = await crud.save(uow.session, task)
    if not was_closed:
        await _follow(uow, task)
    return task


async def skip(uow: UnitOfWork, task_id: uuid.UUID, expected_version: int | None = None) -> Task:
    """Close an occurrence of a recurring task without doing it; its next occurrence follows."""
    task = await crud.get_owned(uow.session, Task, task_id, uow.user_id, ["input", "id"], for_update=True)
    crud.check_version(task, expected_version)
    _check_skippable(task, task.recurrence_frequency, "id")
    if task.status == "skipped":
        return task
    for name, value in _status_columns("skipped", _now()).items():
        setattr(task, name, value)
    task = await crud.save(uow.session, task)
    await _follow(uow, task)
    return task


def _check_skippable(task: Task, frequency: str | None, field: str) -> None:
    if frequency is None:
        raise InvalidInput("Only an occurrence of a recurring task can be skipped", ["input", field])
    if task.status == "completed":
        raise InvalidInput("This occurrence is completed: reopen it first to skip it", ["input", field])


async def _follow(uow: UnitOfWork, task: Task) -> None:
    """Create the occurrence after ``task`` (just completed or skipped), unless the series ends with it.

    Exactly once: the next occurrence is number ``index + 1`` of the series, unique in the table, inserted
    with ON CONFLICT DO NOTHING. A retried or concurrent completion (the row lock makes it wait, then it finds
    the task closed), or completing again after reopening, finds that number taken and adds nothing.
    """
    if task.recurrence_frequency is None or task.due_date is None or task.recurrence_series_id is None:
        return
    index = task.recurrence_index or 1
    due = series.next_occurrence(_recurrence_of(task), task.due_date, index)
    if due is None:
        return
    reminder = task.reminder_at
    if reminder is not None:
        reminder = series.shift_reminder(reminder, (due - task.due_date).days, await _zone(uow))
    last = await uow.session.scalar(
        select(func.max(Task.sort_order)).where(
            Task.user_id == uow.user_id,
            Task.project_id == task.project_id,
            Task.parent_id.is_not_distinct_from(task.parent_id),
        )
    )
    values = {
        "user_id": uow.user_id,
        "project_id": task.project_id,
        "parent_id": task.parent_id,
        "name": task.name,
        "description": task.description,
        "priority": task.priority,
        "due_date": due,
        "due_time": task.due_time,
        "reminder_at": reminder,
        "start_date": None if task.start_date is None else task.start_date + (due - task.due_date),
        "estimated_minutes": task.estimated_minutes,
        "energy": task.energy,
        "category": task.category,
        "subtasks_required": task.subtasks_required,
        "sort_order": min((last if last is not None else task.sort_order) + 1, 1_000_000),
        **_recurrence_of(task).columns(),
        "recurrence_series_id": task.recurrence_series_id,
        "recurrence_index": index + 1,
    }
    await uow.session.execute(
        insert(Task)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["recurrence_series_id", "recurrence_index"])
    )


async def _zone(uow: UnitOfWork) -> ZoneInfo:
    timezone = await uow.session.scalar(select(User.timezone).where(User.id == uow.user_id))
    return ZoneInfo(timezone or "UTC")


async def reopen(uow: UnitOfWork, task_id: uuid.UUID, expected_version: int | None = None) -> Task:
    """Reopen a completed or skipped task; the occurrence that followed it stays (and is never made twice)."""
    task = await crud.get_owned(uow.session, Task, task_id, uow.user_id, ["input", "id"], for_update=True)
    crud.check_version(task, expected_version)
    if task.status not in CLOSED_STATUSES:
        return task
    for name, value in status_columns("todo", _now()).items():
        setattr(task, name, value)
    task = await crud.save(uow.session, task)
    await subtasks.reopen_parents(uow, task.parent_id)
    return task


async def _check_parent(
    uow: UnitOfWork, parent_id: uuid.UUID, project_id: uuid.UUID | None, task_id: uuid.UUID | None
) -> Task:
    """The parent for a (sub)task in ``project_id`` (None: whichever project the parent is in)."""
    parent = await crud.get_owned(uow.session, Task, parent_id, uow.user_id, ["input", "parentId"])
    if project_id is not None and parent.project_id != project_id:
        raise InvalidInput("A subtask must be in the same project as its parent", ["input", "parentId"])
    if task_id is not None and task_id in await _ancestors(uow, parent_id):
        raise InvalidInput(
            "A task cannot be placed under itself or one of its subtasks", ["input", "parentId"]
        )
    return parent


async def _ancestors(uow: UnitOfWork, task_id: uuid.UUID) -> set[uuid.UUID]:
    """The task and every task above it."""
    rows = await uow.session.execute(
        text(
            "WITH RECURSIVE up(id, parent_id) AS ("
            " SELECT id, parent_id FROM tasks WHERE id = :id AND user_id = :user"
            " UNION SELECT t.id, t.parent_id FROM tasks t JOIN up ON t.id = up.parent_id"
            ") SELECT id FROM up"
        ),
        {"id": task_id, "user": uow.user_id},
    )
    return {row[0] for row in rows.all()}


async def move(
    uow: UnitOfWork,
    task_id: uuid.UUID,
    project_id: uuid.UUID | None,
    parent_id: uuid.UUID | None,
    sort_order: int | None,
    expected_version: int | None = None,
) -> Task:
    """Put a task (with its subtasks) under another parent or into another project."""
    task = await crud.get_owned(uow.session, Task, task_id, uow.user_id, ["input", "id"], for_update=True)
    crud.check_version(task, expected_version)
    if parent_id is not None:
        parent = await _check_parent(uow, parent_id, project_id, task_id=task.id)
        target_project = parent.project_id
    else:
        target_project = project_id or task.project_id
        await crud.get_owned(uow.session, Project, target_project, uow.user_id, ["input", "projectId"])
    place: dict[str, Any] = {"project_id": target_project, "parent_id": parent_id}
    if sort_order is not None:
        place["sort_order"] = int_range(sort_order, ["input", "sortOrder"], -1_000_000, 1_000_000)
    if not crud.assign(task, place):
        return task
    task = await crud.save(uow.session, task)
    if task.status != "completed":
        await subtasks.reopen_parents(uow, task.parent_id)
    return task
