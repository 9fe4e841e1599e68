"""From a request to jobs the solvers can place: blocks cut to size, dependencies ordered, the tasks that
cannot enter the plan set aside with their reason, and each deadline judged against the earliest finish."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from graphlib import CycleError, TopologicalSorter

from aurum.planning.board import Board
from aurum.planning.model import BreakRule, PlanRequest, PlanTask
from aurum.planning.timeline import LOOKAHEAD_DAYS, SLOT_MINUTES, Timeline


@dataclass
class Job:
    """A task ready for the solvers. Every block ends by `high` (a due it can meet); `late` when its due
    cannot be met even if it and what it waits on come first."""

    task: PlanTask
    sizes: list[int]
    kept: list[int | None]
    low: int
    deps: list[uuid.UUID]
    high: int | None = None
    late: bool = False
    alone_finish: datetime | None = None


@dataclass
class Problem:
    request: PlanRequest
    timeline: Timeline
    capacities: list[int]
    break_slots: int
    jobs: dict[uuid.UUID, Job] = field(default_factory=dict)  # dependencies before dependents
    excluded: dict[uuid.UUID, str] = field(default_factory=dict)


def split(slots: int, rule: BreakRule) -> list[int]:
    """Equal blocks no longer than the rule allows: as few as possible, each at least min_block."""
    longest = rule.max_block_minutes // SLOT_MINUTES
    count = max(1, math.ceil(slots / longest))
    base, extra = divmod(slots, count)
    return [base + 1 if index < extra else base for index in range(count)]


def block_sizes(slots: int, kept: list[int], rule: BreakRule) -> list[int]:
    """Blocks for `slots` of work: the committed blocks' lengths first (so they can stay), then new ones."""
    sizes: list[int] = []
    left = slots
    for length in kept:
        if left <= 0:
            break
        sizes.append(min(length, left))
        left -= sizes[-1]
    sizes += split(left, rule) if left > 0 else []
    shortest = math.ceil(rule.min_block_minutes / SLOT_MINUTES)
    while len(sizes) > 1 and min(sizes) < shortest:
        index = sizes.index(min(sizes))
        neighbour = index - 1 if index > 0 else 1
        merged = sizes[index] + sizes[neighbour]
        low = min(index, neighbour)
        sizes[low : low + 2] = split(merged, rule)
    return sizes


def check(request: PlanRequest) -> None:
    """Bad input is the caller's bug: say which."""
    moments = [request.horizon.earliest, *(m for pair in request.busy for m in pair)]
    for task in request.tasks:
        moments += [task.due, task.not_before, *(m for k in task.kept for m in (k.start, k.end))]
    if any(m is not None and m.tzinfo is None for m in moments):
        raise ValueError("every moment given to the planner must be aware (carry its time zone)")
    if request.horizon.days < 1:
        raise ValueError("a plan covers at least one day")
    rule = request.breaks
    if rule.break_minutes < 0 or rule.min_block_minutes < SLOT_MINUTES:
        raise ValueError("breaks cannot be negative and blocks last at least one slot")
    if rule.max_block_minutes < 2 * rule.min_block_minutes:
        raise ValueError("the longest block must be at least twice the shortest, so long tasks can be cut")
    if len({task.id for task in request.tasks}) != len(request.tasks):
        raise ValueError("each task appears once")


def order(request: PlanRequest) -> tuple[list[PlanTask], dict[uuid.UUID, str]]:
    """Tasks with their dependencies first; tasks caught in a dependency cycle set aside."""
    tasks = {task.id: task for task in request.tasks}
    graph = {task.id: {d for d in task.depends_on if d in tasks} for task in request.tasks}
    excluded: dict[uuid.UUID, str] = {}
    while True:
        try:
            ordered = list(TopologicalSorter(graph).static_order())
            return [tasks[task_id] for task_id in ordered], excluded
        except CycleError as error:
            cycle = error.args[1]
            names = " → ".join(tasks[task_id].label for task_id in cycle)
            for task_id in set(cycle):
                excluded[task_id] = f"its dependencies go round in a circle ({names})"
                graph.pop(task_id, None)
            graph = {k: {d for d in v if d in graph} for k, v in graph.items()}


