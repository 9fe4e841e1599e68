"""The HRM's scoring rules and weight learning as pure functions on hand-made facts: every evaluator at
and around its thresholds, the score formula and its factors, rankings under the seeded weights, how feedback
moves the weights within bounds; and the rule registry, in memory and against the migrated database."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aurum.hrm import registry
from aurum.hrm.factors import Factor
from aurum.hrm.facts import AreaFacts, PillarEffort, PillarFacts, ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.preferences import Preferences
from aurum.hrm.rules import EVALUATORS, Rating, RuleDef, completion_step, held, score_task
from aurum.hrm.weights import (
    MAX_DRIFT,
    MIN_WEIGHT,
    RuleWeight,
    definitions,
    insight_adjustments,
    learned,
    priority_adjustments,
)
from aurum.resources import Resources

MIGRATION = Path(__file__).resolve().parents[1] / "migrations" / "versions" / "2026_11_25_0010_hrm.py"
URGENCY_CONFIG = {"none": 0.0, "soon": 0.85, "cannot_meet": 0.9, "overdue": 1.0, "late_days": 7}


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hrm_migration_0010", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# code → (name, base weight, config), as the migrations seed them (0010, and SCOPE_STATUS in 0019)
SEEDED: dict[str, tuple[str, float, dict[str, Any]]] = {
    code: (name, weight, config) for code, name, _k, _l, _a, weight, _llm, config, _d in _migration().RULES
} | {"SCOPE_STATUS": ("Where it stands", 0.5, {}), "UNBLOCKING": ("Unblocking", 0.7, {})}
SEEDED["URGENCY"] = (SEEDED["URGENCY"][0], SEEDED["URGENCY"][1], URGENCY_CONFIG)  # 0021: by slack
BASE = {code: RuleDef(code, SEEDED[code][0], SEEDED[code][1], SEEDED[code][2]) for code in EVALUATORS}

# ---- hand-made facts ---------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # a Wednesday, noon in UTC
PILLAR, AREA, PROJECT = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
VISION_12 = "Move every day, sleep well, eat real food and feel strong at eighty"


def pillar(**changes: Any) -> PillarFacts:
    return replace(PillarFacts(PILLAR, "Health", 40, VISION_12), **changes)


def area(**changes: Any) -> AreaFacts:
    return replace(AreaFacts(AREA, PILLAR, "Fitness", 3), **changes)


def project(**changes: Any) -> ProjectFacts:
    base = ProjectFacts(
        id=PROJECT,
        area_id=AREA,
        name="Run a 10k",
        status="active",
        priority="medium",
        importance=3,
        deadline=None,
        created_at=NOW - timedelta(days=3),
        total_tasks=4,
        completed_tasks=1,
        last_completed_at=NOW - timedelta(days=1),
    )
    return replace(base, **changes)


def task(**changes: Any) -> TaskFacts:
    base = TaskFacts(
        id=uuid.uuid4(),
        project_id=PROJECT,
        name="Buy running shoes",
        status="todo",
        priority="medium",
        created_at=NOW,
    )
    return replace(base, **changes)


def snapshot(
    *tasks: TaskFacts,
    pillars: tuple[PillarFacts, ...] = (),
    areas: tuple[AreaFacts, ...] = (),
    projects: tuple[ProjectFacts, ...] = (),
    effort: tuple[PillarEffort, ...] = (),
    preferences: Preferences | None = None,
    zone: str = "UTC",
    now: datetime = NOW,
) -> Snapshot:
    return Snapshot(
        now=now,
        zone=ZoneInfo(zone),
        preferences=preferences or Preferences(),
        pillars={p.id: p for p in pillars or (pillar(),)},
        areas={a.id: a for a in areas or (area(),)},
        projects={p.id: p for p in projects or (project(),)},
        tasks={t.id: t for t in tasks},
        effort={e.pillar_id: e for e in effort},
    )


def rate(
    code: str, subject: TaskFacts, world: Snapshot | None = None, config: Mapping[str, Any] | None = None
) -> Rating | None:
    """The rule's rating of the task under the seeded config (or ``config``)."""
    return EVALUATORS[code](
        world or snapshot(subject), subject, SEEDED[code][2] if config is None else config
    )


def rated(code: str, subject: TaskFacts, world: Snapshot | None = None) -> Rating:
    rating = rate(code, subject, world)
    assert rating is not None, code
    assert_one_liner(rating.reason)
    return rating


def assert_one_liner(reason: str) -> None:
    assert reason.strip(), reason
    assert "\n" not in reason, reason
    assert len(reason) <= 120, reason


def due_at(moment: datetime) -> dict[str, Any]:
    return {"due_date": moment.date(), "due_time": moment.time()}


# ---- URGENCY -----------------------------------------------------------------------------------------------
# NOW is Wednesday 11 March 2026, 12:00 UTC; the default work time is 09:00–17:00, Monday to Friday.


def urgency_of(**facts: Any) -> float:
    return rated("URGENCY", task(**facts)).score


def test_urgency_keeps_rising_with_lateness_and_stays_bounded() -> None:
    lates = [
        timedelta(minutes=1),
        timedelta(days=1),
        timedelta(days=7),
        timedelta(days=30),
        timedelta(days=400),
    ]
    scores = [urgency_of(**due_at(NOW - late)) for late in lates]
    assert scores == sorted(scores)
    assert len(set(scores)) == len(scores)
    assert 0.9 < scores[0] < scores[-1] <= 1.0
    assert rated("URGENCY", task(**due_at(NOW - timedelta(days=3)))).reason == "Overdue by 3 days"


def test_urgency_is_continuous_in_the_work_time_left() -> None:
    ahead = [timedelta(hours=2), timedelta(days=1), timedelta(days=3), timedelta(days=7), timedelta(days=30)]
    scores = [urgency_of(**due_at(NOW + later)) for later in ahead]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)  # due in 7 days is not due in 30
    today, tomorrow = urgency_of(due_date=date(2026, 3, 11)), urgency_of(due_date=date(2026, 3, 12))
    assert today > tomorrow
    assert urgency_of() == 0.0


