"""What the compiled path knows of each type of the hierarchy: its table, how each field of the answer is
read from a row, which fields lead to other rows, and how its lists are filtered, ordered and hung below
their parents. Each reader gives exactly what Strawberry sends for the field (enum names, ISO dates and
times, global ids), and the lists reuse the domains' own conditions and orderings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table

from aurum.area.graphql import TABLE as AREAS
from aurum.area.graphql import area_conditions, area_ordering
from aurum.ids import to_global_id
from aurum.pagination import Ordering
from aurum.pillar.graphql import TABLE as PILLARS
from aurum.pillar.graphql import pillar_conditions, pillar_ordering
from aurum.project.graphql import TABLE as PROJECTS
from aurum.project.graphql import Priority, ProjectStatus, project_conditions, project_ordering
from aurum.task.graphql import TABLE as TASKS
from aurum.task.kinds import Energy, KanbanColumn, TaskCategory, TaskStatus
from aurum.task.listing import task_filter_conditions, task_ordering

Convert = Callable[[Any], Any]  # a column's value → the field's value in the answer
Conditions = Callable[[Any, ZoneInfo | None], list[ColumnElement[bool]]]  # (filter, the viewer's zone)


@dataclass(frozen=True, slots=True)
class Leaf:
    """A field answered from one column of the object's own row (``convert`` None: the value as it is)."""

    column: str
    convert: Convert | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@dataclass(frozen=True, slots=True)
class Relation:
    """A field that is another object, named by a column of this row (``None`` when the column is null)."""

    target: str
    column: str


@dataclass(frozen=True, slots=True)
class Child:
    """A connection of rows of ``target`` below this object, by their column ``parent``."""

    target: str
    parent: str
    top_level: bool = False  # Project.tasks: top-level tasks, unless the filter names topLevel or a parent


@dataclass(frozen=True)
class Entity:
    name: str
    table: Table
    leaves: Mapping[str, Leaf]
    relations: Mapping[str, Relation] = field(default_factory=dict)
    children: Mapping[str, Child] = field(default_factory=dict)
    computed: frozenset[str] = frozenset()
    conditions: Conditions = lambda _filter, _zone: []
    ordering: Callable[[Any], Ordering] = lambda _order: Ordering("", ())


def plain(column: str) -> Leaf:
    return Leaf(column)


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def iso(column: str) -> Leaf:
    return Leaf(column, _iso)


def named(column: str, enum: type[Enum]) -> Leaf:
    """An enum column: its value as the GraphQL name of the enum's member."""
    names = {member.value: member.name for member in enum}

    def name(value: Any) -> Any:
        return names[value] if value is not None else None

    return Leaf(column, name)


def global_id(type_name: str) -> Leaf:
    return Leaf("id", partial(to_global_id, type_name))


def _clock(value: Any) -> Any:
    return value.strftime("%H:%M") if value is not None else None


def clock(column: str) -> Leaf:
    return Leaf(column, _clock)


def common(type_name: str) -> dict[str, Leaf]:
    return {
        "id": global_id(type_name),
        "name": plain("name"),
        "description": plain("description"),
        "sortOrder": plain("sort_order"),
        "version": plain("version"),
        "createdAt": iso("created_at"),
        "updatedAt": iso("updated_at"),
    }


PILLAR = Entity(
    "Pillar",
    PILLARS,
    {
        **common("Pillar"),
        "icon": plain("icon"),
        "color": plain("color"),
        "archived": plain("archived"),
        "timeAllocation": plain("time_allocation"),
        "visionStatement": plain("vision_statement"),
    },
    children={"areas": Child("Area", "pillar_id")},
    computed=frozenset({"progress"}),
    conditions=lambda filter, _zone: pillar_conditions(filter),
    ordering=pillar_ordering,
)
AREA = Entity(
    "Area",
    AREAS,
    {
        **common("Area"),
        "icon": plain("icon"),
        "color": plain("color"),
        "importance": plain("importance"),
        "archived": plain("archived"),
    },
    relations={"pillar": Relation("Pillar", "pillar_id")},
    children={"projects": Child("Project", "area_id")},
    computed=frozenset({"progress"}),
    conditions=lambda filter, _zone: area_conditions(filter),
    ordering=area_ordering,
)
PROJECT = Entity(
    "Project",
    PROJECTS,
    {
        **common("Project"),
        "icon": plain("icon"),
        "status": named("status", ProjectStatus),
        "priority": named("priority", Priority),
        "importance": plain("importance"),
        "deadline": iso("deadline"),
        "archived": plain("archived"),
    },
    relations={"area": Relation("Area", "area_id")},
    children={"tasks": Child("Task", "project_id", top_level=True)},
    computed=frozenset({"completionPercent"}),
    conditions=lambda filter, _zone: project_conditions(filter),
    ordering=project_ordering,
)
TASK = Entity(
    "Task",
    TASKS,
    {
        **common("Task"),
        "status": named("status", TaskStatus),
        "kanbanColumn": named("kanban_column", KanbanColumn),
        "priority": named("priority", Priority),
        "dueDate": iso("due_date"),
        "dueTime": clock("due_time"),
        "reminderAt": iso("reminder_at"),
        "startDate": iso("start_date"),
        "deferUntil": iso("defer_until"),
        "scheduledStart": iso("scheduled_start"),
        "scheduledEnd": iso("scheduled_end"),
        "estimatedMinutes": plain("estimated_minutes"),
        "energy": named("energy", Energy),
        "category": named("category", TaskCategory),
        "subtasksRequired": plain("subtasks_required"),
        "completedAt": iso("completed_at"),
        "recurrenceIndex": plain("recurrence_index"),
    },
    relations={"project": Relation("Project", "project_id"), "parent": Relation("Task", "parent_id")},
    children={"subtasks": Child("Task", "parent_id")},
    computed=frozenset({"isOverdue", "canStart", "blockedBy", "dependencies", "recurrence"}),
    conditions=task_filter_conditions,
    ordering=task_ordering,
)
ENTITIES: Mapping[str, Entity] = {e.name: e for e in (PILLAR, AREA, PROJECT, TASK)}
ROOT_LISTS: Mapping[str, str] = {"pillars": "Pillar", "areas": "Area", "projects": "Project", "tasks": "Task"}
