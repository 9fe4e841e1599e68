"""OVERLOAD: more estimated work due this week than the person's work hours hold."""

from __future__ import annotations

import uuid
from datetime import timedelta

from aurum.hrm.effort import working_minutes
from aurum.hrm.facts import Snapshot, TaskFacts
from aurum.hrm.findings import Evidence, Finding, Scope
from aurum.hrm.observing import (
    PRIORITY_RANK,
    due_phrase,
    due_this_week,
    duration,
    finding,
    open_in_scope,
    open_subtasks,
    quoted,
    week_end,
)
from aurum.hrm.wording import due_at

# --- OVERLOAD


def own_minutes(task: TaskFacts, subtasks: dict[uuid.UUID, list[TaskFacts]]) -> int:
    """A task's estimate, unless its open subtasks carry estimates of their own (counted instead)."""
    if any(s.estimated_minutes for s in subtasks.get(task.id, [])):
        return 0
    return task.estimated_minutes or 0


def overload(snapshot: Snapshot, scope: Scope) -> list[Finding]:
    """The coming 7 days are today and the six days after it, in the person's time zone. The estimated minutes
    of the scope's open tasks due in them (overdue included: that work is still to do; a parent's estimate
    only when its open subtasks have none) against the person's working minutes from now to the end of those
    days (their work days and hours: ``weekly_work_minutes`` less what of today's work time has passed,
    give or take a DST hour). Fires when the load exceeds that time. Every scope; the finding is about the
    analysis scope. With r = load ÷ working time (10 when none is left):
    confidence = 0.6 + 0.35·min(1, r − 1); impact = 0.4 + 0.3·(r − 1)."""
    subtasks = open_subtasks(snapshot)
    due = [t for t in open_in_scope(snapshot, scope) if due_this_week(snapshot, t)]
    load = sum(own_minutes(t, subtasks) for t in due)
    end = week_end(snapshot)
    capacity = working_minutes(snapshot.preferences, snapshot.zone, snapshot.now, end)
    if load <= capacity:
        return []
    ratio = load / capacity if capacity else 10.0
    weighed = sorted(
        (t for t in due if own_minutes(t, subtasks)),
        key=lambda t: (due_at(snapshot, t), t.name),
    )
    unestimated = len(due) - len(weighed)
    excess = load - capacity
    summary = (
        f"Tasks due in the next 7 days need about {duration(load)} but your work hours leave"
        f" {duration(capacity)} by the end of {(end - timedelta(days=1)):%A}: {duration(excess)} too much."
    )
    if unestimated:
        summary += f" {unestimated} more due task{'s have' if unestimated > 1 else ' has'} no estimate."
    evidence = [
        Evidence("Task", t.id, f"{due_phrase(snapshot, t)}, estimated {own_minutes(t, subtasks)} min")
        for t in weighed
    ]
    return [
        finding(
            "OVERLOAD",
            "time_allocation",
            (scope.type, scope.id),
            f"{duration(load)} of work due this week, {duration(capacity)} to do it",
            summary,
            (0.6 + 0.35 * min(1.0, ratio - 1), 0.4 + 0.3 * (ratio - 1)),
            evidence,
            _lighten(snapshot, weighed, subtasks, excess, capacity),
            ("overload", "time"),
        )
    ]


def _lighten(
    snapshot: Snapshot,
    tasks: list[TaskFacts],
    subtasks: dict[uuid.UUID, list[TaskFacts]],
    excess: float,
    capacity: float,
) -> list[str]:
    """Moves to free ``excess`` minutes: least important first, then latest due, then biggest."""
    order = sorted(
        tasks,
        key=lambda t: (
            -PRIORITY_RANK.get(t.priority, 2),
            -(due_at(snapshot, t) or snapshot.now).timestamp(),
            -own_minutes(t, subtasks),
            t.name,
        ),
    )
    advice, freed = [], 0
    for task in order[:4]:
        if freed >= excess:
            break
        minutes = own_minutes(task, subtasks)
        advice.append(
            f"Move {quoted(task.name)} ({duration(minutes)}, {task.priority} priority) beyond this week"
        )
        freed += minutes
    advice.append(f"Take on no new work until this week's load fits your {duration(capacity)}")
    return advice