def test_urgency_weighs_effort_against_the_time_left() -> None:
    in_two_days = due_at(NOW + timedelta(days=2))
    assert urgency_of(estimated_minutes=480, **in_two_days) > urgency_of(estimated_minutes=10, **in_two_days)
    # A 5-hour deck due in 6 days has slack; a 10-minute lesson due at the end of today barely any.
    deck = rated("URGENCY", task(estimated_minutes=300, **due_at(NOW + timedelta(days=6))))
    lesson = rated("URGENCY", task(estimated_minutes=10, due_date=date(2026, 3, 11)))
    assert deck.reason == "Due in 6 days: 32 h of work time left for 5 h of work"
    assert lesson.reason == "Due in 12 h: 5 h of work time left for 10 min of work"


def test_a_due_that_cannot_be_met_is_said_so() -> None:
    rating = rated("URGENCY", task(estimated_minutes=600, due_date=date(2026, 3, 11)))
    assert rating.score == pytest.approx(0.9)
    assert (
        rating.reason
        == "Due in 12 h, with 5 h of work time left for 10 h of work: it cannot be met (5 h short)"
    )


def test_work_time_left_counts_work_days_only() -> None:
    friday_evening = datetime(2026, 3, 13, 16, 0, tzinfo=UTC)
    subject = task(estimated_minutes=60, **due_at(datetime(2026, 3, 16, 10, 0, tzinfo=UTC)))
    rating = rated("URGENCY", subject, snapshot(subject, now=friday_evening))
    assert (
        rating.reason == "Due in 3 days: 2 h of work time left for 1 h of work"
    )  # Friday 16–17, Monday 9–10


@pytest.mark.parametrize(
    ("zone", "due_time", "mentions"),
    [
        # At noon UTC it is already 02:00 the next day on Kiritimati (UTC+14): today's tasks are overdue.
        # Due "today" without a time: it is yesterday there, so a day late, as coaching and insights say.
        ("Pacific/Kiritimati", None, "Overdue by 1 day"),
        ("Pacific/Kiritimati", time(9, 0), "Overdue by 17 hours"),
        ("UTC", None, "Due in 12 h: 5 h of work time left for 30 min of work"),
        ("UTC", time(9, 0), "Overdue by 3 hours"),
        # In Los Angeles (UTC-7) it is 05:00 on the same day: four hours to 09:00, none of them work time.
        (
            "America/Los_Angeles",
            time(9, 0),
            "Due in 4 h, with 0 min of work time left for 30 min of work: it cannot be met (30 min short)",
        ),
    ],
)
def test_urgency_reads_due_dates_in_the_persons_time_zone(
    zone: str, due_time: time | None, mentions: str
) -> None:
    due = task(due_date=date(2026, 3, 11), due_time=due_time)
    assert rated("URGENCY", due, snapshot(due, zone=zone)).reason == mentions


# ---- PILLAR_ALIGNMENT --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allocation", "vision", "area_importance", "project_importance", "expected"),
    [
        (40, VISION_12, 3, 3, 0.4 * 0.4 + 0.3 * 1 + 0.2 * 3 / 5 + 0.1 * 3 / 5),
        (100, VISION_12 + " " + VISION_12, 5, 5, 1.0),  # a vision past 12 words counts as 12
        (None, "Move every day and sleep well", 5, 1, 0.3 * 6 / 12 + 0.2 + 0.1 / 5),
        (25, None, 4, 2, 0.4 * 0.25 + 0.2 * 4 / 5 + 0.1 * 2 / 5),
        (0, None, 1, 1, 0.2 / 5 + 0.1 / 5),  # planned none of their time: below "unaligned"
        (None, None, 5, 5, 0.3),  # unaligned, whatever the area and project
        (None, "   ", 1, 1, 0.3),
    ],
)
def test_pillar_alignment_follows_the_formula(
    allocation: int | None, vision: str | None, area_importance: int, project_importance: int, expected: float
) -> None:
    subject = task()
    world = snapshot(
        subject,
        pillars=(pillar(time_allocation=allocation, vision_statement=vision),),
        areas=(area(importance=area_importance),),
        projects=(project(importance=project_importance),),
    )
    rating = rated("PILLAR_ALIGNMENT", subject, world)
    assert rating.score == pytest.approx(expected)
    assert "'Health'" in rating.reason


def test_pillar_alignment_reason_names_the_allocation_and_importances() -> None:
    reason = rated("PILLAR_ALIGNMENT", task()).reason
    for fact in ("40%", "area importance 3/5", "project importance 3/5"):
        assert fact in reason


def test_pillar_alignment_does_not_apply_to_a_task_outside_the_known_hierarchy() -> None:
    stray = task(project_id=uuid.uuid4())
    assert rate("PILLAR_ALIGNMENT", stray) is None


def test_pillar_alignment_vision_words_come_from_the_config() -> None:
    subject = task()
    world = snapshot(subject, pillars=(pillar(time_allocation=0, vision_statement="Strong calm and kind"),))
    four_words = rate("PILLAR_ALIGNMENT", subject, world, {"vision_words": 4})
    assert four_words is not None
    assert four_words.score == pytest.approx(0.3 + 0.12 + 0.06)
    assert rated("PILLAR_ALIGNMENT", subject, world).score == pytest.approx(0.3 * 4 / 12 + 0.12 + 0.06)


# ---- EXPLICIT_PRIORITY, DEPENDENCIES, USER_FEEDBACK --------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "expected"), [("low", 0.25), ("medium", 0.5), ("high", 0.75), ("urgent", 1.0)]
)
def test_explicit_priority(priority: str, expected: float) -> None:
    rating = rated("EXPLICIT_PRIORITY", task(priority=priority))
    assert rating.score == expected
    assert priority in rating.reason