def job_of(problem: Problem, task: PlanTask) -> Job | str:
    """The task as a job, or why it stays out of the plan."""
    timeline, request = problem.timeline, problem.request
    if task.remaining_minutes <= 0:
        return "nothing left to do"
    if task.not_before is not None and timeline.ceil(task.not_before) >= timeline.end:
        local = task.not_before.astimezone(timeline.zone)
        return f"deferred past the plan (until {local:%a %d %b %H:%M})"
    deps = [d for d in task.depends_on if d in problem.jobs or d in problem.excluded]
    for dep in deps:
        if dep in problem.excluded:
            label = next(t.label for t in request.tasks if t.id == dep)
            return f"waits on {label}, which is not in this plan ({problem.excluded[dep]})"
    slots = math.ceil(task.remaining_minutes / SLOT_MINUTES)
    since = max(0, timeline.ceil(request.horizon.earliest)) if request.horizon.earliest else 0
    kept = sorted((k for k in task.kept if timeline.floor(k.start) >= since), key=lambda k: k.start)
    kept_lengths = [max(1, timeline.ceil(k.end) - timeline.floor(k.start)) for k in kept]
    sizes = block_sizes(slots, kept_lengths, request.breaks)
    kept_starts: list[int | None] = [timeline.floor(k.start) for k in kept[: len(sizes)]]
    kept_starts += [None] * (len(sizes) - len(kept_starts))
    low = 0 if task.not_before is None else max(0, timeline.ceil(task.not_before))
    return Job(task, sizes, kept_starts, low, deps)


def earliest_finish(problem: Problem, target: Job, timeline: Timeline) -> int | None:
    """The slot where `target` ends at the soonest: its unfinished dependencies and then itself placed first,
    block by block as early as they fit (breaks and daily capacity included)."""
    needed: set[uuid.UUID] = set()
    stack = [target.task.id]
    while stack:
        task_id = stack.pop()
        if task_id not in needed:
            needed.add(task_id)
            stack += problem.jobs[task_id].deps
    board = Board(timeline, timeline.capacities(problem.request.daily_capacity_minutes), problem.break_slots)
    ends: dict[uuid.UUID, int] = {}
    for job in (j for j in problem.jobs.values() if j.task.id in needed):
        cursor = max([job.low, *(ends[d] for d in job.deps)])
        for size in job.sizes:
            found = board.find(size, cursor, None, deep=False)
            if found is None:
                return None
            board.take(found[0], size, found[1])
            cursor = found[0] + size
        ends[job.task.id] = cursor
    return ends[target.task.id]


def judge_deadline(problem: Problem, job: Job) -> None:
    """Hard deadline if it can be met; otherwise `late`, with the honest earliest finish."""
    due = job.task.due
    if due is None:
        return
    timeline = problem.timeline
    finish = earliest_finish(problem, job, timeline)
    if finish is None:
        timeline = timeline_for(problem.request, LOOKAHEAD_DAYS)
        finish = earliest_finish(problem, job, timeline)
    job.alone_finish = None if finish is None else timeline.moment(finish)
    if job.alone_finish is not None and job.alone_finish <= due:
        job.high = problem.timeline.floor(due)
    else:
        job.late = True


def timeline_for(request: PlanRequest, extra_days: int = 0) -> Timeline:
    horizon = request.horizon
    return Timeline(
        horizon.start,
        horizon.days + extra_days,
        horizon.zone,
        request.work,
        request.energy,
        request.busy,
        horizon.earliest,
    )


def prepare(request: PlanRequest) -> Problem:
    check(request)
    timeline = timeline_for(request)
    capacities = timeline.capacities(request.daily_capacity_minutes)
    break_slots = math.ceil(request.breaks.break_minutes / SLOT_MINUTES)
    ordered, excluded = order(request)
    problem = Problem(request, timeline, capacities, break_slots, excluded=excluded)
    for task in ordered:
        made = job_of(problem, task)
        if isinstance(made, str):
            problem.excluded[task.id] = made
        else:
            problem.jobs[task.id] = made
            judge_deadline(problem, made)
    return problem
