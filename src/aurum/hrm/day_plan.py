"""The person's open work as a planner request, and the planner's answer: the HRM's side of ``plan``.

What enters a plan: open tasks of projects under way (planning or active) below nothing archived, at most
``MAX_PLANNED`` of them by priority score. A parent with open subtasks is planned through its subtasks. A task
without an estimate gets its category's typical length and says so. What cannot enter (its project is on
hold, it waits on work that is not planned) is listed as unscheduled with the reason, never dropped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aurum.calendar.service import busy_time
from aurum.hrm.effort import typical_minutes as typical
from aurum.hrm.facts import Snapshot, TaskFacts
from aurum.hrm.gather import gather, preferences_of
from aurum.hrm.kept_plan import kept_blocks
from aurum.hrm.preferences import Preferences
from aurum.hrm.scoring import current_scores
from aurum.planning import (
    EnergyPattern,
    Horizon,
    KeptBlock,
    Plan,
    PlanRequest,
    PlanTask,
    Unscheduled,
    WorkTime,
    plan,
)
from aurum.planning.timeline import LOOKAHEAD_DAYS
from aurum.task.rules import due_moment
from aurum.timetrack.learning import Effort, effort_of

MAX_PLANNED = 300
MAX_DAYS = 14
NO_EFFORT = Effort()
_SOLVING = asyncio.Semaphore(2)  # solves at once in this process: each may use its whole time limit


@dataclass(frozen=True)
class Planned:
    """The plan and the tasks planned at a typical length (they had no estimate)."""

    plan: Plan
    estimated: frozenset[uuid.UUID]  # tasks planned at their category's typical length


def usual_minutes(task: TaskFacts, effort: Effort = NO_EFFORT) -> int:
    """The task's length when it has no estimate: what the person's tasks of its kind usually take (from
    tracked time), else a typical length for the kind."""
    return effort.usual.get(task.category or "") or typical(task)


def remaining_minutes(task: TaskFacts, effort: Effort = NO_EFFORT) -> int:
    """Its length less the time already tracked on it (at least one slot is left while it is open)."""
    whole = task.estimated_minutes or usual_minutes(task, effort)
    return max(5, whole - effort.spent.get(task.id, 0))


def _parents(snapshot: Snapshot) -> set[uuid.UUID]:
    return {t.parent_id for t in snapshot.open_tasks() if t.parent_id is not None}


def _left_out(snapshot: Snapshot, task: TaskFacts, planned: set[uuid.UUID]) -> str | None:
    """Why an open task stays out of the plan, or None when it may enter."""
    project = snapshot.project_of(task)
    if project is None:
        return None
    if not snapshot.is_under_way(task):
        return f"its project '{project.name}' is {project.status.replace('_', ' ')}"
    for dep in task.open_dependency_ids:
        if dep not in planned:
            waited = snapshot.tasks.get(dep)
            name = f"'{waited.name}'" if waited else "a task outside your active projects"
            return f"waits on {name}, which is not in this plan"
    return None


def plan_task(
    snapshot: Snapshot,
    task: TaskFacts,
    priority: float,
    effort: Effort = NO_EFFORT,
    kept: tuple[KeptBlock, ...] = (),
) -> PlanTask:
    due = None if task.due_date is None else due_moment(task.due_date, task.due_time, snapshot.zone)
    return PlanTask(
        id=task.id,
        remaining_minutes=remaining_minutes(task, effort),
        priority=priority,
        due=due,
        not_before=task.not_before(snapshot.zone),
        depends_on=task.open_dependency_ids,
        kept=kept,
        deep_work=task.energy == "high" or task.category == "deep_work",
        name=task.name,
    )


def choose(
    snapshot: Snapshot, priorities: Mapping[uuid.UUID, float]
) -> tuple[list[TaskFacts], list[Unscheduled]]:
    """The tasks the planner gets (most important first) and those set aside here, with why."""
    parents = _parents(snapshot)
    candidates = [t for t in snapshot.open_tasks() if t.id not in parents and snapshot.is_under_way(t)]
    candidates.sort(key=lambda t: (-priorities.get(t.id, 0.0), t.due_date or date.max, t.created_at))
    kept, aside = candidates[:MAX_PLANNED], candidates[MAX_PLANNED:]
    reasons = {t.id: f"not among your {MAX_PLANNED} most important open tasks" for t in aside}
    planned = {t.id for t in kept}
    while True:  # leaving one out may strand what waits on it
        stranded = {t.id: r for t in kept if (r := _left_out(snapshot, t, planned)) is not None}
        if not stranded:
            break
        reasons |= stranded
        kept = [t for t in kept if t.id not in stranded]
        planned -= stranded.keys()
    others = [t for t in snapshot.open_tasks() if t.id not in parents and not snapshot.is_under_way(t)]
    reasons |= {t.id: r for t in others if (r := _left_out(snapshot, t, planned)) is not None}
    return kept, [Unscheduled(task_id, reason) for task_id, reason in reasons.items()]


def request_of(
    snapshot: Snapshot,
    tasks: list[TaskFacts],
    priorities: Mapping[uuid.UUID, float],
    start: date,
    days: int,
    time_limit: timedelta,
    effort: Effort = NO_EFFORT,
    kept: Mapping[uuid.UUID, tuple[KeptBlock, ...]] | None = None,
) -> PlanRequest:
    preferences: Preferences = snapshot.preferences
    return PlanRequest(
        horizon=Horizon(start, days, snapshot.zone, earliest=snapshot.now),
        tasks=tuple(
            plan_task(snapshot, t, priorities.get(t.id, 0.0), effort, (kept or {}).get(t.id, ()))
            for t in tasks
        ),
        work=WorkTime(preferences.work_start, preferences.work_end, frozenset(preferences.work_days)),
        energy=EnergyPattern(preferences.energy_pattern),
        time_limit=time_limit,
    )


@dataclass(frozen=True)
class Prepared:
    """What the planner needs, read in one transaction, so that the solving happens after it closed."""

    request: PlanRequest
    aside: tuple[Unscheduled, ...]
    estimated: frozenset[uuid.UUID]


async def prepare_plan(
    session: AsyncSession, user_id: uuid.UUID, start: date, days: int, now: datetime, time_limit: timedelta
) -> Prepared:
    """The planner request for the person's ``days`` days from ``start``, as of ``now``."""
    snapshot = await gather(session, user_id, now, await preferences_of(session, user_id, {}))
    scores = await current_scores(session, user_id, [t.id for t in snapshot.open_tasks()])
    priorities = {task_id: score.value for task_id, score in scores.items()}
    tasks, aside = choose(snapshot, priorities)
    effort = await effort_of(session, user_id, [t.id for t in tasks])
    opens = datetime.combine(start, time(), snapshot.zone)
    kept = await kept_blocks(session, user_id, opens, opens + timedelta(days=days))
    request = request_of(snapshot, tasks, priorities, start, days, time_limit, effort, kept)
    closes = opens + timedelta(days=days + LOOKAHEAD_DAYS)  # deadlines past the plan are judged too
    busy = await busy_time(session, user_id, opens, closes, snapshot.zone)
    request = replace(request, busy=tuple((b.start, b.end) for b in busy))
    return Prepared(request, tuple(aside), frozenset(t.id for t in tasks if t.estimated_minutes is None))


async def solve(prepared: Prepared) -> Planned:
    """The plan, solved in a worker thread (CP-SAT releases the interpreter while it searches)."""
    async with _SOLVING:
        solved = await asyncio.to_thread(plan, prepared.request)
    return Planned(replace(solved, unscheduled=solved.unscheduled + prepared.aside), prepared.estimated)