def test_explicit_priority_scores_come_from_the_config() -> None:
    rating = rate("EXPLICIT_PRIORITY", task(priority="high"), config={"high": 0.9})
    assert rating is not None
    assert rating.score == 0.9


DONE, OPEN = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("dependency_ids", "open_ids", "expected", "mentions"),
    [
        ((), (), 0.5, "Waits for nothing"),
        ((DONE,), (), 0.8, "ready to start"),
        ((DONE, OPEN), (OPEN,), 0.1, "Waits for 1 open task"),
        ((DONE, OPEN), (DONE, OPEN), 0.1, "Waits for 2 open tasks"),
    ],
)
def test_dependencies(
    dependency_ids: tuple[uuid.UUID, ...], open_ids: tuple[uuid.UUID, ...], expected: float, mentions: str
) -> None:
    rating = rated("DEPENDENCIES", task(dependency_ids=dependency_ids, open_dependency_ids=open_ids))
    assert rating.score == expected
    assert mentions in rating.reason


@pytest.mark.parametrize(("feedback", "expected"), [("TOO_HIGH", 0.0), ("TOO_LOW", 1.0)])
def test_user_feedback(feedback: str, expected: float) -> None:
    rating = rated("USER_FEEDBACK", task(feedback=feedback))
    assert rating.score == expected
    assert ("too high" if feedback == "TOO_HIGH" else "too low") in rating.reason


@pytest.mark.parametrize("feedback", ["CORRECT", None])
def test_user_feedback_does_not_apply_without_a_correction(feedback: str | None) -> None:
    assert rate("USER_FEEDBACK", task(feedback=feedback)) is None


# ---- ENERGY_MATCH ------------------------------------------------------------------------------------------


def at_local(hour: int, zone: str) -> datetime:
    return datetime(2026, 3, 11, hour, 0, tzinfo=ZoneInfo(zone)).astimezone(UTC)


PEAKS = {"morning_peak": (6, 11, 5, 12), "afternoon_peak": (12, 16, 11, 17), "evening_peak": (17, 21, 16, 22)}


@pytest.mark.parametrize("pattern", sorted(PEAKS))
@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
@pytest.mark.parametrize(
    ("energy", "on_peak", "off_peak"), [("high", 1.0, 0.3), ("medium", 0.7, 0.6), ("low", 0.4, 0.9)]
)
def test_energy_match_at_and_off_the_peak_in_the_persons_zone(
    pattern: str, zone: str, energy: str, on_peak: float, off_peak: float
) -> None:
    first, last, before, after = PEAKS[pattern]
    subject = task(energy=energy)
    expected = {first: on_peak, last: on_peak, before: off_peak, after: off_peak, 3: off_peak}
    for hour, score in expected.items():
        world = snapshot(
            subject, preferences=Preferences(energy_pattern=pattern), zone=zone, now=at_local(hour, zone)
        )
        rating = rated("ENERGY_MATCH", subject, world)
        assert rating.score == score, (hour, rating)
        inside = "within" if score == on_peak else "outside"
        peak = pattern.removesuffix("_peak")
        assert rating.reason.startswith(f"It is {hour:02d}:00, {inside} your {peak} energy peak"), rating
        assert energy in rating.reason


def test_energy_match_reads_the_hour_in_the_persons_zone_not_utc() -> None:
    subject = task(energy="high")
    morning = Preferences(energy_pattern="morning_peak")
    midnight_utc = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    in_tokyo = rated(
        "ENERGY_MATCH", subject, snapshot(subject, preferences=morning, zone="Asia/Tokyo", now=midnight_utc)
    )
    in_utc = rated("ENERGY_MATCH", subject, snapshot(subject, preferences=morning, now=midnight_utc))
    assert (in_tokyo.score, in_utc.score) == (1.0, 0.3)


@pytest.mark.parametrize(
    ("pattern", "energy"), [("steady", "high"), ("steady", "low"), ("morning_peak", None), ("steady", None)]
)
def test_energy_match_does_not_apply_to_a_steady_pattern_or_without_energy(
    pattern: str, energy: str | None
) -> None:
    subject = task(energy=energy)
    world = snapshot(subject, preferences=Preferences(energy_pattern=pattern), now=at_local(9, "UTC"))
    assert rate("ENERGY_MATCH", subject, world) is None


# ---- PROJECT_MOMENTUM, TASK_AGE ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "completed", "idle_days", "age_days", "expected", "mentions"),
    [
        (4, 3, 1, 30, 0.9, "is at least 75% done: finishing it is close"),
        (10, 9, 1, 30, 0.9, "is at least 90% done: finishing"),
        (7, 6, 1, 30, 0.9, "is at least 80% done: finishing"),  # 85.7 %: by its step
        (4, 3, 40, 60, 0.9, "at least 75% done"),  # near completion outweighs a pause
        (10, 7, 1, 30, 0.5 + 0.3 * 0.7, "is at least 70% done"),
        (3, 2, 1, 30, 0.5 + 0.3 * 0.6, "is at least 60% done"),  # 66.7 %: rated by its step
        (4, 2, 13.9, 30, 0.5 + 0.3 * 0.5, "is at least 50% done"),
        (201, 50, 1, 30, 0.5 + 0.3 * 0.2, "is at least 20% done"),  # 24.9 %
        (4, 2, 14, 30, 0.3, "nothing completed for 14 days"),
        (4, 0, None, 20, 0.3, "nothing completed for 20 days"),  # never moved since it was created
        (11, 1, None, 2, 0.5, "is under 10% done"),
        (4, 0, None, 2, 0.5, "is under 10% done"),
        (0, 0, None, 2, 0.5, "is under 10% done"),
    ],
)
def test_project_momentum(
    total: int, completed: int, idle_days: float | None, age_days: int, expected: float, mentions: str
) -> None:
    subject = task()
    last = NOW - timedelta(days=idle_days) if idle_days is not None else None
    facts = project(
        total_tasks=total,
        completed_tasks=completed,
        last_completed_at=last,
        created_at=NOW - timedelta(days=age_days),
    )
    rating = rated("PROJECT_MOMENTUM", subject, snapshot(subject, projects=(facts,)))
    assert rating.score == pytest.approx(expected)
    assert "'Run a 10k'" in rating.reason
    assert mentions in rating.reason


