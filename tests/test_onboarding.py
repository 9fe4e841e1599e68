"""Onboarding templates: ``onboardingApply`` makes a first hierarchy once, whatever is retried."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from aurum.notification.scheduler import scan_notifications
from aurum.onboarding.service import row_id
from aurum.onboarding.templates import TEMPLATES, Template
from aurum.resources import Resources
from tests.conftest import register
from tests.hierarchy import act, make_pillar, problems
from tests.support import GraphQLClient, StatementCounter, uuid_of

APPLIED = "created pillars { id name timeAllocation sortOrder } user { id onboardingCompleted }"

TREE = """{
  viewer { onboardingCompleted }
  pillars(first: 20) { totalCount nodes { id name icon color timeAllocation visionStatement sortOrder
    areas(first: 10) { totalCount nodes { name icon color importance
      projects(first: 10) { totalCount nodes { name status priority importance deadline
        tasks(first: 10) { totalCount
          nodes { name priority dueDate estimatedMinutes energy category status } }
  } } } } } }
  areas(first: 100) { totalCount }
  projects(first: 100) { totalCount }
  tasks(first: 100) { totalCount nodes { id } }
}"""

DESIGNED = {
    "STUDENT": ["Academics", "Well-being", "Finances"],
    "ENTREPRENEUR": ["Business Development", "Product", "Personal Life"],
    "BUSY_EMPLOYEE": ["Career", "Health & Wellness", "Relationships"],
}


async def apply(client: GraphQLClient, template: str) -> dict[str, Any]:
    return await client.mutate("onboardingApply", {"template": template}, APPLIED)


async def counts(client: GraphQLClient) -> tuple[int, int, int, int]:
    data = await client.ok(TREE)
    return (
        data["pillars"]["totalCount"],
        data["areas"]["totalCount"],
        data["projects"]["totalCount"],
        data["tasks"]["totalCount"],
    )


def today_in(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


@pytest.mark.parametrize("template", ["STUDENT", "ENTREPRENEUR", "BUSY_EMPLOYEE"])
async def test_each_template_makes_its_hierarchy_and_finishes_onboarding(
    alice: GraphQLClient, template: str
) -> None:
    before = await alice.ok("{ viewer { onboardingCompleted } }")
    assert before["viewer"]["onboardingCompleted"] is False

    payload = await apply(alice, template)

    assert payload["userErrors"] == []
    assert payload["created"] is True
    assert payload["user"]["onboardingCompleted"] is True
    assert [p["name"] for p in payload["pillars"]] == DESIGNED[template]
    assert sum(p["timeAllocation"] for p in payload["pillars"]) == 100
    data = await alice.ok(TREE)
    assert data["viewer"]["onboardingCompleted"] is True
    assert await counts(alice) == (3, 9, 9, 27)
    specs = TEMPLATES[Template[template]]
    pillars = data["pillars"]["nodes"]
    assert [p["name"] for p in pillars] == DESIGNED[template]
    assert [p["sortOrder"] for p in pillars] == [0, 1, 2]
    for pillar, spec in zip(pillars, specs, strict=True):
        assert pillar["icon"]
        assert pillar["color"]
        assert pillar["visionStatement"]
        assert pillar["timeAllocation"] == spec.time_allocation > 0
        assert pillar["areas"]["totalCount"] == 3
        assert [a["name"] for a in pillar["areas"]["nodes"]] == [a.name for a in spec.areas]
        for area, area_spec in zip(pillar["areas"]["nodes"], spec.areas, strict=True):
            assert 1 <= area["importance"] <= 5
            assert area["icon"]
            assert area["color"] == pillar["color"]
            assert area["projects"]["totalCount"] == 1
            project = area["projects"]["nodes"][0]
            assert project["name"] == area_spec.project.name
            assert project["status"] == area_spec.project.status.upper()
            assert project["tasks"]["totalCount"] == 3
            for task, task_spec in zip(project["tasks"]["nodes"], area_spec.project.tasks, strict=True):
                assert task["name"] == task_spec.name
                assert task["status"] == "TODO"
                assert task["priority"] == task_spec.priority.upper()
                assert task["energy"] == task_spec.energy.upper()
                assert task["category"] == task_spec.category.upper()
                assert task["estimatedMinutes"] == task_spec.minutes > 0
    importances = {a["importance"] for p in pillars for a in p["areas"]["nodes"]}
    assert len(importances) > 1, "areas of a template differ in importance"
    due = [
        t["dueDate"]
        for p in pillars
        for a in p["areas"]["nodes"]
        for t in a["projects"]["nodes"][0]["tasks"]["nodes"]
    ]
    assert 0 < sum(d is not None for d in due) < len(due), "a few tasks have due dates, not all"


async def test_due_dates_and_deadlines_count_from_today_in_the_users_time_zone(
    http: httpx.AsyncClient,
) -> None:
    # 25 hours apart: at any moment their dates differ, and at least one differs from UTC's.
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        client = await register(http, timezone=zone)
        earliest = today_in(zone)
        assert (await apply(client, "BUSY_EMPLOYEE"))["userErrors"] == []
        latest = today_in(zone)
        data = await client.ok(TREE)
        for pillar, spec in zip(data["pillars"]["nodes"], TEMPLATES[Template.BUSY_EMPLOYEE], strict=True):
            for area, area_spec in zip(pillar["areas"]["nodes"], spec.areas, strict=True):
                project = area["projects"]["nodes"][0]
                if area_spec.project.deadline is not None:
                    deadline = date.fromisoformat(project["deadline"])
                    assert deadline - timedelta(days=area_spec.project.deadline) in (earliest, latest)
                else:
                    assert project["deadline"] is None
                for task, task_spec in zip(project["tasks"]["nodes"], area_spec.project.tasks, strict=True):
                    if task_spec.due is None:
                        assert task["dueDate"] is None
                    else:
                        due = date.fromisoformat(task["dueDate"])
                        assert due - timedelta(days=task_spec.due) in (earliest, latest), (zone, task)


async def test_applying_again_makes_nothing_twice(alice: GraphQLClient) -> None:
    first = await apply(alice, "STUDENT")
    tasks_before = (await alice.ok(TREE))["tasks"]["nodes"]

    again = await apply(alice, "STUDENT")

    assert again["userErrors"] == []
    assert again["created"] is False
    assert again["pillars"] == first["pillars"]
    assert again["user"]["onboardingCompleted"] is True
    assert await counts(alice) == (3, 9, 9, 27)
    assert (await alice.ok(TREE))["tasks"]["nodes"] == tasks_before


async def test_a_repeat_does_not_bring_back_what_was_deleted(alice: GraphQLClient) -> None:
    first = await apply(alice, "ENTREPRENEUR")
    product = first["pillars"][1]
    deleted = await act(alice, "pillarDelete", {"id": product["id"]}, "deletedId")
    assert deleted["userErrors"] == []

    again = await apply(alice, "ENTREPRENEUR")

    assert again["userErrors"] == []
    assert again["created"] is False
    assert [p["name"] for p in again["pillars"]] == ["Business Development", "Personal Life"]
    assert await counts(alice) == (2, 6, 6, 18)


async def test_applications_at_the_same_moment_make_one_hierarchy(alice: GraphQLClient) -> None:
    results = await asyncio.gather(*(apply(alice, "BUSY_EMPLOYEE") for _ in range(4)))

    assert all(r["userErrors"] == [] for r in results), results
    assert sorted(r["created"] for r in results) == [False, False, False, True]
    assert all(r["pillars"] == results[0]["pillars"] for r in results)
    assert await counts(alice) == (3, 9, 9, 27)


async def test_another_template_after_onboarding_is_refused(alice: GraphQLClient) -> None:
    assert (await apply(alice, "STUDENT"))["userErrors"] == []

    other = await apply(alice, "ENTREPRENEUR")

    assert problems(other) == [(("input", "template"), "CONFLICT")]
    assert "already done" in other["userErrors"][0]["message"]
    assert other["pillars"] == []
    assert other["user"] is None
    assert other["created"] is False
    assert await counts(alice) == (3, 9, 9, 27)
    names = [p["name"] for p in (await alice.ok(TREE))["pillars"]["nodes"]]
    assert names == DESIGNED["STUDENT"]


async def test_different_templates_at_the_same_moment_apply_one(alice: GraphQLClient) -> None:
    results = await asyncio.gather(apply(alice, "STUDENT"), apply(alice, "ENTREPRENEUR"))

    applied = [r for r in results if r["userErrors"] == []]
    refused = [r for r in results if r["userErrors"]]
    assert len(applied) == 1, results
    assert len(refused) == 1, results
    assert problems(refused[0]) == [(("input", "template"), "CONFLICT")]
    assert await counts(alice) == (3, 9, 9, 27)
    names = [p["name"] for p in (await alice.ok(TREE))["pillars"]["nodes"]]
    assert names == [p["name"] for p in applied[0]["pillars"]]


async def test_template_pillars_follow_the_ones_already_made(alice: GraphQLClient) -> None:
    await make_pillar(alice, name="Side project", sortOrder=4)

    payload = await apply(alice, "STUDENT")

    assert [p["sortOrder"] for p in payload["pillars"]] == [5, 6, 7]
    assert await counts(alice) == (4, 9, 9, 27)


async def test_the_tasks_show_in_lists_and_progress(alice: GraphQLClient) -> None:
    payload = await apply(alice, "STUDENT")
    academics = payload["pillars"][0]["id"]
    data = await alice.ok(
        "query($p: ID!) { tasks(first: 100, filter: {pillarId: $p}) { totalCount nodes { id name } } }",
        {"p": academics},
    )
    assert data["tasks"]["totalCount"] == 9
    first_task = data["tasks"]["nodes"][0]["id"]
    done = await act(alice, "taskComplete", {"id": first_task}, "task { status }", "TaskStatusInput")
    assert done["userErrors"] == []

    progress = await alice.ok(
        "query($p: ID!) { node(id: $p) { ... on Pillar { progress { totalTasks completedTasks } } } }",
        {"p": academics},
    )
    assert progress["node"]["progress"] == {"totalTasks": 9, "completedTasks": 1}
    overdue = await alice.ok("{ tasks(filter: {overdue: true}) { totalCount } }")
    assert overdue["tasks"]["totalCount"] == 0


async def test_nothing_is_kept_when_one_row_cannot_be_made(
    http: httpx.AsyncClient, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    # Bob holds an id that Alice's template needs (only possible here, where the test knows her user id).
    taken = row_id(uuid_of(alice.user_id), Template.STUDENT, "p2/a2/j/t2")
    pillar = await make_pillar(bob)
    area = (await bob.mutate("areaCreate", {"pillarId": pillar, "name": "Bob's"}, "area { id }"))["area"][
        "id"
    ]
    project = (await bob.mutate("projectCreate", {"areaId": area, "name": "Bob's"}, "project { id }"))[
        "project"
    ]
    made = await bob.mutate(
        "taskCreate", {"projectId": project["id"], "id": str(taken), "name": "x"}, "task { id }"
    )
    assert made["userErrors"] == []

    payload = await apply(alice, "STUDENT")

    assert [e["code"] for e in payload["userErrors"]] == ["CONFLICT"]
    assert await counts(alice) == (0, 0, 0, 0)
    assert (await alice.ok("{ viewer { onboardingCompleted } }"))["viewer"]["onboardingCompleted"] is False


async def test_statements_stay_bounded(alice: GraphQLClient, statements: StatementCounter) -> None:
    statements.reset()
    assert (await apply(alice, "ENTREPRENEUR"))["userErrors"] == []
    rows = 3 + 9 + 9 + 27
    assert statements.count <= 2 * rows + 10, statements.statements
    statements.reset()
    assert (await apply(alice, "ENTREPRENEUR"))["created"] is False
    assert statements.count <= 6, statements.statements


async def test_signed_out_callers_are_refused(anonymous: GraphQLClient) -> None:
    codes = await anonymous.error_codes(
        "mutation { onboardingApply(input: {template: STUDENT}) { created userErrors { code } } }"
    )
    assert codes == ["UNAUTHENTICATED"]


async def test_notifications_about_template_tasks_name_their_due_day(
    resources: Resources, http: httpx.AsyncClient
) -> None:
    client = await register(http, timezone="Pacific/Auckland")
    assert (await apply(client, "STUDENT"))["userErrors"] == []
    data = await client.ok("{ tasks(first: 100) { nodes { id name dueDate } } }")
    due = [task for task in data["tasks"]["nodes"] if task["dueDate"] is not None]
    assert due
    last = max(date.fromisoformat(task["dueDate"]) for task in due)
    after = datetime.combine(
        last + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo("Pacific/Auckland")
    )
    await scan_notifications({"resources": resources}, now=after)  # every one of them is overdue by then
    listed = await client.ok(
        "{ notifications(first: 100, filter: {types: [TASK_OVERDUE]}) { nodes { body } } }"
    )
    bodies = {n["body"] for n in listed["notifications"]["nodes"]}
    for task in due:
        day = date.fromisoformat(task["dueDate"])
        assert f'"{task["name"]}" was due on {day.day} {day:%b} {day.year}.' in bodies, (task, bodies)
