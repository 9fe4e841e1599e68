"""The alignment report: how the viewer's completed work spread over their pillars, against the share of time
they planned for each, and the alignment points it earned against their goal. No GraphQL here.

The rules (API.md ``alignment(from, to)``):

- **Range.** ``from`` and ``to`` are days in the viewer's time zone (``users.timezone``), both included.
  ``to`` defaults to today there, ``from`` to the first day of ``to``'s month (so with neither given: this
  month so far). A task counts when its ``completed_at`` lies in [``from`` 00:00, ``to`` + 1 day 00:00)
  local time; both ends are turned into UTC instants with the offset in force at that moment, so a range
  across a DST change (or one ending on a day of a different offset than it starts on) is exact. ``from``
  after ``to``, a range of more than 366 days, or a day whose midnight falls outside what can be represented
  is ``BAD_USER_INPUT``.
- **Planned share** of a pillar: its ``time_allocation`` ÷ the sum of the allocations of the viewer's
  non-archived pillars (a pillar without an allocation counts 0); when that sum is 0 (no allocation
  anywhere), every non-archived pillar gets an equal share. Archived pillars are planned for nothing: share
  0.
- **Completed effort** of a pillar: its tasks completed in the range, through area → project → task,
  subtasks included (each task, parent or subtask, counts its own estimate), whether or not the area or
  project has been archived since: the work was done. ``completedMinutes`` sums their ``estimated_minutes``
  (none counts 0).
- **Actual share** — "estimated minutes, or a count where none", decided for the whole report: when at least
  one task completed in the range has an estimate, a pillar's share is its estimated minutes ÷ all estimated
  minutes (a task without an estimate then adds nothing); when none has one, its completed tasks ÷ all
  completed tasks; with nothing completed, 0 everywhere. Shares are rounded to 4 decimals.
- **Pillars listed:** every non-archived pillar, plus an archived one that has tasks completed in the range
  (with planned share 0), so that the actual shares always cover all the completed work; by sort order.
- **Points**, in the style of the original system's alignment score (its task-based algorithm; its later
  project-based one needs a project completion time, which projects do not have): each task completed in the
  range earns 5, +10 when the task's priority is high or urgent, +15 when its project's is, +20 when its
  area's importance is 5 (at most 50 a task). Tasks under archived pillars earn theirs too.
- **Goal:** ``users.monthly_alignment_goal`` prorated to the range, so that points and goal cover the same
  days: each calendar month the range touches adds goal × (days of the range in that month ÷ days of that
  month); a whole month gives exactly the goal. Rounded half up, at least 1; ``null`` without a goal. (The
  goal as set is ``viewer.monthlyAlignmentGoal``.)

Everything is one SQL statement (completed work aggregated per pillar in SQL, joined to the pillars),
whatever the number of tasks; the resolver adds the viewer's row, read once per request.
"""

from __future__ import annotations

import calendar
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aurum.area.model import Area
from aurum.errors import InvalidInput
from aurum.models import table_of
from aurum.pillar.model import Pillar
from aurum.project.model import Project
from aurum.task.model import Task

PILLARS = table_of(Pillar)
AREAS = table_of(Area)
PROJECTS = table_of(Project)
TASKS = table_of(Task)

MAX_DAYS = 366
BASE_POINTS = 5
TASK_PRIORITY_POINTS = 10
PROJECT_PRIORITY_POINTS = 15
TOP_AREA_POINTS = 20
HIGH_PRIORITIES = ("high", "urgent")
TOP_IMPORTANCE = 5
SHARE_DIGITS = 4

FROM = ["from"]
TO = ["to"]


@dataclass(frozen=True)
class Period:
    """Local days ``first`` to ``last`` (both included) and the UTC instants that bound them."""

    first: date
    last: date
    start: datetime
    end: datetime  # excluded

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def local_midnight(day: date, zone: ZoneInfo, field: list[str]) -> datetime:
    """The UTC instant at which ``day`` begins in ``zone``.

    At a DST gap at midnight the day begins when the clocks jump (``fold=0`` takes the offset before the
    change, which names that very instant); at an overlap, at the first of the two midnights.
    """
    try:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"'{field[-1]}' is too far in the past or the future", field) from None


def period(first: date | None, last: date | None, zone: ZoneInfo, today: date) -> Period:
    """The report's range from the arguments as given (``None``: left out), in ``zone``, where it is
    ``today``."""
    last_day = last if last is not None else today
    first_day = first if first is not None else last_day.replace(day=1)
    if first_day > last_day:
        what = "'to'" if last is not None else f"today ({last_day.isoformat()})"
        raise InvalidInput(f"'from' must be on or before {what}", FROM)
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS:
        raise InvalidInput(
            f"The range covers {days} days; at most {MAX_DAYS} are allowed", TO if last is not None else FROM
        )
    if last_day == date.max:
        raise InvalidInput("'to' is too far in the future", TO)
    start = local_midnight(first_day, zone, FROM if first is not None else TO)
    end = local_midnight(last_day + timedelta(days=1), zone, TO)
    return Period(first=first_day, last=last_day, start=start, end=end)


