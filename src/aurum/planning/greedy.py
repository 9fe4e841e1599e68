"""The deterministic fallback: committed blocks first where they still fit, then the deadlines it can still
meet, earliest first, then task by task in order of importance and urgency (dependencies first), every block
as early as it fits."""

from __future__ import annotations

import heapq
import uuid

from aurum.planning.board import Board
from aurum.planning.prepare import Job, Problem

Solution = dict[uuid.UUID, list[int]]  # the starts of the blocks placed: a prefix of the job's sizes


def savable(problem: Problem, job: Job) -> bool:
    """Due inside the plan and still possible to meet: the work a plan exists to save."""
    due = job.task.due
    return due is not None and not job.late and problem.timeline.floor(due) <= problem.timeline.end


def urgency(problem: Problem, job: Job) -> int:
    """How much sooner than its priority alone says a task should come: a deadline the plan can still
    meet most (a late task will be late whatever comes first; a savable one is lost if it waits), then past
    saving, then due soon after the plan."""
    due = job.task.due
    if due is None:
        return 0
    if savable(problem, job):
        return 120
    if job.late:
        return 60
    return 20 if problem.timeline.floor(due) <= 2 * problem.timeline.end else 0


def rank(problem: Problem, job: Job) -> tuple[int, float, int, str]:
    """Savable deadlines first, earliest due first (so each gets the time before its due); then by
    importance and urgency."""
    due = problem.timeline.floor(job.task.due) if job.task.due is not None else 10**9
    if savable(problem, job):
        return (0, due, 0, str(job.task.id))
    return (1, -(job.task.priority + urgency(problem, job)), due, str(job.task.id))


def keep_committed(problem: Problem, board: Board, placed: Solution, ends: dict[uuid.UUID, int]) -> None:
    """Blocks of the committed plan stay where they were while they still fit there."""
    for task_id, job in problem.jobs.items():
        if job.kept[0] is None or any(dep not in ends for dep in job.deps):
            continue
        cursor = max([job.low, *(ends[dep] for dep in job.deps)])
        starts: list[int] = []
        for size, start in zip(job.sizes, job.kept, strict=True):
            if start is None or start < cursor or (job.high is not None and start + size > job.high):
                break
            day = board.fits_at(start, size)
            if day is None:
                break
            board.take(start, size, day)
            starts.append(start)
            cursor = start + size
        if starts:
            placed[task_id] = starts
        if len(starts) == len(job.sizes):
            ends[task_id] = cursor


def place_rest(
    problem: Problem, board: Board, job: Job, placed: Solution, ends: dict[uuid.UUID, int]
) -> None:
    starts = placed.setdefault(job.task.id, [])
    cursor = max([job.low, *(ends[dep] for dep in job.deps)])
    if starts:
        cursor = max(cursor, starts[-1] + job.sizes[len(starts) - 1])
    for size in job.sizes[len(starts) :]:
        found = board.find(size, cursor, job.high, job.task.deep_work)
        if found is None:
            break
        board.take(found[0], size, found[1])
        starts.append(found[0])
        cursor = found[0] + size
    if not starts:
        del placed[job.task.id]
    elif len(starts) == len(job.sizes):
        ends[job.task.id] = cursor


def solve_greedy(problem: Problem) -> Solution:
    board = Board(problem.timeline, problem.capacities, problem.break_slots)
    placed: Solution = {}
    ends: dict[uuid.UUID, int] = {}
    keep_committed(problem, board, placed, ends)
    waiting = {task_id: len(job.deps) for task_id, job in problem.jobs.items()}
    dependents: dict[uuid.UUID, list[uuid.UUID]] = {task_id: [] for task_id in problem.jobs}
    for task_id, job in problem.jobs.items():
        for dep in job.deps:
            dependents[dep].append(task_id)
    ready = [(rank(problem, job), task_id) for task_id, job in problem.jobs.items() if not job.deps]
    heapq.heapify(ready)
    while ready:
        _, task_id = heapq.heappop(ready)
        job = problem.jobs[task_id]
        if task_id not in ends and all(dep in ends for dep in job.deps):
            place_rest(problem, board, job, placed, ends)
        for follower in dependents[task_id]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                heapq.heappush(ready, (rank(problem, problem.jobs[follower]), follower))
    return placed
