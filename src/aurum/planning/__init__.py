"""The planner: open work into time blocks (issue 12, point 2). A pure library on plain dataclasses; it
knows nothing of the domains, the database or GraphQL (the HRM fills a `PlanRequest` and reads the `Plan`).

`plan()` prepares the jobs, places them greedily (the fallback, and CP-SAT's starting hint), then lets
CP-SAT improve on that within the request's time limit, which bounds the whole call.
"""

from __future__ import annotations

import time

from aurum.planning.cpsat import solve_cpsat
from aurum.planning.greedy import solve_greedy
from aurum.planning.model import (
    Block,
    BreakRule,
    DeadlineRisk,
    EnergyPattern,
    Horizon,
    KeptBlock,
    Plan,
    PlanDay,
    PlanRequest,
    PlanTask,
    Solver,
    SolverReport,
    Unscheduled,
    WorkTime,
)
from aurum.planning.prepare import prepare
from aurum.planning.report import assemble

__all__ = [
    "Block",
    "BreakRule",
    "DeadlineRisk",
    "EnergyPattern",
    "Horizon",
    "KeptBlock",
    "Plan",
    "PlanDay",
    "PlanRequest",
    "PlanTask",
    "Solver",
    "SolverReport",
    "Unscheduled",
    "WorkTime",
    "plan",
]


def plan(request: PlanRequest) -> Plan:
    """The plan for `request`; raises ValueError on input no caller should send (naive moments…)."""
    started = time.perf_counter()
    problem = prepare(request)
    greedy = solve_greedy(problem)
    if request.force_greedy:
        return assemble(problem, greedy, _report(Solver.GREEDY, "the greedy planner was asked for", started))
    limit = request.time_limit.total_seconds()
    left = limit - (time.perf_counter() - started)
    found, status = (None, "no time left")
    if left > 0:
        found, status = solve_cpsat(problem, left, request.workers, greedy)
    if found is None:
        detail = f"CP-SAT gave no plan within {limit:.1f} s ({status}): the greedy plan stands in"
        return assemble(problem, greedy, _report(Solver.GREEDY, detail, started))
    optimal = status == "OPTIMAL"
    detail = "CP-SAT proved this plan optimal" if optimal else "CP-SAT's best plan within the time limit"
    solver = Solver.CP_SAT_OPTIMAL if optimal else Solver.CP_SAT_FEASIBLE
    return assemble(problem, found, _report(solver, detail, started))


def _report(solver: Solver, detail: str, started: float) -> SolverReport:
    return SolverReport(solver, detail, time.perf_counter() - started)