def test_project_momentum_thresholds_come_from_the_config() -> None:
    subject = task()
    world = snapshot(subject, projects=(project(total_tasks=10, completed_tasks=6, last_completed_at=NOW),))
    assert rated("PROJECT_MOMENTUM", subject, world).score == pytest.approx(0.68)
    eager = rate("PROJECT_MOMENTUM", subject, world, {"near_completion": 0.6})
    impatient = rate("PROJECT_MOMENTUM", subject, snapshot(subject), {"stalled_days": 1})
    assert eager is not None
    assert eager.score == 0.9
    assert impatient is not None
    assert impatient.score == 0.3


@pytest.mark.parametrize(
    ("completed", "total", "steps", "expected"),
    [
        (0, 0, 10, 0.0),
        (0, 7, 10, 0.0),
        (1, 11, 10, 0.0),
        (1, 10, 10, 0.1),
        (3, 10, 10, 0.3),
        (7, 10, 10, 0.7),
        (29, 100, 10, 0.2),
        (50, 201, 10, 0.2),
        (50, 250, 10, 0.2),
        (50, 249, 10, 0.2),
        (10, 10, 10, 1.0),
        (12, 10, 10, 1.0),
        (2, 3, 4, 0.5),
        (1, 3, 1, 0.0),
    ],
)
def test_completion_is_rounded_down_to_a_whole_step(
    completed: int, total: int, steps: int, expected: float
) -> None:
    assert completion_step(completed, total, steps) == expected


def momentum_of(completed: int, total: int, config: Mapping[str, Any] | None = None) -> Rating | None:
    subject = task()
    facts = project(total_tasks=total, completed_tasks=completed, last_completed_at=NOW)
    return rate("PROJECT_MOMENTUM", subject, snapshot(subject, projects=(facts,)), config)


def test_momentum_moves_only_when_the_completion_crosses_a_step() -> None:
    """Adding tasks to a project a quarter done leaves its momentum (score and reason: what every task of
    the project shares) as it was until the completed share falls below 20 %, or reaches 30 % as tasks
    complete; so the project's other tasks keep their scores meanwhile."""
    quarter = momentum_of(50, 200)
    assert quarter is not None
    assert quarter.reason.endswith("is at least 20% done")
    assert all(momentum_of(50, total) == quarter for total in range(200, 251))
    assert momentum_of(50, 251) != quarter
    assert all(momentum_of(completed, 200) == quarter for completed in range(40, 60))
    assert momentum_of(60, 200) != quarter
    assert momentum_of(39, 200) != quarter


def test_the_momentum_steps_come_from_the_config() -> None:
    quarters = {"completion_steps": 4}
    half = momentum_of(5, 8, quarters)
    assert half is not None
    assert half.score == pytest.approx(0.5 + 0.3 * 0.5)
    assert half.reason.endswith("is at least 50% done")
    assert momentum_of(4, 8, quarters) == half
    assert momentum_of(3, 8, quarters) != half
    little = momentum_of(1, 8, quarters)
    assert little is not None
    assert little.reason.endswith("is under 25% done")


@pytest.mark.parametrize(
    ("age", "expected", "mentions"),
    [
        (timedelta(0), 0.3, "Added today"),
        (timedelta(hours=23), 0.3 + 0.6 * 23 / 24 / 30, "Added today"),
        (timedelta(days=15), 0.6, "Open for 15 days"),
        (timedelta(days=30), 0.9, "Open for 30 days"),
        (timedelta(days=90), 0.9, "Open for 90 days"),
        (-timedelta(hours=1), 0.3, "Added today"),  # a clock a little ahead
    ],
)
def test_task_age(age: timedelta, expected: float, mentions: str) -> None:
    rating = rated("TASK_AGE", task(created_at=NOW - age))
    assert rating.score == pytest.approx(expected)
    assert rating.reason == mentions


# ---- WORK_LIFE_BALANCE -------------------------------------------------------------------------------------

WORK = uuid.UUID(int=11)
WORK_AREA = uuid.UUID(int=12)


def balance_world(
    subject: TaskFacts, effort: tuple[PillarEffort, ...], health: int = 40, work: int = 60
) -> Snapshot:
    return snapshot(
        subject,
        pillars=(pillar(time_allocation=health), PillarFacts(WORK, "Work", work, None)),
        areas=(area(), AreaFacts(WORK_AREA, WORK, "Career", 3)),
        effort=effort,
    )


@pytest.mark.parametrize(
    ("health", "work", "expected", "mentions"),
    [
        (
            PillarEffort(PILLAR, 1, 60),
            PillarEffort(WORK, 9, 540),
            0.8,
            "got 10% of your recent effort against 40%",
        ),
        (
            PillarEffort(PILLAR, 7, 420),
            PillarEffort(WORK, 3, 180),
            0.2,
            "already got 70% of your recent effort",
        ),
        (PillarEffort(PILLAR, 4, 252), PillarEffort(WORK, 6, 348), 0.48, "about its planned share (40%)"),
        (PillarEffort(PILLAR, 0, 0), PillarEffort(WORK, 5, 300), 0.9, "got 0%"),
        # Without any estimate, task counts stand in for minutes.
        (PillarEffort(PILLAR, 2, 0), PillarEffort(WORK, 6, 0), 0.65, "got 25%"),
    ],
)
def test_work_life_balance_compares_actual_with_planned_share(
    health: PillarEffort, work: PillarEffort, expected: float, mentions: str
) -> None:
    subject = task()
    rating = rated("WORK_LIFE_BALANCE", subject, balance_world(subject, (health, work)))
    assert rating.score == pytest.approx(expected)
    assert "'Health'" in rating.reason
    assert mentions in rating.reason


