"""What the planner takes and gives back: plain, frozen dataclasses and nothing of the domains.

The HRM fills a `PlanRequest` from the person's preferences, calendars and open tasks; the planner answers
with a `Plan`. All moments are aware datetimes; the person's clock is `Horizon.zone`.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class EnergyPattern(enum.Enum):
    """Mirrors the HRM's `EnergyPattern` (same values); STEADY means no hour is better than another."""

    MORNING_PEAK = "morning_peak"
    AFTERNOON_PEAK = "afternoon_peak"
    EVENING_PEAK = "evening_peak"
    STEADY = "steady"

    def peak_hours(self) -> tuple[time, time] | None:
        """The local peak window (the HRM's energy rule uses the same hours); None for STEADY."""
        return PEAK_HOURS.get(self)


PEAK_HOURS = {
    EnergyPattern.MORNING_PEAK: (time(6), time(12)),
    EnergyPattern.AFTERNOON_PEAK: (time(12), time(17)),
    EnergyPattern.EVENING_PEAK: (time(17), time(22)),
}


class Solver(enum.Enum):
    CP_SAT_OPTIMAL = "cp_sat_optimal"
    CP_SAT_FEASIBLE = "cp_sat_feasible"
    GREEDY = "greedy"


@dataclass(frozen=True)
class Horizon:
    """The days planned: `days` local dates from `start` in `zone`; nothing is placed before `earliest`
    (usually now), which defaults to the start of the first day."""

    start: date
    days: int
    zone: ZoneInfo
    earliest: datetime | None = None


@dataclass(frozen=True)
class WorkTime:
    """Local work hours on work days (Monday = 0). An end before the start is a night shift: the window
    opens on the work day and closes the next morning, and counts for the day it opened."""

    start: time = time(9)
    end: time = time(17)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})


@dataclass(frozen=True)
class BreakRule:
    """A block lasts at most `max_block_minutes`, and two planned blocks are at least `break_minutes` apart:
    so focused work never runs longer than `max_block_minutes` without a pause. Long tasks are cut into
    blocks of at least `min_block_minutes` (a shorter task is one block of its own length)."""

    break_minutes: int = 10
    max_block_minutes: int = 90
    min_block_minutes: int = 25


@dataclass(frozen=True)
class KeptBlock:
    """A block of a plan committed earlier: the planner keeps it where it was unless something forces it."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class PlanTask:
    """One open task. `depends_on` may name tasks outside the request: those are finished. `priority` is the
    HRM score (0–100). `deep_work` asks for peak hours. `not_before` is its start date or snooze."""

    id: uuid.UUID
    remaining_minutes: int
    priority: float = 50.0
    due: datetime | None = None
    not_before: datetime | None = None
    depends_on: tuple[uuid.UUID, ...] = ()
    deep_work: bool = False
    kept: tuple[KeptBlock, ...] = ()
    name: str = ""

    @property
    def label(self) -> str:
        return f"'{self.name}'" if self.name else str(self.id)[:8]


@dataclass(frozen=True)
class PlanRequest:
    horizon: Horizon
    tasks: tuple[PlanTask, ...]
    work: WorkTime = WorkTime()
    energy: EnergyPattern = EnergyPattern.MORNING_PEAK
    busy: tuple[tuple[datetime, datetime], ...] = ()
    daily_capacity_minutes: int | None = None  # None: the whole work time of the day
    breaks: BreakRule = BreakRule()
    time_limit: timedelta = timedelta(seconds=1.5)
    workers: int = 2
    force_greedy: bool = False


@dataclass(frozen=True)
class Block:
    task_id: uuid.UUID
    start: datetime
    end: datetime
    reason: str

    @property
    def minutes(self) -> int:
        return round((self.end - self.start).total_seconds() / 60)


@dataclass(frozen=True)
class Unscheduled:
    task_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class DeadlineRisk:
    """A due moment the plan does not meet. `earliest_finish` is when the task could end at the soonest: it
    and its unfinished dependencies done first, into free work time from its start; None if not within
    `LOOKAHEAD_DAYS` after the horizon. `shortfall_minutes` counts work time (minutes inside work hours on
    work days, busy or not) from the due moment to that finish: 0 when the due could be met but the plan
    gave its time to other work."""

    task_id: uuid.UUID
    due: datetime
    earliest_finish: datetime | None
    shortfall_minutes: int | None
    reason: str


@dataclass(frozen=True)
class PlanDay:
    date: date
    capacity_minutes: int  # what can be planned: free work time (not busy, not past), within the daily cap
    planned_minutes: int
    busy_minutes: int  # busy time inside the day's work hours


@dataclass(frozen=True)
class SolverReport:
    solver: Solver
    detail: str  # why this solver answered (the fallback says why it was used)
    seconds: float


@dataclass(frozen=True)
class Plan:
    blocks: tuple[Block, ...]
    unscheduled: tuple[Unscheduled, ...]
    at_risk: tuple[DeadlineRisk, ...]
    days: tuple[PlanDay, ...]
    solver: SolverReport
    kept_moved: int = 0  # kept blocks not at their committed place any more (stability, for replanning)