def prorated_goal(monthly: int | None, first: date, last: date) -> int | None:
    """The monthly goal for the days ``first`` to ``last``: each month they touch adds its share of days."""
    if monthly is None:
        return None
    months = Fraction(0)
    day = first
    while day <= last:
        length = calendar.monthrange(day.year, day.month)[1]
        stop = min(last, day.replace(day=length))
        months += Fraction((stop - day).days + 1, length)
        if stop == date.max:
            break
        day = stop + timedelta(days=1)
    return max(1, math.floor(monthly * months + Fraction(1, 2)))


def planned_shares(allocations: Sequence[int | None]) -> list[float]:
    """Each active pillar's share of the planned time, from the allocations of all active pillars."""
    total = sum(a or 0 for a in allocations)
    if total == 0:
        return [round(1 / len(allocations), SHARE_DIGITS)] * len(allocations) if allocations else []
    return [round((a or 0) / total, SHARE_DIGITS) for a in allocations]


def actual_shares(efforts: Sequence[tuple[int, int, int]]) -> list[float]:
    """Each pillar's share of the completed work from its (completed tasks, estimated tasks, minutes)."""
    if any(estimated for _, estimated, _ in efforts):
        weights = [minutes for _, _, minutes in efforts]
    else:
        weights = [tasks for tasks, _, _ in efforts]
    total = sum(weights)
    return [round(w / total, SHARE_DIGITS) if total else 0.0 for w in weights]


@dataclass(frozen=True)
class PillarEffort:
    pillar: Row[Any]  # the pillar's row
    planned_share: float
    actual_share: float
    completed_tasks: int
    completed_minutes: int


@dataclass(frozen=True)
class Report:
    period: Period
    points: int
    goal: int | None
    pillars: list[PillarEffort]


def _points() -> Any:
    high = HIGH_PRIORITIES
    return (
        BASE_POINTS
        + case((TASKS.c.priority.in_(high), TASK_PRIORITY_POINTS), else_=0)
        + case((PROJECTS.c.priority.in_(high), PROJECT_PRIORITY_POINTS), else_=0)
        + case((AREAS.c.importance == TOP_IMPORTANCE, TOP_AREA_POINTS), else_=0)
    )


def report_statement(user_id: uuid.UUID, span: Period) -> Any:
    """The viewer's pillars (active, or with work in the range) and their completed work: one statement."""
    completed = (
        select(
            AREAS.c.pillar_id,
            func.count().label("completed_tasks"),
            func.count(TASKS.c.estimated_minutes).label("estimated_tasks"),
            func.coalesce(func.sum(TASKS.c.estimated_minutes), 0).label("completed_minutes"),
            func.coalesce(func.sum(_points()), 0).label("points"),
        )
        .select_from(
            TASKS.join(
                PROJECTS, and_(PROJECTS.c.id == TASKS.c.project_id, PROJECTS.c.user_id == TASKS.c.user_id)
            ).join(AREAS, and_(AREAS.c.id == PROJECTS.c.area_id, AREAS.c.user_id == PROJECTS.c.user_id))
        )
        .where(
            TASKS.c.user_id == user_id,
            TASKS.c.status == "completed",
            TASKS.c.completed_at >= span.start,
            TASKS.c.completed_at < span.end,
        )
        .group_by(AREAS.c.pillar_id)
        .cte("completed")
    )
    return (
        select(
            PILLARS,
            completed.c.completed_tasks,
            completed.c.estimated_tasks,
            completed.c.completed_minutes,
            completed.c.points,
        )
        .select_from(PILLARS.outerjoin(completed, completed.c.pillar_id == PILLARS.c.id))
        .where(
            PILLARS.c.user_id == user_id,
            or_(PILLARS.c.archived.is_(False), completed.c.completed_tasks.is_not(None)),
        )
        .order_by(PILLARS.c.sort_order, PILLARS.c.created_at, PILLARS.c.id)
    )


async def report(session: AsyncSession, user_id: uuid.UUID, span: Period, monthly_goal: int | None) -> Report:
    rows = (await session.execute(report_statement(user_id, span))).all()
    efforts = [(r.completed_tasks or 0, r.estimated_tasks or 0, r.completed_minutes or 0) for r in rows]
    active = [r for r in rows if not r.archived]
    planned = dict(
        zip([r.id for r in active], planned_shares([r.time_allocation for r in active]), strict=True)
    )
    actual = actual_shares(efforts)
    pillars = [
        PillarEffort(
            pillar=row,
            planned_share=planned.get(row.id, 0.0),
            actual_share=share,
            completed_tasks=tasks,
            completed_minutes=minutes,
        )
        for row, share, (tasks, _, minutes) in zip(rows, actual, efforts, strict=True)
    ]
    return Report(
        period=span,
        points=sum(r.points or 0 for r in rows),
        goal=prorated_goal(monthly_goal, span.first, span.last),
        pillars=pillars,
    )