@pytest.mark.parametrize(
    ("history_days", "done", "judged"),
    [(30, 0, False), (30, 4, False), (13.9, 10, False), (14, 5, True), (30, 10, True)],
)
def test_work_life_balance_waits_for_evidence(history_days: float, done: int, judged: bool) -> None:
    """Two weeks and five completions before effort is judged against the plan; until then neutral."""
    subject = task()
    world = replace(balance_world(subject, (PillarEffort(WORK, done, 60 * done),)), history_days=history_days)
    rating = rated("WORK_LIFE_BALANCE", subject, world)
    if judged:
        assert rating.score == pytest.approx(0.9)
        assert "got 0% of your recent effort" in rating.reason
    else:
        assert rating.score == 0.5
        assert rating.reason == "Not enough history yet to compare your effort with your plan"


def test_work_life_balance_stays_within_0_and_1() -> None:
    subject = task()
    starved = balance_world(subject, (PillarEffort(WORK, 5, 300),), health=100, work=0)
    flooded = balance_world(subject, (PillarEffort(PILLAR, 5, 300),), health=0, work=100)
    assert rated("WORK_LIFE_BALANCE", subject, starved).score == 1.0
    assert rated("WORK_LIFE_BALANCE", subject, flooded).score == 0.0


# ---- seeded config against the code's defaults -------------------------------------------------------------

SAMPLES = [
    task(),
    task(due_date=date(2026, 3, 10), priority="urgent", energy="high"),
    task(due_date=date(2026, 3, 11), priority="low", energy="low", dependency_ids=(DONE,)),
    task(due_date=date(2026, 3, 13), priority="high", dependency_ids=(OPEN,), open_dependency_ids=(OPEN,)),
    task(due_date=date(2026, 3, 17), feedback="TOO_HIGH", created_at=NOW - timedelta(days=40)),
    task(due_date=date(2026, 4, 1), feedback="TOO_LOW", created_at=NOW - timedelta(days=10)),
]


@pytest.mark.parametrize("code", sorted(EVALUATORS))
def test_the_seeded_config_agrees_with_the_codes_defaults(code: str) -> None:
    for subject in SAMPLES:
        assert rate(code, subject) == rate(code, subject, config={}), subject


def test_every_evaluator_has_a_seeded_rule() -> None:
    assert set(EVALUATORS) <= set(SEEDED)


# ---- score_task --------------------------------------------------------------------------------------------


def weighted(**weights: float) -> dict[str, RuleDef]:
    return {code: RuleDef(code, code.title(), weight) for code, weight in weights.items()}


def test_the_score_is_the_weighted_mean_of_the_applicable_rules() -> None:
    subject = task(
        due_date=date(2026, 3, 12), priority="high", energy="high", created_at=NOW - timedelta(days=6)
    )
    world = snapshot(subject)
    score = score_task(world, subject, BASE, NOW)
    applicable = {code: rate(code, subject, world) for code in BASE}
    ratings = {code: rating for code, rating in applicable.items() if rating is not None}
    assert set(ratings) == set(BASE) - {"USER_FEEDBACK", "UNBLOCKING"}  # no verdict, nothing waits
    total = sum(BASE[code].weight for code in ratings)
    expected = 100 * sum(BASE[code].weight * rating.score for code, rating in ratings.items()) / total
    assert score.value == pytest.approx(expected, abs=0.005)
    assert score.computed_at == NOW
    assert {f.rule_code for f in score.factors} == set(ratings)
    for factor in score.factors:
        assert factor.label == BASE[factor.rule_code].label
        assert factor.weight == BASE[factor.rule_code].weight
        assert factor.score == pytest.approx(ratings[factor.rule_code].score, abs=1e-4)
        assert factor.contribution == pytest.approx(100 * factor.weight * factor.score / total, abs=0.01)
        assert factor.reason == ratings[factor.rule_code].reason


@pytest.mark.parametrize("subject", SAMPLES)
def test_contributions_add_up_to_the_value_and_come_in_order(subject: TaskFacts) -> None:
    score = score_task(snapshot(subject), subject, BASE, NOW)
    contributions = [f.contribution for f in score.factors]
    assert sum(contributions) == pytest.approx(score.value, abs=0.005 * (len(contributions) + 1))
    assert contributions == sorted(contributions, reverse=True)
    assert 0 <= score.value <= 100


def test_a_hand_computed_score() -> None:
    subject = task(
        due_date=date(2026, 3, 10), priority="low"
    )  # half a day late, low 0.25, no dependencies 0.5
    late = 0.9 + 0.1 * (1 - 1 / (1 + 0.5 / 7))
    score = score_task(
        snapshot(subject), subject, weighted(URGENCY=1.0, EXPLICIT_PRIORITY=0.5, DEPENDENCIES=0.5), NOW
    )
    assert score.value == pytest.approx(100 * (late + 0.125 + 0.25) / 2.0, abs=0.01)
    assert [(f.rule_code, f.contribution) for f in score.factors] == [
        ("URGENCY", pytest.approx(50 * late, abs=0.01)),
        ("DEPENDENCIES", 12.5),
        ("EXPLICIT_PRIORITY", 6.25),
    ]


def test_zero_weight_and_inapplicable_rules_are_left_out_of_both_sums() -> None:
    subject = task(due_date=date(2026, 3, 10), priority="low")  # no energy, no feedback
    rules = weighted(URGENCY=1.0, EXPLICIT_PRIORITY=0.0, ENERGY_MATCH=0.9, USER_FEEDBACK=0.9, OVERLOAD=0.8)
    score = score_task(snapshot(subject), subject, rules, NOW)
    assert [f.rule_code for f in score.factors] == ["URGENCY"]
    assert score.value == pytest.approx(100 * rated("URGENCY", subject).score, abs=0.01)


