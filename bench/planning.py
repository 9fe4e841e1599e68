"""The planner alone (aurum.planning, no database): 200 open tasks over 5 work days, a realistic mix, planned
RUNS times; p50/p95 of the whole `plan()` call and which solver answered. Target: p95 <= 2 s.

``python -m bench planning`` runs this part alone.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aurum.planning import EnergyPattern, Horizon, PlanRequest, PlanTask, WorkTime, plan

TASKS, DAYS, RUNS = 200, 5, 10
ZONE = ZoneInfo("Europe/Berlin")
START = date(2025, 3, 24)  # a Monday; the week ends with the change to summer time
ESTIMATES = (10, 15, 20, 30, 30, 45, 60, 60, 90, 120, 180, 240)


def meetings(rng: random.Random) -> list[tuple[datetime, datetime]]:
    """Two to four meetings of 30–60 minutes a work day, on the half hour."""
    busy = []
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        for _ in range(rng.randint(2, 4)):
            start = datetime.combine(day, datetime.min.time(), ZONE) + timedelta(
                hours=rng.randint(9, 16), minutes=rng.choice((0, 30))
            )
            busy.append((start, start + timedelta(minutes=rng.choice((30, 45, 60)))))
    return busy


def tasks(rng: random.Random) -> list[PlanTask]:
    """Estimates 10–240 min, 30 % due (some already overdue), a fifth waiting on an earlier task, a fifth
    deep work, a tenth snoozed into the week."""
    made: list[PlanTask] = []
    monday = datetime.combine(START, datetime.min.time(), ZONE)
    for index in range(TASKS):
        due = None
        if rng.random() < 0.3:
            due = monday + timedelta(days=rng.randint(-1, 9), hours=rng.choice((12, 17)))
        deferred = monday + timedelta(days=rng.randint(1, 4)) if rng.random() < 0.1 else None
        depends = (rng.choice(made).id,) if made and rng.random() < 0.2 else ()
        made.append(
            PlanTask(
                id=uuid.UUID(int=rng.getrandbits(128)),
                remaining_minutes=rng.choice(ESTIMATES),
                priority=round(rng.uniform(0, 100), 1),
                due=due,
                not_before=deferred,
                depends_on=depends,
                deep_work=rng.random() < 0.2,
                name=f"Task {index}",
            )
        )
    return made


def request(seed: int) -> PlanRequest:
    rng = random.Random(seed)
    return PlanRequest(
        horizon=Horizon(START, DAYS, ZONE),
        tasks=tuple(tasks(rng)),
        work=WorkTime(),
        energy=EnergyPattern.MORNING_PEAK,
        busy=tuple(meetings(rng)),
        daily_capacity_minutes=360,
    )


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure() -> dict[str, Any]:
    seconds: list[float] = []
    solvers: Counter[str] = Counter()
    placed: list[int] = []
    for run in range(RUNS):
        started = time.perf_counter()
        result = plan(request(run))
        seconds.append(time.perf_counter() - started)
        solvers[result.solver.solver.value] += 1
        placed.append(len({block.task_id for block in result.blocks}))
    return {"seconds": seconds, "solvers": solvers, "placed": placed}


def report(result: dict[str, Any]) -> None:
    seconds = result["seconds"]
    print(f"\nPlanner: {TASKS} open tasks over {DAYS} days, {RUNS} runs (a new mix each)\n")
    print(f"{'':28}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    p50, p95 = statistics.median(seconds) * 1000, percentile(seconds, 0.95) * 1000
    print(f"{'plan()':28}{p50:>10.0f}{p95:>10.0f}{max(seconds) * 1000:>10.0f}")
    answered = ", ".join(f"{name} x{count}" for name, count in sorted(result["solvers"].items()))
    print(f"solver: {answered}; tasks with blocks p50 {statistics.median(result['placed']):.0f}")
    print(f"target p95 <= 2000 ms: {'met' if p95 <= 2000 else 'MISSED'}")


async def main() -> None:
    report(await asyncio.to_thread(measure))
