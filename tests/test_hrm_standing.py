"""Analyses that always answer: every explicit analysis of a realistic life, at every scope, says at least
one true thing; when no detector fires it says where the scope stands (what comes next, what blocks it,
whether its deadline holds by the plan), that it waits (on hold), or that nothing needs attention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.hierarchy import make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient
from tests.test_hrm_analysis import analyse


async def a_life(client: GraphQLClient) -> dict[str, str]:
    ids: dict[str, str] = {}
    ids["career"] = await make_pillar(client, name="Career", timeAllocation=50)
    ids["job"] = await make_area(client, ids["career"], name="Job")
    soon = (datetime.now(UTC).date() + timedelta(days=8)).isoformat()
    ids["launch"] = await make_project(client, ids["job"], name="Launch", status="ACTIVE", deadline=soon)
    ids["spec"] = await make_task(client, ids["launch"], "Write the spec", estimatedMinutes=120)
    ids["build"] = await make_task(
        client, ids["launch"], "Build it", estimatedMinutes=600, dependencyIds=[ids["spec"]]
    )
    ids["paused"] = await make_project(client, ids["job"], name="Side project", status="ON_HOLD")
    await make_task(client, ids["paused"], "Sketch", estimatedMinutes=60)
    ids["empty"] = await make_project(client, ids["job"], name="Someday", status="PLANNING")
    ids["home"] = await make_pillar(client, name="Home", timeAllocation=50)
    ids["house"] = await make_area(client, ids["home"], name="House")
    return ids


def titles(run: dict[str, Any]) -> list[str]:
    return [i["title"] for i in run["insights"]]


async def test_every_scope_of_a_life_gets_an_answer(alice: GraphQLClient) -> None:
    ids = await a_life(alice)
    for role in ("career", "job", "launch", "paused", "empty", "spec", "build", "home", "house"):
        run = await analyse(alice, scopeId=ids[role], depth="QUICK")
        assert run["insights"], f"the analysis of {role} said nothing"
        for insight in run["insights"]:
            assert insight["title"], insight
            assert insight["summary"], insight
    run = await analyse(alice, depth="QUICK")
    assert run["insights"]


async def test_what_the_standing_says(alice: GraphQLClient) -> None:
    ids = await a_life(alice)
    launch = await analyse(alice, scopeId=ids["launch"], depth="QUICK")
    [where] = [i for i in launch["insights"] if i["ruleCode"] == "SCOPE_STATUS"]
    assert where["title"] == "Where 'Launch' stands: 2 open tasks"
    assert "Next: 'Write the spec'" in where["summary"]
    assert "Blocked: 'Build it' waits on 'Write the spec'" in where["summary"]
    assert "By the plan, its open work fits before its deadline" in where["summary"]
    assert where["recommendations"][0] == "Start with 'Write the spec'"
    assert where["scopeType"] == "PROJECT"

    paused = await analyse(alice, scopeId=ids["paused"], depth="QUICK")
    assert titles(paused) == ["'Side project' is waiting: nothing in it is under way"]
    assert "1 open task wait in 'Side project' (on hold)" in paused["insights"][0]["summary"]
    assert paused["insights"][0]["recommendations"][0].startswith("Resume 'Side project'")

    empty = await analyse(alice, scopeId=ids["empty"], depth="QUICK")
    assert titles(empty) == ["Nothing in 'Someday' needs attention"]
    assert "Checked overdue work, stalled projects, blocked chains" in empty["insights"][0]["summary"]


async def test_a_deadline_the_plan_cannot_meet_is_said(alice: GraphQLClient) -> None:
    pillar = await make_pillar(alice, name="Study")
    area = await make_area(alice, pillar, name="Exams")
    later = (datetime.now(UTC).date() + timedelta(days=9)).isoformat()  # past this week's load
    project = await make_project(alice, area, name="Thesis", status="ACTIVE", deadline=later)
    await make_task(alice, project, "Write every chapter", estimatedMinutes=6000)
    run = await analyse(alice, scopeId=project, depth="QUICK")
    [where] = run["insights"]
    assert where["ruleCode"] == "SCOPE_STATUS"
    assert "By the plan, 1 of its open tasks do not fit before its deadline" in where["summary"]
    assert "'Write every chapter'" in where["summary"]