def test_no_applicable_rule_scores_zero() -> None:
    subject = task()
    assert score_task(snapshot(subject), subject, {}, NOW).value == 0.0
    assert score_task(snapshot(subject), subject, weighted(USER_FEEDBACK=1.0), NOW).factors == ()


def test_rule_config_overrides_the_thresholds() -> None:
    subject = task(due_date=date(2026, 3, 16))  # in five days
    seeded = score_task(snapshot(subject), subject, {"URGENCY": BASE["URGENCY"]}, NOW)
    configured = {"URGENCY": replace(BASE["URGENCY"], config={**SEEDED["URGENCY"][2], "soon": 0.425})}
    changed = score_task(snapshot(subject), subject, configured, NOW)
    assert changed.value == pytest.approx(seeded.value / 2, abs=0.01)


def test_a_configured_score_outside_0_to_1_is_clamped() -> None:
    subject = task(due_date=date(2026, 3, 10))
    rules = {"URGENCY": RuleDef("URGENCY", "Urgency", 1.0, {"overdue": 7})}
    assert score_task(snapshot(subject), subject, rules, NOW).factors[0].score == 1.0


# ---- rankings under the seeded weights ---------------------------------------------------------------------


def ranked(world: Snapshot, rules: Mapping[str, RuleDef] = BASE) -> list[str]:
    scores = {t.name: score_task(world, t, rules, NOW).value for t in world.tasks.values()}
    return sorted(scores, key=lambda name: -scores[name])


def test_overdue_and_high_beats_later_and_low() -> None:
    pressing = task(name="pressing", due_date=date(2026, 3, 10), priority="high")
    relaxed = task(name="relaxed", due_date=date(2026, 4, 10), priority="low")
    assert ranked(snapshot(pressing, relaxed)) == ["pressing", "relaxed"]


def test_a_blocked_task_ranks_below_the_same_task_ready_to_start() -> None:
    common = {"due_date": date(2026, 3, 12), "priority": "high", "dependency_ids": (DONE,)}
    blocked = task(name="blocked", open_dependency_ids=(DONE,), **common)
    ready = task(name="ready", **common)
    free = task(name="free", due_date=date(2026, 3, 12), priority="high")
    assert ranked(snapshot(blocked, ready, free)) == ["ready", "free", "blocked"]


def test_more_time_allocated_to_the_pillar_ranks_higher() -> None:
    other_project = uuid.UUID(int=13)
    health = task(name="health")
    work = task(name="work", project_id=other_project)
    world = snapshot(
        health,
        work,
        pillars=(pillar(time_allocation=20), PillarFacts(WORK, "Work", 60, VISION_12)),
        areas=(area(), AreaFacts(WORK_AREA, WORK, "Career", 3)),
        projects=(project(), project(id=other_project, area_id=WORK_AREA)),
    )
    assert ranked(world) == ["work", "health"]


def rivals(leader_feedback: str | None = None) -> Snapshot:
    leader = task(name="leader", priority="high", due_date=date(2026, 3, 14), feedback=leader_feedback)
    rival = task(name="rival", priority="medium", due_date=date(2026, 3, 14))
    return snapshot(leader, rival)


def test_too_high_feedback_drops_a_leader_below_its_close_rival() -> None:
    assert ranked(rivals()) == ["leader", "rival"]
    assert ranked(rivals("TOO_HIGH")) == ["rival", "leader"]
    assert ranked(rivals("CORRECT")) == ["leader", "rival"]


def test_too_low_feedback_lifts_a_task_above_its_rival() -> None:
    trailer = task(name="trailer", priority="medium", due_date=date(2026, 3, 14), feedback="TOO_LOW")
    leader = task(name="leader", priority="high", due_date=date(2026, 3, 14))
    assert ranked(snapshot(trailer, leader)) == ["trailer", "leader"]


# ---- weights -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    """Stands for an ``hrm_rules`` row: the columns the weights read."""

    code: str
    name: str
    base_weight: float
    config: dict[str, Any] = field(default_factory=dict)
    user_adjustable: bool = True


def seeded_weights(**learned_weights: float) -> dict[str, RuleWeight]:
    return {
        code: RuleWeight(
            RuleRow(code, rule.label, rule.weight, dict(rule.config)), None, learned_weights.get(code)
        )
        for code, rule in BASE.items()
    }


def factor(code: str, weight: float, score: float) -> Factor:
    return Factor(code, code.title(), weight, score, 0.0, "because")


# overall = (1×0.9 + 1×0.5 + 1×0.2 + 1×0.6) ÷ 4 = 0.55
FACTORS = [
    factor("URGENCY", 1.0, 0.9),
    factor("DEPENDENCIES", 1.0, 0.5),
    factor("TASK_AGE", 1.0, 0.2),
    factor("USER_FEEDBACK", 1.0, 0.6),
]


def test_too_high_moves_weight_from_the_rules_that_pushed_the_task_up() -> None:
    moves = priority_adjustments(FACTORS, "TOO_HIGH")
    assert moves == pytest.approx({"URGENCY": -0.035, "DEPENDENCIES": 0.005, "TASK_AGE": 0.035})


def test_too_low_moves_weight_toward_them() -> None:
    moves = priority_adjustments(FACTORS, "TOO_LOW")
    assert moves == pytest.approx({"URGENCY": 0.035, "DEPENDENCIES": -0.005, "TASK_AGE": -0.035})


def test_correct_and_empty_factors_move_nothing() -> None:
    assert priority_adjustments(FACTORS, "CORRECT") == {}
    assert priority_adjustments([], "TOO_HIGH") == {}


def test_a_rule_rating_exactly_the_overall_score_is_left_alone() -> None:
    level = [factor("URGENCY", 0.5, 0.4), factor("TASK_AGE", 0.5, 0.4)]
    assert priority_adjustments(level, "TOO_HIGH") == {}


