"""A solution as the person reads it: blocks with a reason each, what stayed out and why, deadlines the plan
does not meet, and each day's load."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from aurum.planning.greedy import Solution
from aurum.planning.model import Block, DeadlineRisk, Plan, PlanDay, SolverReport, Unscheduled
from aurum.planning.prepare import Job, Problem
from aurum.planning.timeline import SLOT_MINUTES, work_minutes_between


def when(problem: Problem, moment: datetime) -> str:
    return f"{moment.astimezone(problem.timeline.zone):%a %d %b %H:%M}"


def label(problem: Problem, task_id: uuid.UUID) -> str:
    return problem.jobs[task_id].task.label


def block_reason(problem: Problem, job: Job, index: int, start: int) -> str:
    """One line: why this block is here."""
    task, parts = job.task, []
    if job.kept[index] == start:
        parts.append("kept where it was planned")
    if task.due is not None:
        prefix = "late: its due cannot be met, " if job.late else ""
        parts.append(f"{prefix}due {when(problem, task.due)}")
    parts.append(f"priority {round(task.priority)}")
    if task.deep_work:
        size = job.sizes[index]
        in_peak = any(p.start <= start and start + size <= p.end for p in problem.timeline.peak)
        parts.append("peak hours for deep work" if in_peak else "deep work, but no peak hours were free")
    if job.deps:
        parts.append("after " + ", ".join(label(problem, dep) for dep in job.deps))
    if len(job.sizes) > 1:
        parts.append(f"part {index + 1} of {len(job.sizes)}")
    return "; ".join(parts)


def blocks(problem: Problem, solution: Solution) -> list[Block]:
    made = []
    for task_id, starts in solution.items():
        job = problem.jobs[task_id]
        for index, start in enumerate(starts):
            end = start + job.sizes[index]
            reason = block_reason(problem, job, index, start)
            made.append(Block(task_id, problem.timeline.moment(start), problem.timeline.moment(end), reason))
    return sorted(made, key=lambda block: block.start)


def left_out(problem: Problem, job: Job, solution: Solution) -> str:
    """Why a job has no block at all."""
    for dep in job.deps:
        placed = len(solution.get(dep, []))
        if placed < len(problem.jobs[dep].sizes):
            state = "only partly planned" if placed else "not planned"
            return f"waits on {label(problem, dep)}, which is {state}"
    if job.high is not None:
        due = when(problem, job.task.due) if job.task.due else "?"
        return f"no room before its due ({due}) after what it waits on"
    if job.alone_finish is None and job.task.due is None:
        return "no free stretch in the plan's work time is long enough for it"
    return "over the plan's capacity: more important work takes the free time"


def unscheduled(problem: Problem, solution: Solution) -> list[Unscheduled]:
    out = [Unscheduled(task_id, reason) for task_id, reason in problem.excluded.items()]
    for task_id, job in problem.jobs.items():
        placed = len(solution.get(task_id, []))
        if placed == 0:
            out.append(Unscheduled(task_id, left_out(problem, job, solution)))
        elif placed < len(job.sizes):
            done = sum(job.sizes[:placed]) * SLOT_MINUTES
            total = sum(job.sizes) * SLOT_MINUTES
            out.append(Unscheduled(task_id, f"partly planned: {done} of {total} min fit in this plan"))
    return out


def risks(problem: Problem, solution: Solution) -> list[DeadlineRisk]:
    request, out = problem.request, []
    horizon_end = problem.timeline.moment(problem.timeline.end)
    for task in request.tasks:
        job = problem.jobs.get(task.id)
        if task.due is None or (job is not None and not job.late and task.due > horizon_end):
            continue
        if job is None:
            reason = problem.excluded[task.id]
            out.append(DeadlineRisk(task.id, task.due, None, None, f"not in this plan: {reason}"))
        elif job.late:
            finish = job.alone_finish
            zone = problem.timeline.zone
            short = None if finish is None else work_minutes_between(task.due, finish, request.work, zone)
            reason = "cannot be done by its due even if it and what it waits on come first"
            out.append(DeadlineRisk(task.id, task.due, finish, short, reason))
        elif len(solution.get(task.id, [])) < len(job.sizes):
            reason = "could be done by its due, but the plan gives that time to more important work"
            out.append(DeadlineRisk(task.id, task.due, job.alone_finish, 0, reason))
    return out


def merged(intervals: tuple[tuple[datetime, datetime], ...]) -> list[tuple[datetime, datetime]]:
    """Overlapping busy time counted once."""
    out: list[tuple[datetime, datetime]] = []
    for low, high in sorted(intervals):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        elif high > low:
            out.append((low, high))
    return out


def days(problem: Problem, solution: Solution) -> list[PlanDay]:
    timeline = problem.timeline
    planned = [0] * timeline.days
    for task_id, starts in solution.items():
        for index, start in enumerate(starts):
            day = timeline.day_of(start)
            if day is not None:
                planned[day] += problem.jobs[task_id].sizes[index] * SLOT_MINUTES
    busy = [timedelta()] * timeline.days
    for window in timeline.windows:
        for low, high in merged(problem.request.busy):
            busy[window.day] += max(timedelta(), min(high, window.end) - max(low, window.start))
    free = [0] * timeline.days
    for segment in timeline.free:
        if 0 <= segment.day < timeline.days:
            free[segment.day] += segment.end - segment.start
    return [
        PlanDay(
            timeline.first + timedelta(days=index),
            min(problem.capacities[index], free[index]) * SLOT_MINUTES,
            planned[index],
            int(busy[index].total_seconds() // 60),
        )
        for index in range(timeline.days)
    ]


def kept_moved(problem: Problem, solution: Solution) -> int:
    moved = 0
    for task_id, job in problem.jobs.items():
        starts = solution.get(task_id, [])
        for index, kept in enumerate(job.kept):
            if kept is not None and (index >= len(starts) or starts[index] != kept):
                moved += 1
    return moved


def assemble(problem: Problem, solution: Solution, solver: SolverReport) -> Plan:
    return Plan(
        blocks=tuple(blocks(problem, solution)),
        unscheduled=tuple(unscheduled(problem, solution)),
        at_risk=tuple(risks(problem, solution)),
        days=tuple(days(problem, solution)),
        solver=solver,
        kept_moved=kept_moved(problem, solution),
    )
