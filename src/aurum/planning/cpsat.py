"""The plan as a CP-SAT model: each block an optional interval whose start may only fall where the whole
block fits in free work time (before the due when the due can be met), one day's capacity per block, at
least a break between blocks, dependencies and block order as precedences.

The objective, in one currency: placing a slot of work earns the task's value times more than anything
else can cost, so work is never left out for tidiness (a deadline the plan can still meet is worth most);
then every block's end costs its weight (important and urgent work earlier); deep work outside peak hours
costs half a day's delay; moving a committed block costs a day's delay.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from aurum.planning.greedy import Solution, savable, urgency
from aurum.planning.prepare import Job, Problem
from aurum.planning.timeline import SLOT_MINUTES, Segment, starts_that_fit

SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES


@dataclass
class Chunk:
    size: int
    start: Any
    present: Any


@dataclass
class Built:
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    chunks: dict[uuid.UUID, list[Chunk]] = field(default_factory=dict)
    intervals: list[Any] = field(default_factory=list)
    load: dict[int, list[Any]] = field(default_factory=dict)  # slots each day takes, per block
    gains: list[Any] = field(default_factory=list)  # the objective's terms, to maximise


def domain(ranges: list[Segment]) -> cp_model.Domain:
    return cp_model.Domain.from_intervals([[r.start, r.end - 1] for r in ranges])


def value(problem: Problem, job: Job) -> int:
    """What a slot of the task's work earns: its priority, and far more for a deadline the plan can meet."""
    return 10 + round(job.task.priority) + (200 if savable(problem, job) else 0)


def add_chunk(problem: Problem, built: Built, job: Job, index: int, ranges: list[Segment]) -> Chunk:
    """One block: where it may start, which day it takes, and what it earns and costs."""
    model, size = built.model, job.sizes[index]
    start = model.new_int_var_from_domain(domain(ranges), "")
    present = model.new_bool_var("")
    interval = model.new_optional_fixed_size_interval_var(start, size + problem.break_slots, present, "")
    built.intervals.append(interval)
    add_days(built, start, present, size, ranges)
    weight = value(problem, job) + urgency(problem, job)
    horizon = problem.timeline.end + SLOTS_PER_DAY
    end_cost = model.new_int_var(0, weight * (horizon + size), "")
    model.add(end_cost >= weight * (start + size)).only_enforce_if(present)
    built.gains.append(8 * (horizon + SLOTS_PER_DAY) * value(problem, job) * size * present - end_cost)
    if job.task.deep_work:
        add_peak(problem, built, job, index, present, start, weight)
    kept = job.kept[index]
    if kept is not None:
        stays = model.new_bool_var("")
        if ranges and any(r.start <= kept < r.end for r in ranges):
            model.add(start == kept).only_enforce_if(stays)
            model.add_implication(stays, present)
        else:
            model.add(stays == 0)
        built.gains.append(-value(problem, job) * SLOTS_PER_DAY * (1 - stays))
    return Chunk(size, start, present)


def add_days(built: Built, start: Any, present: Any, size: int, ranges: list[Segment]) -> None:
    """The block counts against the capacity of the day it falls on."""
    days = sorted({r.day for r in ranges})
    if len(days) == 1:
        built.load.setdefault(days[0], []).append(size * present)
        return
    literals = []
    for day in days:
        literal = built.model.new_bool_var("")
        within = domain([r for r in ranges if r.day == day])
        built.model.add_linear_expression_in_domain(start, within).only_enforce_if(literal)
        built.load.setdefault(day, []).append(size * literal)
        literals.append(literal)
    built.model.add(sum(literals) == present)


def add_peak(
    problem: Problem, built: Built, job: Job, index: int, present: Any, start: Any, weight: int
) -> None:
    peak = starts_that_fit(problem.timeline.peak, job.sizes[index], job.low, job.high)
    in_peak = built.model.new_bool_var("")
    if peak:
        built.model.add_linear_expression_in_domain(start, domain(peak)).only_enforce_if(in_peak)
        built.model.add_implication(in_peak, present)
    else:
        built.model.add(in_peak == 0)
    built.gains.append(-weight * SLOTS_PER_DAY * (present - in_peak))


def add_job(problem: Problem, built: Built, job: Job) -> None:
    model, chunks = built.model, list[Chunk]()
    for index, size in enumerate(job.sizes):
        ranges = starts_that_fit(problem.timeline.free, size, job.low, job.high)
        if not ranges:
            break
        chunk = add_chunk(problem, built, job, index, ranges)
        if chunks:
            before = chunks[-1]
            model.add_implication(chunk.present, before.present)
            model.add(chunk.start >= before.start + before.size).only_enforce_if(chunk.present)
        chunks.append(chunk)
    built.chunks[job.task.id] = chunks
    for dep in job.deps if chunks else []:
        dep_chunks = built.chunks[dep]
        if len(dep_chunks) < len(problem.jobs[dep].sizes):  # it can never be finished in this plan
            model.add(chunks[0].present == 0)
            continue
        last = dep_chunks[-1]
        model.add_implication(chunks[0].present, last.present)
        model.add(chunks[0].start >= last.start + last.size).only_enforce_if(chunks[0].present)


def build(problem: Problem) -> Built:
    built = Built()
    for job in problem.jobs.values():
        add_job(problem, built, job)
    built.model.add_no_overlap(built.intervals)
    for day, parts in built.load.items():
        built.model.add(sum(parts) <= problem.capacities[day])
    built.model.maximize(sum(built.gains))
    return built


def hint(built: Built, solution: Solution) -> None:
    for task_id, chunks in built.chunks.items():
        starts = solution.get(task_id, [])
        for index, chunk in enumerate(chunks):
            built.model.add_hint(chunk.present, index < len(starts))
            if index < len(starts):
                built.model.add_hint(chunk.start, starts[index])


def solve_cpsat(
    problem: Problem, seconds: float, workers: int, start_from: Solution
) -> tuple[Solution | None, str]:
    """The CP-SAT plan and its status name; None when no solution came within `seconds`."""
    built = build(problem)
    hint(built, start_from)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    solver.parameters.num_workers = max(1, workers)
    status = solver.solve(built.model)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, name
    solution: Solution = {}
    for task_id, chunks in built.chunks.items():
        starts = [solver.value(c.start) for c in chunks if solver.boolean_value(c.present)]
        if starts:
            solution[task_id] = starts
    return solution, name
