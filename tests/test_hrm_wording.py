"""One fact, one wording: how overdue a task is reads the same in its URGENCY factor, the coaching line of
``today`` and an insight's evidence; the energy factor says what the hour is against the peak; a priority
insight only names a factor that holds the task back; a pillar's allocation is not said twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from aurum.hrm.detectors import overdue_cluster
from aurum.hrm.findings import Scope
from aurum.hrm.insights import coaching, priority_finding, reasoning_path
from aurum.hrm.observing import due_phrase
from aurum.hrm.preferences import Preferences
from aurum.hrm.rules import EVALUATORS
from aurum.hrm.scoring import compute
from aurum.hrm.weights import RuleDef
from tests.test_hrm_insights import URGENT, Business
from tests.test_hrm_rules import SEEDED, project, snapshot, task

CASES = [
    # (now in UTC, zone, due date, due time, the words): the QA cases first
    (datetime(2026, 3, 11, 19, 0, tzinfo=UTC), "UTC", date(2026, 3, 10), None, "1 day"),  # 19 h after its end
    (datetime(2026, 3, 11, 19, 30, tzinfo=UTC), "UTC", date(2026, 3, 11), time(9, 0), "10 hours"),  # 10.5 h
    # Auckland (UTC+13): 2026-11-26 09:00 there; due 2026-11-24 ended 33 h ago: two calendar days late.
    (datetime(2026, 11, 25, 20, 0, tzinfo=UTC), "Pacific/Auckland", date(2026, 11, 24), None, "2 days"),
    (datetime(2026, 3, 11, 9, 20, tzinfo=UTC), "UTC", date(2026, 3, 11), time(9, 0), "under an hour"),
    (datetime(2026, 3, 14, 8, 0, tzinfo=UTC), "UTC", date(2026, 3, 11), time(9, 0), "2 days"),  # 71 h
]


@pytest.mark.parametrize(("now", "zone", "due", "at", "words"), CASES)
def test_how_overdue_reads_the_same_in_the_factor_the_coaching_and_the_evidence(
    now: datetime, zone: str, due: date, at: time | None, words: str
) -> None:
    late = task(due_date=due, due_time=at, created_at=now - timedelta(days=9))
    other = task(due_date=due, due_time=at, created_at=now - timedelta(days=9), name="Another")
    world = snapshot(
        late, other, projects=(project(created_at=now - timedelta(days=30)),), zone=zone, now=now
    )

    factor = EVALUATORS["URGENCY"](world, late, SEEDED["URGENCY"][2])
    assert factor is not None
    assert factor.reason == f"Overdue by {words}"
    assert due_phrase(world, late) == f"overdue by {words}"
    rules = {"URGENCY": RuleDef("URGENCY", "Urgency", 1.0, SEEDED["URGENCY"][2])}
    score = compute(world, rules, now)[late.id]
    line = coaching(("Run a 10k", "Fitness", "Health"), due_phrase(world, late), score)
    assert line.endswith(f"; it is overdue by {words}")
    [cluster] = overdue_cluster(world, Scope("global"))
    facts = {e.entity_id: e.fact for e in cluster.evidence}
    assert facts[late.id].startswith(f"overdue by {words} ")


def test_the_energy_factor_says_the_hour_is_outside_the_peak_not_that_it_is_the_peak() -> None:
    tired = task(energy="high")
    evening = datetime(2026, 3, 11, 18, 0, tzinfo=UTC)
    world = snapshot(tired, now=evening, preferences=Preferences(energy_pattern="morning_peak"))
    rating = EVALUATORS["ENERGY_MATCH"](world, tired, {})
    assert rating is not None
    assert rating.reason == "It is 18:00, outside your morning energy peak; it takes high energy"
    morning = snapshot(
        tired, now=evening.replace(hour=9), preferences=Preferences(energy_pattern="morning_peak")
    )
    rating = EVALUATORS["ENERGY_MATCH"](morning, tired, {})
    assert rating is not None
    assert rating.reason == "It is 09:00, within your morning energy peak; it takes high energy"


def test_a_priority_insight_names_only_a_weak_factor_as_what_it_loses_most_on() -> None:
    business = Business()
    world = business.snapshot()
    found = priority_finding(world, world.tasks[business.task.id], URGENT)
    # Dependencies ("Waits for nothing", 0.5) costs the most points but is not a weakness.
    assert "loses most" not in found.summary


def test_a_pillar_allocation_is_said_once_and_its_share_only_when_it_differs() -> None:
    business = Business()  # Business 40 % and Home 60 %: shares equal the allocations
    finding = business.finding("pillar", business.pillar.id)
    detailed = Preferences(explanation_detail="detailed")
    [step] = reasoning_path(business.snapshot(), finding, {}, detailed)
    assert "'Business' has a 40% time allocation and got" in step.reasoning
    assert "planned time" not in step.reasoning

    world = business.world
    world.pillars.pop(business.other.id)
    world.pillar("Home", 20)  # 40 of 60 allocated: two thirds of the plan
    [step] = reasoning_path(world.snapshot(), finding, {}, detailed)
    assert "'Business' has a 40% time allocation (67% of all your pillars' allocations)" in step.reasoning
