"""Pieces of an answer from rows: a connection's parts and page info, and the computed fields read with them
(isOverdue in the viewer's zone, progress, recurrence)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aurum.compiled.plan import (
    ConnectionPlan,
    Part,
)
from aurum.graphql.types import Progress
from aurum.pagination import Page
from aurum.task import rules

Answer = dict[str, Any]
Layout = dict[str, int]


def columns_of(plan: ConnectionPlan) -> set[str]:
    columns = {"id"}
    for part in plan.parts:
        for object_plan in part.plans:
            columns |= object_plan.columns
    return columns


def part_answer(part: Part, page: Page, cursors: list[str], objects: dict[int, list[Answer]]) -> Any:
    kind = part.kind
    if kind == "totalCount":
        return page.total
    if kind == "__typename":
        return part.typename
    if kind == "nodes":
        return objects[id(part.plans[0])]
    if kind == "pageInfo":
        return {key: page_info_of(name, part.typename, page, cursors) for key, name in part.pieces}
    node_lists = [objects[id(plan)] for plan in part.plans]
    edges = []
    for index in range(len(page.rows)):
        edge: Answer = {}
        nodes = iter(node_lists)
        for key, name in part.pieces:
            if name == "cursor":
                edge[key] = cursors[index]
            elif name == "node":
                edge[key] = next(nodes)[index]
            else:
                edge[key] = part.typename
        edges.append(edge)
    return edges


def page_info_of(name: str, typename: str, page: Page, cursors: list[str]) -> Any:
    if name == "hasNextPage":
        return page.has_next
    if name == "hasPreviousPage":
        return page.has_previous
    if name == "startCursor":
        return cursors[0] if cursors else None
    if name == "endCursor":
        return cursors[-1] if cursors else None
    return typename


def overdue_flags(rows: Sequence[Any], layout: Layout, zone: ZoneInfo, now: datetime) -> list[bool]:
    """``Task.isOverdue`` for each row. Only a task due today needs its due moment: the local day of any
    other is wholly before or after now."""
    status, due, at = layout["status"], layout["due_date"], layout["due_time"]
    today: date = now.astimezone(zone).date()
    answers = []
    for row in rows:
        day = row[due]
        if day is None or row[status] in ("skipped", "completed"):
            answers.append(False)
        elif day != today:
            answers.append(day < today)
        else:
            answers.append(rules.is_overdue(row[status], day, row[at], zone, now))
    return answers


def progress_answer(progress: Progress, parts: tuple[tuple[str, str], ...]) -> Answer:
    values = {
        "totalTasks": progress.total_tasks,
        "completedTasks": progress.completed_tasks,
        "percent": progress.percent,
        "__typename": "Progress",
    }
    return {key: values[name] for key, name in parts}


def recurrence_answer(recurrence: Any, parts: tuple[tuple[str, str], ...]) -> Answer | None:
    if recurrence is None:
        return None
    values = {
        "frequency": recurrence.frequency.name,
        "interval": recurrence.interval,
        "weekdays": [w.name for w in recurrence.weekdays] if recurrence.weekdays is not None else None,
        "monthDay": recurrence.month_day,
        "endDate": recurrence.end_date.isoformat() if recurrence.end_date is not None else None,
        "count": recurrence.count,
        "__typename": "Recurrence",
    }
    return {key: values[name] for key, name in parts}
