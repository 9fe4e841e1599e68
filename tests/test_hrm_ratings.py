"""What each scoring rule reads of a task, on generated facts: the grounds on which the scoring job rescores
only what a change can move (aurum.hrm.ratings). A project's rules rate every task of the project alike, a
pillar's rules every task below the pillar alike, and the other rules read the task's own facts alone."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from aurum.hrm.facts import AreaFacts, PillarEffort, PillarFacts, ProjectFacts, Snapshot, TaskFacts
from aurum.hrm.preferences import ENERGY_PATTERNS, Preferences
from aurum.hrm.ratings import context_key, pillar_keys, project_key, ratings_key
from aurum.hrm.rules import EVALUATORS, PILLAR_RULES, PROJECT_RULES, RuleDef

NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
RULES = {code: RuleDef(code, code.title(), 0.5, {}) for code in EVALUATORS}
TASK_RULES = frozenset(EVALUATORS) - PROJECT_RULES - PILLAR_RULES
ids = st.integers(1, 4).map(lambda n: uuid.UUID(int=n))
moments = st.integers(-90 * 24, 24).map(lambda hours: NOW + timedelta(hours=hours))
names = st.sampled_from(["Health", "Work", "Run a 10k", "Read"])


@st.composite
def worlds(draw: st.DrawFn) -> Snapshot:
    """A person's hierarchy (pillars 1–4, areas 11–14, projects 21–24) with recent effort and some tasks."""
    pillars = {
        uuid.UUID(int=n): PillarFacts(
            uuid.UUID(int=n),
            draw(names),
            draw(st.one_of(st.none(), st.integers(0, 100))),
            draw(st.sampled_from([None, "", "Strong", "Move every day and sleep well"])),
        )
        for n in range(1, draw(st.integers(1, 4)) + 1)
    }
    areas = {
        uuid.UUID(int=10 + n): AreaFacts(
            uuid.UUID(int=10 + n),
            draw(st.sampled_from(sorted(pillars))),
            draw(names),
            draw(st.integers(1, 5)),
        )
        for n in range(1, draw(st.integers(1, 4)) + 1)
    }
    projects = {}
    for n in range(1, draw(st.integers(1, 4)) + 1):
        total = draw(st.integers(0, 30))
        projects[uuid.UUID(int=20 + n)] = ProjectFacts(
            uuid.UUID(int=20 + n),
            draw(st.sampled_from(sorted(areas))),
            draw(names),
            draw(st.sampled_from(["planning", "active", "on_hold"])),
            "medium",
            draw(st.integers(1, 5)),
            None,
            draw(moments),
            total,
            draw(st.integers(0, total)),
            draw(st.one_of(st.none(), moments)),
        )
    effort = {
        p: PillarEffort(p, draw(st.integers(0, 9)), draw(st.integers(0, 600)))
        for p in pillars
        if draw(st.booleans())
    }
    preferences = Preferences(energy_pattern=draw(st.sampled_from(ENERGY_PATTERNS)))
    zone = ZoneInfo(draw(st.sampled_from(["UTC", "Asia/Kolkata", "America/Los_Angeles"])))
    world = Snapshot(NOW, zone, preferences, pillars, areas, projects, effort=effort)
    tasks = [draw(tasks_of(sorted(projects))) for _ in range(draw(st.integers(2, 6)))]
    return replace(world, tasks={t.id: t for t in tasks})


def tasks_of(projects: list[uuid.UUID]) -> st.SearchStrategy[TaskFacts]:
    return st.builds(
        TaskFacts,
        id=st.uuids(),
        project_id=st.sampled_from(projects),
        name=names,
        status=st.sampled_from(["todo", "in_progress", "review"]),
        priority=st.sampled_from(["low", "medium", "high", "urgent"]),
        created_at=moments,
        due_date=st.one_of(
            st.none(), st.integers(-10, 20).map(lambda d: date(2026, 3, 11) + timedelta(days=d))
        ),
        estimated_minutes=st.one_of(st.none(), st.integers(1, 600)),
        energy=st.sampled_from([None, "low", "medium", "high"]),
        dependency_ids=st.lists(st.uuids(), max_size=2).map(tuple),
        feedback=st.sampled_from([None, "CORRECT", "TOO_HIGH", "TOO_LOW"]),
    ).map(lambda t: replace(t, open_dependency_ids=t.dependency_ids[: len(t.dependency_ids) // 2 + 1]))


def ratings(world: Snapshot, subject: TaskFacts, codes: frozenset[str]) -> dict[str, Any]:
    return {code: EVALUATORS[code](world, subject, RULES[code].config) for code in codes}


def pillar_of(world: Snapshot, subject: TaskFacts) -> uuid.UUID:
    found = world.pillar_of(subject)
    assert found is not None
    return found.id


@given(worlds())
def test_a_projects_rules_rate_all_its_tasks_alike_as_its_key_says(world: Snapshot) -> None:
    for subject in world.tasks.values():
        same = [t for t in world.tasks.values() if t.project_id == subject.project_id]
        assert all(ratings(world, t, PROJECT_RULES) == ratings(world, subject, PROJECT_RULES) for t in same)
        assert ratings_key(world, subject, RULES, PROJECT_RULES) == project_key(
            world, subject.project_id, RULES
        )


@given(worlds())
def test_a_pillars_rules_rate_every_task_below_it_alike_as_its_key_says(world: Snapshot) -> None:
    keys = pillar_keys(world, RULES)
    assert set(keys) == set(world.pillars)
    for subject in world.tasks.values():
        below = [t for t in world.tasks.values() if pillar_of(world, t) == pillar_of(world, subject)]
        assert all(ratings(world, t, PILLAR_RULES) == ratings(world, subject, PILLAR_RULES) for t in below)
        assert ratings_key(world, subject, RULES, PILLAR_RULES) == keys[pillar_of(world, subject)]


@given(worlds(), worlds())
def test_the_other_rules_read_nothing_of_the_hierarchy(world: Snapshot, elsewhere: Snapshot) -> None:
    """The task rules rate a task the same in any hierarchy, with any effort, whatever the other tasks."""
    other = replace(elsewhere, now=world.now, zone=world.zone, preferences=world.preferences)
    for subject in world.tasks.values():
        assert ratings(world, subject, TASK_RULES) == ratings(other, subject, TASK_RULES)


def with_weight(rules: Mapping[str, RuleDef], code: str, weight: float) -> dict[str, RuleDef]:
    return {**rules, code: replace(rules[code], weight=weight)}


def test_the_context_key_changes_with_what_every_score_reads() -> None:
    base = context_key(RULES, Preferences(), ZoneInfo("UTC"))
    assert base == context_key(dict(RULES), Preferences(ai_enabled=True), ZoneInfo("UTC"))
    assert base != context_key(with_weight(RULES, "URGENCY", 0.51), Preferences(), ZoneInfo("UTC"))
    configured = {**RULES, "URGENCY": replace(RULES["URGENCY"], config={"overdue": 0.9})}
    assert base != context_key(configured, Preferences(), ZoneInfo("UTC"))
    assert base != context_key(RULES, Preferences(energy_pattern="steady"), ZoneInfo("UTC"))
    assert base != context_key(RULES, Preferences(), ZoneInfo("Asia/Kolkata"))
