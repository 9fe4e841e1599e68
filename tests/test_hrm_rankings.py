"""Ranking scenarios through GraphQL, table-driven (issue 12, point 1): in each, tasks made through the API in
a fresh account, and which must score above which. They cover effort against slack, lateness, continuous
urgency, what a task unblocks, dependencies' effort, project status, priority, alignment and momentum. None
depends on the hour it runs at (no due today, no energy peak)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.hierarchy import make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient

SCORE = "query($id: ID!) { node(id: $id) { ... on Task { score { value } } } }"


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


@dataclass(frozen=True)
class T:
    """A task of a scenario: its name, its fields, the project it goes in and what it waits for."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    project: str = "main"
    waits_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    tasks: tuple[T, ...]
    above: tuple[tuple[str, str], ...]  # (higher, lower)
    projects: dict[str, dict[str, Any]] = field(default_factory=lambda: {"main": {"status": "ACTIVE"}})
    areas: dict[str, int] = field(default_factory=dict)  # project -> its own area's importance


SCENARIOS: dict[str, Scenario] = {
    "overdue longer ranks higher (30 days over 1)": Scenario(
        (T("late a month", {"dueDate": day(-30)}), T("late a day", {"dueDate": day(-1)})),
        (("late a month", "late a day"),),
    ),
    "overdue a week over a day": Scenario(
        (T("a week", {"dueDate": day(-7)}), T("a day", {"dueDate": day(-1)})), (("a week", "a day"),)
    ),
    "overdue over due tomorrow": Scenario(
        (T("late", {"dueDate": day(-1)}), T("tomorrow", {"dueDate": day(1)})), (("late", "tomorrow"),)
    ),
    "due in 7 days is not due in 30": Scenario(
        (T("week", {"dueDate": day(7)}), T("month", {"dueDate": day(30)})), (("week", "month"),)
    ),
    "due tomorrow over due in 3 days": Scenario(
        (T("tomorrow", {"dueDate": day(1)}), T("three", {"dueDate": day(3)})), (("tomorrow", "three"),)
    ),
    "due in 1 day over 8, same effort": Scenario(  # a week apart: never the same work time left
        (
            T("one", {"dueDate": day(1), "estimatedMinutes": 60}),
            T("eight", {"dueDate": day(8), "estimatedMinutes": 60}),
        ),
        (("one", "eight"),),
    ),
    "due in 90 days over no due date": Scenario(
        (T("far", {"dueDate": day(90)}), T("undated")), (("far", "undated"),)
    ),
    "an 8-hour report over a 10-minute check, same due": Scenario(
        (
            T("report", {"dueDate": day(3), "estimatedMinutes": 480}),
            T("check", {"dueDate": day(3), "estimatedMinutes": 10}),
        ),
        (("report", "check"),),
    ),
    "a due that cannot be met over one with room, same day": Scenario(
        (
            T("too big", {"dueDate": day(2), "estimatedMinutes": 3000}),
            T("small", {"dueDate": day(2), "estimatedMinutes": 30}),
        ),
        (("too big", "small"),),
    ),
    "a deep-work task by its kind's length over a quick email, same due": Scenario(
        (
            T("deep", {"dueDate": day(2), "category": "DEEP_WORK"}),
            T("email", {"dueDate": day(2), "category": "COMMUNICATION"}),
        ),
        (("deep", "email"),),
    ),
    "urgent over high": Scenario(
        (T("urgent", {"priority": "URGENT"}), T("high", {"priority": "HIGH"})), (("urgent", "high"),)
    ),
    "high over medium": Scenario(
        (T("high", {"priority": "HIGH"}), T("medium", {"priority": "MEDIUM"})), (("high", "medium"),)
    ),
    "medium over low": Scenario(
        (T("medium", {"priority": "MEDIUM"}), T("low", {"priority": "LOW"})), (("medium", "low"),)
    ),
    "an urgent 5-hour deck due in 6 days over a low 10-minute lesson due tomorrow": Scenario(
        (
            T("deck", {"priority": "URGENT", "dueDate": day(6), "estimatedMinutes": 300}),
            T("lesson", {"priority": "LOW", "dueDate": day(1), "estimatedMinutes": 10}),
        ),
        (("deck", "lesson"),),
    ),
    "a task others wait for over the same task alone": Scenario(
        (T("feature"), T("alone"), T("qa", waits_for=("feature",)), T("release", waits_for=("feature",))),
        (("feature", "alone"),),
    ),
    "a 12-hour feature QA and the release wait for over a walk": Scenario(
        (
            T("feature", {"estimatedMinutes": 720, "priority": "HIGH"}),
            T("walk", {"estimatedMinutes": 30}),
            T("qa", {"priority": "HIGH"}, waits_for=("feature",)),
            T("release", {"priority": "URGENT", "dueDate": day(5)}, waits_for=("feature",)),
        ),
        (("feature", "walk"),),
    ),
    "two waiting over one": Scenario(
        (
            T("two"),
            T("one"),
            T("a", waits_for=("two",)),
            T("b", waits_for=("two",)),
            T("c", waits_for=("one",)),
        ),
        (("two", "one"),),
    ),
    "an urgent dependent lifts more than a low one": Scenario(
        (
            T("for urgent"),
            T("for low"),
            T("urgent", {"priority": "URGENT"}, waits_for=("for urgent",)),
            T("low", {"priority": "LOW"}, waits_for=("for low",)),
        ),
        (("for urgent", "for low"),),
    ),
    "a dependent due this week lifts more than one due next month": Scenario(
        (
            T("for soon"),
            T("for later"),
            T("soon", {"dueDate": day(4)}, waits_for=("for soon",)),
            T("later", {"dueDate": day(40)}, waits_for=("for later",)),
        ),
        (("for soon", "for later"),),
    ),
    "a task free to start over the same task waiting": Scenario(
        (T("free"), T("blocker", {"priority": "LOW"}), T("waiting", waits_for=("blocker",))),
        (("free", "waiting"),),
    ),
    "what it waits for counts in its slack": Scenario(
        (
            T("big first", {"estimatedMinutes": 600}),
            T("after big", {"dueDate": day(3), "estimatedMinutes": 60}, waits_for=("big first",)),
            T("small first", {"estimatedMinutes": 10}),
            T("after small", {"dueDate": day(3), "estimatedMinutes": 60}, waits_for=("small first",)),
        ),
        (("after big", "after small"),),
    ),
    "active over planning": Scenario(
        (T("active"), T("planning", project="planning")),
        (("active", "planning"),),
        projects={"main": {"status": "ACTIVE"}, "planning": {"status": "PLANNING"}},
    ),
    "planning over on hold": Scenario(
        (T("planning", project="planning"), T("on hold", project="held")),
        (("planning", "on hold"),),
        projects={"planning": {"status": "PLANNING"}, "held": {"status": "ON_HOLD"}},
    ),
    "the same task on hold below under way": Scenario(
        (T("under way"), T("held", project="held")),
        (("under way", "held"),),
        projects={"main": {"status": "ACTIVE"}, "held": {"status": "ON_HOLD"}},
    ),
    "a more important area over a less important one": Scenario(
        (T("important", project="main"), T("minor", project="minor")),
        (("important", "minor"),),
        projects={"main": {"status": "ACTIVE"}, "minor": {"status": "ACTIVE"}},
        areas={"main": 5, "minor": 1},
    ),
    "a more important project over a less important one": Scenario(
        (T("important", project="main"), T("minor", project="minor")),
        (("important", "minor"),),
        projects={
            "main": {"status": "ACTIVE", "importance": 5},
            "minor": {"status": "ACTIVE", "importance": 1},
        },
    ),
    "overdue low over undated urgent": Scenario(
        (T("late low", {"priority": "LOW", "dueDate": day(-3)}), T("undated urgent", {"priority": "URGENT"})),
        (("late low", "undated urgent"),),
    ),
    "with the same due, urgent over low": Scenario(
        (
            T("urgent", {"priority": "URGENT", "dueDate": day(5)}),
            T("low", {"priority": "LOW", "dueDate": day(5)}),
        ),
        (("urgent", "low"),),
    ),
    "a chain: the first step over the last": Scenario(
        (T("first"), T("middle", waits_for=("first",)), T("last", waits_for=("middle",))),
        (("first", "middle"), ("middle", "last")),
    ),
    "a week's work due in 8 days over 5 minutes due in 3 days": Scenario(
        (
            T("big", {"dueDate": day(8), "estimatedMinutes": 2400}),
            T("tiny", {"dueDate": day(3), "estimatedMinutes": 5}),
        ),
        (("big", "tiny"),),
    ),
}


async def build(client: GraphQLClient, scenario: Scenario) -> dict[str, str]:
    pillar = await make_pillar(client, name="Life", timeAllocation=50)
    shared = await make_area(client, pillar, name="Shared")
    projects = {}
    for name, fields in scenario.projects.items():
        area = shared
        if name in scenario.areas:
            area = await make_area(client, pillar, name=f"Area {name}", importance=scenario.areas[name])
        projects[name] = await make_project(client, area, name=f"Project {name}", **fields)
    ids: dict[str, str] = {}
    for task in scenario.tasks:
        waits = [ids[w] for w in task.waits_for]
        extra = {"dependencyIds": waits} if waits else {}
        ids[task.name] = await make_task(client, projects[task.project], task.name, **task.fields, **extra)
    return ids


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_ranking_scenario(alice: GraphQLClient, name: str) -> None:
    scenario = SCENARIOS[name]
    ids = await build(alice, scenario)
    values = {}
    for task, task_id in ids.items():
        values[task] = (await alice.ok(SCORE, {"id": task_id}))["node"]["score"]["value"]
    for higher, lower in scenario.above:
        assert values[higher] > values[lower], (name, values)
