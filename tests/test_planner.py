"""The planner on hand-made weeks: a DST change, a meeting in the morning, a long task cut into blocks, a
chain of dependencies, deep work in peak hours, deadlines that cannot be met (shortfalls worked out by
hand), replanning that keeps the committed blocks, and the fallback saying it was used."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from aurum.planning import (
    Block,
    EnergyPattern,
    Horizon,
    KeptBlock,
    Plan,
    PlanRequest,
    PlanTask,
    Solver,
    WorkTime,
    plan,
)
from tests.planning_checks import violations

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2025, 6, 2)
SOLVERS = pytest.mark.parametrize("greedy", [False, True], ids=["cp-sat", "greedy"])


def at(day: int, hour: int, minute: int = 0, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.combine(MONDAY + timedelta(days=day), time(hour, minute), zone)


def task(minutes: int, name: str, **facts: object) -> PlanTask:
    return PlanTask(uuid.uuid4(), minutes, name=name, **facts)


def request(*tasks: PlanTask, days: int = 1, greedy: bool = False, **facts: object) -> PlanRequest:
    horizon = facts.pop("horizon", Horizon(MONDAY, days, BERLIN))
    return PlanRequest(horizon, tasks, force_greedy=greedy, time_limit=timedelta(seconds=1), **facts)


def planned(req: PlanRequest) -> Plan:
    made = plan(req)
    assert violations(req, made) == []
    return made


def of(made: Plan, one: PlanTask) -> list[Block]:
    return [block for block in made.blocks if block.task_id == one.id]


@SOLVERS
def test_a_dst_change_moves_the_work_hours_with_the_clock(greedy: bool) -> None:
    """Summer time starts on Sunday 30 March 2025 at 02:00: 09:00 is 08:00 UTC on Saturday, 07:00 after."""
    long = task(1200, "long")
    horizon = Horizon(date(2025, 3, 29), 3, BERLIN)
    made = planned(request(long, horizon=horizon, work=WorkTime(weekdays=frozenset(range(7))), greedy=greedy))
    firsts = {}
    for block in of(made, long):
        local = block.start.astimezone(BERLIN)
        assert time(9) <= local.time()
        assert block.end.astimezone(BERLIN).time() <= time(17)
        firsts.setdefault(local.date(), block.start.astimezone(ZoneInfo("UTC")).time())
    assert firsts == {date(2025, 3, 29): time(8), date(2025, 3, 30): time(7), date(2025, 3, 31): time(7)}
    assert [day.capacity_minutes for day in made.days] == [480, 480, 480]


@SOLVERS
def test_a_meeting_splits_the_morning(greedy: bool) -> None:
    first, second = task(45, "first", priority=90), task(45, "second", priority=80)
    busy = ((at(0, 10), at(0, 11)),)
    made = planned(request(first, second, busy=busy, greedy=greedy))
    assert [(b.start, b.end) for b in of(made, first)] == [(at(0, 9), at(0, 9, 45))]
    assert [(b.start, b.end) for b in of(made, second)] == [(at(0, 11), at(0, 11, 45))]
    assert made.days[0].busy_minutes == 60
    assert made.days[0].planned_minutes == 90


@SOLVERS
def test_a_five_hour_task_is_cut_into_blocks_with_breaks(greedy: bool) -> None:
    deck = task(300, "deck")
    made = planned(request(deck, greedy=greedy))
    blocks = of(made, deck)
    assert [b.minutes for b in blocks] == [75, 75, 75, 75]
    assert all((b.start - a.end) >= timedelta(minutes=10) for a, b in itertools.pairwise(blocks))
    assert blocks[-1].reason.endswith("part 4 of 4")


@SOLVERS
def test_a_chain_of_three_follows_its_order(greedy: bool) -> None:
    """Priorities say the reverse order; dependencies win."""
    draft = task(60, "draft", priority=10)
    review = task(60, "review", priority=50, depends_on=(draft.id,))
    ship = task(30, "ship", priority=99, depends_on=(review.id, uuid.uuid4()))  # the unknown one is done
    made = planned(request(ship, review, draft, greedy=greedy))
    assert of(made, draft)[-1].end <= of(made, review)[0].start
    assert of(made, review)[-1].end <= of(made, ship)[0].start
    assert "after 'review'" in of(made, ship)[0].reason


@SOLVERS
def test_deep_work_lands_in_peak_hours(greedy: bool) -> None:
    """Afternoon peak (12–17): the deep task goes there although the shallow one matters less."""
    deep = task(90, "deep", priority=60, deep_work=True)
    shallow = task(90, "shallow", priority=40)
    made = planned(request(deep, shallow, energy=EnergyPattern.AFTERNOON_PEAK, greedy=greedy))
    (block,) = of(made, deep)
    assert block.start.astimezone(BERLIN).time() >= time(12)
    assert "peak hours for deep work" in block.reason


@pytest.mark.parametrize(
    ("minutes", "due", "finish", "shortfall"),
    [
        (300, at(0, 12), at(0, 14, 30), 150),  # 75+10+75+10+75+10+75 from 09:00
        (600, at(0, 16), at(1, 12), 240),  # five blocks Monday, two on Tuesday; the night counts nothing
        (60, at(-3, 12), at(0, 10), 360),  # due last Friday 12:00: 5 h that day, the weekend nothing
    ],
)
@SOLVERS
def test_a_deadline_that_cannot_be_met_is_at_risk_with_its_shortfall(
    minutes: int, due: datetime, finish: datetime, shortfall: int, greedy: bool
) -> None:
    late = task(minutes, "late", due=due)
    made = planned(request(late, days=2, greedy=greedy))
    (risk,) = made.at_risk
    assert (risk.task_id, risk.due, risk.earliest_finish, risk.shortfall_minutes) == (
        late.id,
        due,
        finish,
        shortfall,
    )
    assert "even if" in risk.reason
    assert sum(b.minutes for b in of(made, late)) == minutes  # still planned, as early as it can be


@SOLVERS
def test_a_deadline_the_plan_can_meet_comes_before_work_already_late(greedy: bool) -> None:
    """Late work is late whatever comes first; the savable deadline is lost if it waits. Two deadlines
    that fit together both hold, whatever their priorities say (the earlier due goes first)."""
    lost = task(2000, "lost", priority=95, due=at(0, 12))
    report = task(240, "report", priority=20, due=at(2, 12))
    slides = task(120, "slides", priority=10, due=at(1, 11))
    idle = task(600, "idle", priority=90)
    made = planned(request(lost, report, slides, idle, days=5, greedy=greedy))
    assert sum(b.minutes for b in of(made, report)) == 240
    assert of(made, report)[-1].end <= at(2, 12)
    assert sum(b.minutes for b in of(made, slides)) == 120
    assert of(made, slides)[-1].end <= at(1, 11)
    assert {risk.task_id for risk in made.at_risk} == {lost.id}
    assert of(made, lost)  # and the late one still gets the time left


@SOLVERS
def test_what_it_waits_on_counts_in_the_earliest_finish(greedy: bool) -> None:
    first = task(180, "first", priority=10)
    then = task(120, "then", due=at(0, 12), depends_on=(first.id,))
    made = planned(request(first, then, greedy=greedy))
    (risk,) = made.at_risk
    # first: 09:00–10:30, 10:40–12:10; then: 12:20–13:20, 13:30–14:30
    assert (risk.task_id, risk.earliest_finish, risk.shortfall_minutes) == (then.id, at(0, 14, 30), 150)


@SOLVERS
def test_replanning_after_one_new_task_keeps_the_committed_blocks(greedy: bool) -> None:
    tasks = [
        task(30 + 20 * i, f"t{i}", priority=10 * i, due=at(2, 17) if i % 3 == 0 else None) for i in range(8)
    ]
    busy = ((at(0, 13), at(0, 14)), (at(1, 10), at(1, 11)))
    first = planned(request(*tasks, days=3, busy=busy, greedy=greedy, daily_capacity_minutes=300))
    committed = [replace(t, kept=tuple(KeptBlock(b.start, b.end) for b in of(first, t))) for t in tasks]
    kept_count = sum(len(t.kept) for t in committed)
    newcomer = task(60, "new", priority=95)
    again = planned(
        request(*committed, newcomer, days=3, busy=busy, greedy=greedy, daily_capacity_minutes=300)
    )
    assert kept_count >= 8
    assert again.kept_moved <= 2, again.kept_moved
    assert of(again, newcomer)
    moved = {(b.task_id, b.start) for b in again.blocks} ^ {(b.task_id, b.start) for b in first.blocks}
    assert len([m for m in moved if m[0] != newcomer.id]) <= 4


def test_the_fallback_says_it_was_used() -> None:
    one = task(60, "one")
    asked = plan(request(one, greedy=True))
    assert (asked.solver.solver, asked.solver.detail) == (Solver.GREEDY, "the greedy planner was asked for")
    no_time = plan(replace(request(one), time_limit=timedelta(0)))
    assert no_time.solver.solver == Solver.GREEDY
    assert "CP-SAT gave no plan" in no_time.solver.detail
    assert [b.start for b in no_time.blocks] == [at(0, 9)]
    solved = plan(request(one))
    assert solved.solver.solver == Solver.CP_SAT_OPTIMAL


@SOLVERS
def test_what_stays_out_says_why(greedy: bool) -> None:
    a = task(30, "a")
    b = task(30, "b", depends_on=(a.id,))
    a = replace(a, depends_on=(b.id,))
    later = task(30, "later", not_before=at(5, 9))
    after_later = task(30, "after later", depends_on=(later.id,))
    huge = task(2000, "huge", priority=1)
    made = planned(request(a, b, later, after_later, huge, greedy=greedy, daily_capacity_minutes=240))
    reasons = {entry.task_id: entry.reason for entry in made.unscheduled}
    assert reasons[a.id].startswith("its dependencies go round in a circle")
    assert reasons[b.id].startswith("its dependencies go round in a circle")
    assert reasons[later.id] == "deferred past the plan (until Sat 07 Jun 09:00)"
    assert reasons[after_later.id].startswith("waits on 'later', which is not in this plan")
    # blocks of 85–90 min: two fit in the day's 240 min (the third would not)
    assert reasons[huge.id] == "partly planned: 180 of 2000 min fit in this plan"
    assert made.days[0].planned_minutes == 180


def test_the_checker_catches_a_broken_plan() -> None:
    req = request(task(60, "one"), busy=((at(0, 12), at(0, 13)),))
    made = plan(req)
    (block,) = made.blocks
    moved = replace(made, blocks=(replace(block, start=at(0, 12), end=at(0, 13)),))
    assert any("inside busy time" in v for v in violations(req, moved))


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan(request(task(30, "naive", due=datetime(2025, 6, 2, 12))))
