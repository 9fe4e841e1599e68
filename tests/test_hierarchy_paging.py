"""Relay pagination of the hierarchy's lists through GraphQL over HTTP: forward and backward walks, page info,
orderings by due date, priority and score, nested pages per parent (a project's top-level tasks; archiving
above hides as at the top) and refused page arguments."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.hierarchy import STATUS, act, chain, make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, scores_settled

PAGE = (
    "totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
)


async def pillars_page(client: GraphQLClient, **args: Any) -> dict[str, Any]:
    data = await client.ok(
        "query($first: Int, $after: String, $last: Int, $before: String) {"
        f" pillars(first: $first, after: $after, last: $last, before: $before) {{ {PAGE} }} }}",
        args,
    )
    page: dict[str, Any] = data["pillars"]
    return page


def ids(page: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


async def test_first_after_walks_every_page_once(alice: GraphQLClient) -> None:
    created = [await make_pillar(alice, name=f"P{i}", sortOrder=i) for i in range(7)]
    seen: list[str] = []
    flags: list[tuple[bool, bool]] = []
    after = None
    while True:
        page = await pillars_page(alice, first=3, after=after)
        assert page["totalCount"] == 7
        seen += ids(page)
        info = page["pageInfo"]
        flags.append((info["hasPreviousPage"], info["hasNextPage"]))
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == created
    assert flags == [(False, True), (True, True), (True, False)]


async def test_last_before_walks_backwards(alice: GraphQLClient) -> None:
    created = [await make_pillar(alice, name=f"P{i}", sortOrder=i) for i in range(5)]
    page = await pillars_page(alice, last=2)
    assert ids(page) == created[3:]
    assert (page["pageInfo"]["hasPreviousPage"], page["pageInfo"]["hasNextPage"]) == (True, False)
    page = await pillars_page(alice, last=2, before=page["pageInfo"]["startCursor"])
    assert ids(page) == created[1:3]
    assert (page["pageInfo"]["hasPreviousPage"], page["pageInfo"]["hasNextPage"]) == (True, True)
    page = await pillars_page(alice, last=2, before=page["pageInfo"]["startCursor"])
    assert ids(page) == created[:1]
    assert (page["pageInfo"]["hasPreviousPage"], page["pageInfo"]["hasNextPage"]) == (False, True)
    middle = await pillars_page(alice, first=10, after=page["edges"][0]["cursor"], before=None)
    assert ids(middle) == created[1:]


async def test_empty_list_has_an_empty_page(alice: GraphQLClient) -> None:
    page = await pillars_page(alice, first=5)
    assert page == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None},
    }


async def tasks_in_order(
    client: GraphQLClient, order: str, first: int = 50, after: str | None = None
) -> dict[str, Any]:
    data = await client.ok(
        "query($first: Int, $after: String) {"
        f" tasks(first: $first, after: $after, orderBy: {order}) {{ {PAGE} }} }}",
        {"first": first, "after": after},
    )
    page: dict[str, Any] = data["tasks"]
    return page


async def test_order_by_due_date_puts_tasks_without_one_last(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    day = date(2030, 3, 10)
    none = await make_task(alice, project, "none")
    later = await make_task(alice, project, "later", dueDate=str(day + timedelta(days=2)))
    end_of_day = await make_task(alice, project, "end of day", dueDate=str(day))
    morning = await make_task(alice, project, "morning", dueDate=str(day), dueTime="09:00")
    none_too = await make_task(alice, project, "none too")
    page = await tasks_in_order(alice, "{field: DUE_DATE}")
    assert ids(page)[:3] == [morning, end_of_day, later]
    assert set(ids(page)[3:]) == {none, none_too}
    walked: list[str] = []
    after = None
    for _ in range(5):  # two at a time, through the null due dates as well
        part = await tasks_in_order(alice, "{field: DUE_DATE}", first=2, after=after)
        walked += ids(part)
        if not part["pageInfo"]["hasNextPage"]:
            break
        after = part["pageInfo"]["endCursor"]
    assert walked == ids(page)


async def test_order_by_priority_descending(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    made = {p: await make_task(alice, project, p, priority=p) for p in ("MEDIUM", "URGENT", "LOW", "HIGH")}
    page = await tasks_in_order(alice, "{field: PRIORITY, direction: DESC}")
    assert ids(page) == [made["URGENT"], made["HIGH"], made["MEDIUM"], made["LOW"]]
    first = await tasks_in_order(alice, "{field: PRIORITY, direction: DESC}", first=2)
    rest = await tasks_in_order(
        alice, "{field: PRIORITY, direction: DESC}", first=2, after=first["pageInfo"]["endCursor"]
    )
    assert ids(first) + ids(rest) == ids(page)


async def walk(client: GraphQLClient, order: str, first: int) -> list[str]:
    """Every task of the list, ``first`` at a time."""
    walked: list[str] = []
    after = None
    while True:
        part = await tasks_in_order(client, order, first=first, after=after)
        walked += ids(part)
        if not part["pageInfo"]["hasNextPage"]:
            return walked
        after = part["pageInfo"]["endCursor"]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_order_by_score_puts_closed_tasks_last_both_ways(
    alice: GraphQLClient, owner: AsyncEngine, direction: str
) -> None:
    *_, project = await chain(alice)
    done = [await make_task(alice, project, f"done {i}", priority="URGENT") for i in range(2)]
    made = {p: await make_task(alice, project, p, priority=p) for p in ("MEDIUM", "URGENT", "LOW")}
    for task in done:
        await act(alice, "taskComplete", {"id": task}, "task { id }", STATUS)
    await scores_settled(owner, alice.user_id)  # lists are ordered by the stored scores
    order = f"{{field: SCORE, direction: {direction}}}"
    page = await tasks_in_order(alice, order)
    scored = [made["LOW"], made["MEDIUM"], made["URGENT"]]
    assert ids(page)[:3] == (scored if direction == "ASC" else scored[::-1])
    assert set(ids(page)[3:]) == set(done)
    for first in (1, 2):
        assert await walk(alice, order, first) == ids(page), first


async def test_a_projects_tasks_are_its_top_level_tasks(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent = await make_task(alice, project, "parent")
    child = await make_task(alice, project, "child", parentId=parent)
    await make_task(alice, project, "grandchild", parentId=child)
    query = (
        "query($p: ID!) { node(id: $p) { ... on Project { top: tasks { totalCount nodes { id } }"
        " below: tasks(filter: {topLevel: false}) { totalCount }"
        " under: tasks(filter: {parentId: $c}) { nodes { id } } } } }"
    )
    data = (await alice.ok(query.replace("$p: ID!", "$p: ID!, $c: ID"), {"p": project, "c": parent}))["node"]
    assert data["top"] == {"totalCount": 1, "nodes": [{"id": parent}]}
    assert data["below"] == {"totalCount": 2}
    assert data["under"] == {"nodes": [{"id": child}]}
    assert (await alice.ok("{ tasks { totalCount } }"))["tasks"]["totalCount"] == 3


async def test_nested_lists_leave_out_what_is_archived_above_by_default(alice: GraphQLClient) -> None:
    pillar = await make_pillar(alice)
    area = await make_area(alice, pillar)
    project = await make_project(alice, area)
    task = await make_task(alice, project, "parent")
    await make_task(alice, project, "child", parentId=task)
    await act(alice, "pillarArchive", {"id": pillar}, "pillar { id }")
    nested = {
        pillar: "... on Pillar { list: areas(filter: {archived: $archived}) { totalCount } }",
        area: "... on Area { list: projects(filter: {archived: $archived}) { totalCount } }",
        project: "... on Project { list: tasks(filter: {archived: $archived}) { totalCount } }",
        task: "... on Task { list: subtasks(filter: {archived: $archived}) { totalCount } }",
    }
    for parent, selection in nested.items():
        query = f"query($id: ID!, $archived: Boolean) {{ node(id: $id) {{ {selection} }} }}"
        for archived, expected in ((False, 0), (True, 1), (None, 1)):
            data = await alice.ok(query, {"id": parent, "archived": archived})
            assert data["node"]["list"]["totalCount"] == expected, (selection, archived)
        default = "query($id: ID!) { node(id: $id) { " + selection.replace(
            "(filter: {archived: $archived})", ""
        )
        assert (await alice.ok(default + " } }", {"id": parent}))["node"]["list"]["totalCount"] == 0, (
            selection
        )


@pytest.mark.parametrize(
    "args",
    ["first: 0", "first: 101", "last: 0", "last: 101", 'after: "garbage!"', 'before: "bm90IGEgY3Vyc29y"'],
)
async def test_bad_page_arguments_are_graphql_errors(alice: GraphQLClient, args: str) -> None:
    pillar, *_ = await chain(alice)
    assert await alice.error_codes(f"{{ pillars({args}) {{ totalCount }} }}") == ["BAD_USER_INPUT"]
    assert await alice.error_codes(f"{{ tasks({args}) {{ totalCount }} }}") == ["BAD_USER_INPUT"]
    query = "query($id: ID!) { node(id: $id) { ... on Pillar { areas(" + args + ") { totalCount } } } }"
    assert await alice.error_codes(query, {"id": pillar}) == ["BAD_USER_INPUT"]


async def test_a_cursor_of_another_ordering_is_refused(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    await make_task(alice, project)
    cursor = (await tasks_in_order(alice, "{field: PRIORITY}"))["pageInfo"]["endCursor"]
    query = "query($after: String) { tasks(after: $after, orderBy: {field: DUE_DATE}) { totalCount } }"
    assert await alice.error_codes(query, {"after": cursor}) == ["BAD_USER_INPUT"]


async def test_nested_lists_are_paged_per_parent_in_one_query(alice: GraphQLClient) -> None:
    _, area, first_project = await chain(alice)
    second_project = await make_project(alice, area, name="second")
    made = {
        p: [await make_task(alice, p, f"t{i}", sortOrder=i) for i in range(3)]
        for p in (first_project, second_project)
    }
    query = (
        "query($after: String) { projects(orderBy: {field: CREATED_AT}) { nodes { id"
        " tasks(first: 2, after: $after) { totalCount edges { cursor node { id } }"
        " pageInfo { hasNextPage } } } } }"
    )
    projects = (await alice.ok(query))["projects"]["nodes"]
    for project in projects:
        tasks = project["tasks"]
        assert ids(tasks) == made[project["id"]][:2]
        assert tasks["totalCount"] == 3
        assert tasks["pageInfo"]["hasNextPage"]
    cursor = projects[0]["tasks"]["edges"][-1]["cursor"]
    rest = (await alice.ok(query, {"after": cursor}))["projects"]["nodes"][0]["tasks"]
    assert ids(rest) == made[first_project][2:]
    assert not rest["pageInfo"]["hasNextPage"]