@pytest.mark.parametrize("verdict", ["TOO_HIGH", "TOO_LOW"])
@pytest.mark.parametrize("code", sorted(BASE))
@pytest.mark.parametrize("base_learned", [None, 0.05, 1.0])
def test_learned_weights_stay_within_bounds(verdict: str, code: str, base_learned: float | None) -> None:
    base = BASE[code].weight
    current = seeded_weights(**({code: base_learned} if base_learned is not None else {}))
    push = {code: 0.3 if verdict == "TOO_LOW" else -0.3}
    for _ in range(20):
        moved = learned(current, push)
        current[code] = replace(current[code], learned=moved[code])
        assert max(MIN_WEIGHT, base - MAX_DRIFT) - 1e-9 <= moved[code] <= min(1.0, base + MAX_DRIFT) + 1e-9
    bound = min(1.0, base + MAX_DRIFT) if verdict == "TOO_LOW" else max(MIN_WEIGHT, base - MAX_DRIFT)
    assert current[code].learned == pytest.approx(bound)


def test_repeated_feedback_on_real_factors_keeps_every_weight_within_bounds() -> None:
    subject = task(
        due_date=date(2026, 3, 10), priority="urgent", energy="high", created_at=NOW - timedelta(days=2)
    )
    world = snapshot(subject)
    current = seeded_weights()
    for round_ in range(60):
        score = score_task(world, subject, definitions(current.values()), NOW)
        verdict = "TOO_HIGH" if round_ % 3 else "TOO_LOW"
        for code, value in learned(current, priority_adjustments(score.factors, verdict)).items():
            current[code] = replace(current[code], learned=value)
    for code, weight in current.items():
        base = BASE[code].weight
        assert max(MIN_WEIGHT, base - MAX_DRIFT) <= weight.effective <= min(1.0, base + MAX_DRIFT), code


def test_only_adjustable_known_rules_learn() -> None:
    current = seeded_weights()
    current["URGENCY"] = replace(
        current["URGENCY"], rule=replace(current["URGENCY"].rule, user_adjustable=False)
    )
    moved = learned(current, {"URGENCY": -0.1, "TASK_AGE": -0.1, "NO_SUCH_RULE": 0.1})
    assert moved == {"TASK_AGE": pytest.approx(0.2)}


def test_learning_starts_from_the_learned_weight_when_there_is_one() -> None:
    moved = learned(seeded_weights(TASK_AGE=0.5), {"TASK_AGE": 0.1})
    assert moved == {"TASK_AGE": pytest.approx(0.6)}


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("ACCEPTED", {"STALLED_PROJECT": 0.05, "OVERLOAD": 0.05}),
        ("MODIFIED", {}),
        ("IGNORED", {"STALLED_PROJECT": -0.025, "OVERLOAD": -0.025}),
        ("REJECTED", {"STALLED_PROJECT": -0.1, "OVERLOAD": -0.1}),
    ],
)
def test_insight_adjustments(verdict: str, expected: dict[str, float]) -> None:
    assert insight_adjustments(["STALLED_PROJECT", "OVERLOAD"], verdict) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("override", "learned_weight", "effective"),
    [(0.2, 0.7, 0.2), (0.0, 0.7, 0.0), (None, 0.7, 0.7), (None, None, 0.9)],
)
def test_the_effective_weight_is_override_then_learned_then_base(
    override: float | None, learned_weight: float | None, effective: float
) -> None:
    weight = RuleWeight(RuleRow("URGENCY", "Urgency", 0.9, {"week": 0.5}), override, learned_weight)
    assert weight.effective == effective
    assert weight.definition() == RuleDef("URGENCY", "Urgency", effective, {"week": 0.5})


def test_repeated_too_high_feedback_lowers_the_tasks_score() -> None:
    subject = task(
        due_date=date(2026, 3, 12), priority="urgent", energy="high", created_at=NOW - timedelta(days=1)
    )
    world = snapshot(subject, now=at_local(9, "UTC"))
    current = seeded_weights()
    values = []
    for _ in range(8):
        score = score_task(world, subject, definitions(current.values()), NOW)
        values.append(score.value)
        for code, value in learned(current, priority_adjustments(score.factors, "TOO_HIGH")).items():
            current[code] = replace(current[code], learned=value)
    assert all(later < earlier for earlier, later in pairwise(values)), values
    assert values[-1] < values[0] - 5, values


def test_learning_from_too_high_on_the_leader_narrows_its_lead() -> None:
    world = rivals()
    current = seeded_weights()
    leader = next(t for t in world.tasks.values() if t.name == "leader")
    rival = next(t for t in world.tasks.values() if t.name == "rival")

    def lead() -> float:
        rules = definitions(current.values())
        return score_task(world, leader, rules, NOW).value - score_task(world, rival, rules, NOW).value

    before = lead()
    for _ in range(3):
        factors = score_task(world, leader, definitions(current.values()), NOW).factors
        for code, value in learned(current, priority_adjustments(factors, "TOO_HIGH")).items():
            current[code] = replace(current[code], learned=value)
    assert 0 < lead() < before


# ---- the registry ------------------------------------------------------------------------------------------

HANDLERS = frozenset({"URGENCY", "OVERLOAD", "AI_ADVICE"})


def test_matching_rules_and_handlers_pass() -> None:
    registry.check_rules([("URGENCY", True), ("OVERLOAD", True), ("AI_ADVICE", True)], HANDLERS)


def test_an_inactive_rule_without_an_evaluator_is_fine() -> None:
    rows = [("URGENCY", True), ("OVERLOAD", True), ("AI_ADVICE", True), ("RETIRED", False)]
    registry.check_rules(rows, HANDLERS)


def test_an_active_rule_without_an_evaluator_fails_naming_it() -> None:
    rows = [("URGENCY", True), ("OVERLOAD", True), ("AI_ADVICE", True), ("MOON_PHASE", True), ("TIDES", True)]
    with pytest.raises(
        registry.RuleRegistryError, match="active rules without an evaluator: MOON_PHASE, TIDES"
    ):
        registry.check_rules(rows, HANDLERS)


