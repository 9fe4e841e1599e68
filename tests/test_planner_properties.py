"""The planner's rules on generated requests, for CP-SAT and for the greedy fallback alike: blocks never
overlap and keep their breaks, stay in work time and out of busy time, follow dependencies and their own
order, respect not-before and the daily capacity, and never end past a due the plan does not flag."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aurum.planning import EnergyPattern, Horizon, PlanRequest, PlanTask, Solver, WorkTime, plan
from tests.planning_checks import violations

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC")
EXAMPLES = int(os.environ.get("PLANNER_EXAMPLES", "60"))  # 600 for a long hunt
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def moments(base: datetime, days: int) -> st.SearchStrategy[datetime]:
    return st.integers(-600, (days + 1) * 1440).map(lambda minutes: base + timedelta(minutes=minutes))


@st.composite
def tasks(draw: st.DrawFn, base: datetime, days: int) -> tuple[PlanTask, ...]:
    made: list[PlanTask] = []
    for index in range(draw(st.integers(1, 6))):
        earlier = [t.id for t in made] + [uuid.UUID(int=999)]  # an unknown id is a finished task
        made.append(
            PlanTask(
                id=uuid.UUID(int=index + 1),
                remaining_minutes=draw(st.integers(1, 300)),
                priority=draw(st.floats(0, 100)),
                due=draw(st.none() | moments(base, days)),
                not_before=draw(st.none() | moments(base, days)),
                depends_on=tuple(draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))),
                deep_work=draw(st.booleans()),
                name=f"T{index + 1}",
            )
        )
    return tuple(made)


@st.composite
def requests(draw: st.DrawFn) -> PlanRequest:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    days = draw(st.integers(1, 3))
    first = draw(st.dates(date(2025, 1, 1), date(2025, 12, 31)))
    base = datetime.combine(first, time(), zone)
    opens = draw(st.integers(7, 10))
    closes = draw(st.integers(opens + 3, 18))
    busy = []
    for _ in range(draw(st.integers(0, 3))):
        low = draw(moments(base, days))
        busy.append((low, low + timedelta(minutes=draw(st.integers(10, 120)))))
    return PlanRequest(
        horizon=Horizon(first, days, zone, draw(st.none() | moments(base, 1))),
        tasks=draw(tasks(base, days)),
        work=WorkTime(time(opens), time(closes), frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))),
        energy=draw(st.sampled_from(list(EnergyPattern))),
        busy=tuple(busy),
        daily_capacity_minutes=draw(st.none() | st.integers(30, 600)),
        time_limit=timedelta(seconds=0.5),
        workers=1,
    )


@pytest.mark.parametrize("greedy", [False, True], ids=["cp-sat", "greedy"])
@SETTINGS
@given(request=requests())
def test_every_plan_keeps_the_rules(request: PlanRequest, greedy: bool) -> None:
    made = plan(replace(request, force_greedy=greedy))
    assert violations(request, made) == []
    assert (made.solver.solver == Solver.GREEDY) == greedy


@pytest.mark.parametrize("greedy", [False, True], ids=["cp-sat", "greedy"])
@SETTINGS
@given(
    minutes=st.integers(1, 240),
    slack=st.integers(30, 600),
    zone=st.sampled_from(ZONES),
    deep=st.booleans(),
)
def test_a_task_alone_with_room_is_done_by_its_due(
    minutes: int, slack: int, zone: str, deep: bool, greedy: bool
) -> None:
    """Blocks of at most 90 min 10 min apart: a task of 240 min needs at most 260 min of a 480-min day."""
    tz = ZoneInfo(zone)
    monday = date(2025, 6, 2)
    due = datetime.combine(monday, time(9), tz) + timedelta(minutes=minutes + 20 + slack)
    task = PlanTask(uuid.uuid4(), minutes, due=due, deep_work=deep)
    request = PlanRequest(Horizon(monday, 2, tz), (task,), time_limit=timedelta(seconds=0.5), workers=1)
    made = plan(replace(request, force_greedy=greedy))
    assert made.at_risk == ()
    assert made.unscheduled == ()
    assert sum(block.minutes for block in made.blocks) >= minutes
    assert max(block.end for block in made.blocks) <= due
    assert violations(request, made) == []
