"""What every plan must obey, checked from the request alone (not through the planner's own slot grid):
the rules of issue 12 point 2 as a list of broken ones, empty for a good plan."""

from __future__ import annotations

import itertools
import math
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from aurum.planning import Block, Plan, PlanRequest, PlanTask


def within_work(request: PlanRequest, block: Block) -> bool:
    zone, work, horizon = request.horizon.zone, request.work, request.horizon
    day = block.start.astimezone(zone).date()
    if not 0 <= (day - horizon.start).days < horizon.days or day.weekday() not in work.weekdays:
        return False
    opens = datetime.combine(day, work.start, zone)
    closes = datetime.combine(day if work.end > work.start else day + timedelta(days=1), work.end, zone)
    return opens <= block.start < block.end <= closes


def task_rules(request: PlanRequest, task: PlanTask, own: list[Block], plan: Plan) -> list[str]:
    broken: list[str] = []
    rule, label = request.breaks, task.label
    if any(b.start < a.end for a, b in itertools.pairwise(own)):
        broken.append(f"{label}: blocks out of order")
    planned = sum(b.minutes for b in own)
    rounded = math.ceil(task.remaining_minutes / 5) * 5
    if planned > rounded:
        broken.append(f"{label}: {planned} min planned for {task.remaining_minutes}")
    shortest = min(rounded, rule.min_block_minutes)
    if any(not shortest <= b.minutes <= rule.max_block_minutes for b in own):
        broken.append(f"{label}: a block outside {shortest}–{rule.max_block_minutes} min")
    if own and task.not_before is not None and own[0].start < task.not_before:
        broken.append(f"{label}: starts before its not-before")
    at_risk = {risk.task_id for risk in plan.at_risk}
    if own and task.due is not None and task.id not in at_risk and own[-1].end > task.due:
        broken.append(f"{label}: ends past its due and is not at risk")
    return broken


def dependency_rules(request: PlanRequest, by_task: dict[uuid.UUID, list[Block]]) -> list[str]:
    broken: list[str] = []
    tasks = {task.id: task for task in request.tasks}
    for task in request.tasks:
        own = by_task.get(task.id, [])
        for dep in (d for d in task.depends_on if d in tasks and own):
            done = by_task.get(dep, [])
            needed = math.ceil(tasks[dep].remaining_minutes / 5) * 5
            if sum(b.minutes for b in done) < needed or done[-1].end > own[0].start:
                broken.append(f"{task.label} starts before {tasks[dep].label} is done")
    return broken


def violations(request: PlanRequest, plan: Plan) -> list[str]:
    """Every rule the plan breaks."""
    broken: list[str] = []
    blocks = sorted(plan.blocks, key=lambda b: b.start)
    gap = timedelta(minutes=request.breaks.break_minutes)
    for a, b in itertools.pairwise(blocks):
        if b.start < a.end + gap:
            broken.append(f"{a} and {b} overlap or leave no break")
    for block in blocks:
        if not within_work(request, block):
            broken.append(f"{block} outside work time")
        if any(block.start < high and low < block.end for low, high in request.busy):
            broken.append(f"{block} inside busy time")
        earliest = request.horizon.earliest
        if earliest is not None and block.start < earliest:
            broken.append(f"{block} before the plan's earliest moment")
    by_task: dict[uuid.UUID, list[Block]] = defaultdict(list)
    for block in blocks:
        by_task[block.task_id].append(block)
    for task in request.tasks:
        broken += task_rules(request, task, by_task.get(task.id, []), plan)
    broken += dependency_rules(request, by_task)
    per_day: dict[object, int] = defaultdict(int)
    for block in blocks:
        per_day[block.start.astimezone(request.horizon.zone).date()] += block.minutes
    capacity = request.daily_capacity_minutes
    if capacity is not None and any(minutes > capacity for minutes in per_day.values()):
        broken.append(f"a day over its capacity of {capacity} min: {dict(per_day)}")
    for day in plan.days:
        if not day.planned_minutes <= day.capacity_minutes <= 24 * 60 - day.busy_minutes:
            broken.append(f"{day.date}: {day.planned_minutes} min planned, capacity {day.capacity_minutes}")
    unscheduled = {entry.task_id for entry in plan.unscheduled}
    for task in request.tasks:
        if task.id not in by_task and task.id not in unscheduled:
            broken.append(f"{task.label} neither planned nor said unscheduled")
    return broken