def test_an_evaluator_without_a_rule_fails_naming_it() -> None:
    with pytest.raises(
        registry.RuleRegistryError, match="evaluators without a rule in hrm_rules: OVERLOAD"
    ) as raised:
        registry.check_rules([("URGENCY", True), ("AI_ADVICE", False)], HANDLERS)
    assert "active rules without" not in str(raised.value)


def test_the_code_implements_exactly_the_seeded_rules() -> None:
    registry.check_rules((code, True) for code in SEEDED)


async def test_the_migrated_rules_agree_with_the_code(resources: Resources) -> None:
    await registry.verify_rules(resources.sessionmaker)


async def test_the_migrated_rules_are_the_seeded_ones_and_read_only_for_the_app(resources: Resources) -> None:
    async with resources.sessionmaker() as session, session.begin():
        rows = (await session.execute(text("SELECT code, name, base_weight, config FROM hrm_rules"))).all()
    assert {row.code: (row.name, row.base_weight, row.config) for row in rows} == SEEDED
    statements = [
        "UPDATE hrm_rules SET base_weight = 1 WHERE code = 'URGENCY'",
        "DELETE FROM hrm_rules WHERE code = 'URGENCY'",
        "INSERT INTO hrm_rules (code, name, description, level, applies_to, kind, base_weight)"
        " VALUES ('X', 'X', 'X', 'task', '{task}', 'scoring', 0.5)",
    ]
    async with resources.sessionmaker() as session:
        for statement in statements:
            with pytest.raises(DBAPIError, match="permission denied for table hrm_rules"):
                await session.execute(text(statement))
            await session.rollback()


@pytest.mark.parametrize(
    ("verdict", "target", "value", "kept"),
    [
        ("TOO_HIGH", 40.0, 55.0, 40.0),  # held under the task that ranked next below
        ("TOO_HIGH", 40.0, 30.0, 30.0),  # already under: its own score stands
        ("TOO_LOW", 60.0, 55.0, 60.0),
        ("TOO_LOW", 60.0, 70.0, 70.0),
        ("CORRECT", 60.0, 55.0, 55.0),
        ("TOO_HIGH", None, 55.0, 55.0),
    ],
)
def test_a_verdict_holds_a_score_past_its_neighbour(
    verdict: str, target: float | None, value: float, kept: float
) -> None:
    assert held(task(feedback=verdict, feedback_target=target), value) == kept


# ---- UNBLOCKING --------------------------------------------------------------------------------------------


def test_unblocking_counts_what_waits_by_its_priority_and_dues() -> None:
    soon, later = date(2026, 3, 13), date(2026, 5, 1)
    assert rate("UNBLOCKING", task()) is None  # nothing waits: the rule stays out of the score
    one = rated("UNBLOCKING", task(waiting=(("low", None),)))
    urgent = rated("UNBLOCKING", task(waiting=(("urgent", None),)))
    dated = rated("UNBLOCKING", task(waiting=(("urgent", soon),)))
    many = rated("UNBLOCKING", task(waiting=(("urgent", soon), ("high", soon), ("medium", later))))
    assert one.score < urgent.score < dated.score < many.score <= 1.0
    assert one.reason == "1 open task waits for it"
    assert many.reason == "3 open tasks wait for it (2 high or urgent, 2 due within a week)"


def test_what_a_task_unblocks_lifts_it_above_a_like_task() -> None:
    feature = task(
        name="Build the feature", estimated_minutes=720, waiting=(("high", None), ("urgent", None))
    )
    walk = task(name="Walk 30 minutes", estimated_minutes=30, priority="medium")
    world = snapshot(feature, walk)
    assert ranked(world)[0] == "Build the feature"


@pytest.mark.parametrize(
    ("status", "expected", "mentions"),
    [
        ("active", 0.5 + 0.3 * 0.2, "'Run a 10k' is at least 20% done"),
        ("planning", (0.5 + 0.3 * 0.2) * 0.8, "'Run a 10k' is at least 20% done, still being planned"),
        ("on_hold", 0.1, "'Run a 10k' is on hold: its work waits until you resume it"),
        ("cancelled", 0.0, "'Run a 10k' is cancelled"),
    ],
)
def test_momentum_counts_the_projects_status(status: str, expected: float, mentions: str) -> None:
    subject = task()
    world = snapshot(subject, projects=(project(status=status),))
    rating = rated("PROJECT_MOMENTUM", subject, world)
    assert rating.score == pytest.approx(expected)
    assert rating.reason == mentions


def test_work_on_hold_ranks_below_work_being_planned_below_work_under_way() -> None:
    projects = [
        project(id=uuid.UUID(int=10 + n), name=status, status=status)
        for n, status in enumerate(("active", "planning", "on_hold"))
    ]
    tasks = [task(name=f"Task of {p.name}", project_id=p.id) for p in projects]
    world = snapshot(*tasks, projects=tuple(projects))
    assert ranked(world) == ["Task of active", "Task of planning", "Task of on_hold"]


def test_slack_counts_the_work_it_waits_for() -> None:
    due = due_at(NOW + timedelta(days=2))
    alone = rated("URGENCY", task(estimated_minutes=60, **due))
    waiting = rated(
        "URGENCY", task(estimated_minutes=60, open_dependency_ids=(OPEN,), waited_minutes=600, **due)
    )
    assert waiting.score > alone.score
    assert (
        waiting.reason
        == "Due in 2 days: 16 h of work time left for 11 h of work, 10 h of it in what it waits for"
    )
    blocked = rated(
        "URGENCY", task(estimated_minutes=60, open_dependency_ids=(OPEN,), waited_minutes=1020, **due)
    )
    assert blocked.reason.endswith("it cannot be met (2 h short)")
