"""Task rules through GraphQL over HTTP: dependencies, subtasks, completion, moves, ordering and being
overdue in the person's time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import register
from tests.hierarchy import STATUS, act, chain, make_project, make_task, node, problems
from tests.support import GraphQLClient

TASK = "... on Task { name status kanbanColumn completedAt version project { id } parent { id } }"
MOVE = "TaskMoveInput"


async def task_state(client: GraphQLClient, task_id: str, selection: str = TASK) -> dict[str, Any]:
    found = await node(client, task_id, selection)
    assert found is not None, task_id
    return found


async def waits(client: GraphQLClient, task_id: str) -> dict[str, Any]:
    return await task_state(client, task_id, "... on Task { canStart dependencies { id } blockedBy { id } }")


def names(tasks: list[dict[str, Any]]) -> list[str]:
    return [t["id"] for t in tasks]


# ---- dependencies ------------------------------------------------------------------------------------------


async def test_dependencies_decide_whether_a_task_can_start(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await make_task(alice, project, "first")
    second = await make_task(alice, project, "second")
    waiting = await make_task(alice, project, "waiting", dependencyIds=[first, second])
    free = await make_task(alice, project, "free")
    state = await waits(alice, waiting)
    assert state["canStart"] is False
    assert set(names(state["dependencies"])) == {first, second} == set(names(state["blockedBy"]))
    assert (await waits(alice, free)) == {"id": free, "canStart": True, "dependencies": [], "blockedBy": []}
    await act(alice, "taskComplete", {"id": first}, "task { id }", STATUS)
    state = await waits(alice, waiting)
    assert state["canStart"] is False
    assert names(state["blockedBy"]) == [second]
    await act(alice, "taskComplete", {"id": second}, "task { id }", STATUS)
    state = await waits(alice, waiting)
    assert state["canStart"] is True
    assert state["blockedBy"] == []
    assert len(state["dependencies"]) == 2
    await act(alice, "taskReopen", {"id": first}, "task { id }", STATUS)
    assert names((await waits(alice, waiting))["blockedBy"]) == [first]


async def test_a_page_of_tasks_answers_as_each_task_does_alone(alice: GraphQLClient) -> None:
    """A page preloads what its fields need (through fragments too); the answers are those of `node`."""
    *_, project = await chain(alice)
    past = str(datetime.now(UTC).date() - timedelta(days=2))
    first = await make_task(alice, project, "first", dueDate=past)
    second = await make_task(alice, project, "second")
    await make_task(alice, project, "waiting", dependencyIds=[first, second], dueDate=past)
    await make_task(alice, project, "free")
    await act(alice, "taskComplete", {"id": second}, "task { id }", STATUS)
    fields = "id isOverdue canStart blockedBy { id } dependencies { id }"
    data = await alice.ok(
        "query($p: ID!) { node(id: $p) { ... on Project { tasks { nodes { ...Waits } } } } }"
        f" fragment Waits on Task {{ ... on Task {{ {fields} }} }}",
        {"p": project},
    )
    listed = data["node"]["tasks"]["nodes"]
    alone = [await task_state(alice, t["id"], f"... on Task {{ {fields} }}") for t in listed]
    assert listed == alone
    assert [(t["isOverdue"], t["canStart"], len(t["blockedBy"])) for t in listed] == [
        (True, True, 0),
        (False, True, 0),
        (True, False, 1),
        (False, True, 0),
    ]


async def test_a_task_cannot_depend_on_itself(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    other = await make_task(alice, project)
    task = await make_task(alice, project)
    payload = await alice.mutate("taskUpdate", {"id": task, "dependencyIds": [other, task]}, "task { id }")
    assert problems(payload) == [(("input", "dependencyIds", "1"), "BAD_USER_INPUT")]
    assert (await waits(alice, task))["dependencies"] == []
    client_id = str(uuid.uuid4())
    payload = await alice.mutate(
        "taskCreate",
        {"id": client_id, "projectId": project, "name": "me", "dependencyIds": [client_id]},
        "task { id }",
    )
    assert problems(payload) == [(("input", "dependencyIds", "0"), "BAD_USER_INPUT")]
    assert (await alice.ok("{ tasks { totalCount } }"))["tasks"]["totalCount"] == 2


async def test_dependency_cycles_are_refused_and_nothing_is_written(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    a = await make_task(alice, project, "a")
    b = await make_task(alice, project, "b", dependencyIds=[a])
    c = await make_task(alice, project, "c", dependencyIds=[b])
    extra = await make_task(alice, project, "extra")
    before = await task_state(alice, a, "... on Task { version dependencies { id } }")
    payload = await alice.mutate(
        "taskUpdate", {"id": a, "name": "renamed", "dependencyIds": [extra, c]}, "task { id }"
    )
    assert payload["task"] is None
    assert problems(payload) == [(("input", "dependencyIds"), "BAD_USER_INPUT")]
    after = await task_state(alice, a, "... on Task { name version dependencies { id } }")
    assert after == {**before, "name": "a"}
    two_step = await alice.mutate("taskUpdate", {"id": b, "dependencyIds": [c]}, "task { id }")
    assert problems(two_step) == [(("input", "dependencyIds"), "BAD_USER_INPUT")]
    assert names((await waits(alice, b))["dependencies"]) == [a]


async def test_unknown_or_foreign_dependencies_are_not_found(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    *_, project = await chain(alice)
    *_, bobs_project = await chain(bob)
    bobs_task = await make_task(bob, bobs_project)
    mine = await make_task(alice, project)
    missing = str(uuid.uuid4())
    for deps, index in (([mine, missing], "1"), ([bobs_task], "0")):
        payload = await alice.mutate(
            "taskCreate", {"projectId": project, "name": "t", "dependencyIds": deps}, "task { id }"
        )
        assert payload["task"] is None
        assert problems(payload) == [(("input", "dependencyIds", index), "NOT_FOUND")]
    assert (await alice.ok("{ tasks { totalCount } }"))["tasks"]["totalCount"] == 1


# ---- subtasks and completion -------------------------------------------------------------------------------


async def test_a_subtask_must_be_in_its_parents_project(alice: GraphQLClient) -> None:
    _, area, project = await chain(alice)
    other_project = await make_project(alice, area)
    parent = await make_task(alice, project)
    payload = await alice.mutate(
        "taskCreate", {"projectId": other_project, "name": "s", "parentId": parent}, "task { id }"
    )
    assert payload["task"] is None
    assert problems(payload) == [(("input", "parentId"), "BAD_USER_INPUT")]
    subtask = await make_task(alice, project, "s", parentId=parent)
    assert (await task_state(alice, subtask))["parent"] == {"id": parent}


async def test_required_subtasks_come_before_their_parent(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent = await make_task(alice, project, "parent", subtasksRequired=True)
    subtasks = [await make_task(alice, project, f"s{i}", parentId=parent) for i in range(2)]
    refused = await act(alice, "taskComplete", {"id": parent}, "task { id }", STATUS)
    assert refused["task"] is None
    assert problems(refused) == [(("input", "id"), "BAD_USER_INPUT")]
    by_update = await alice.mutate("taskUpdate", {"id": parent, "status": "COMPLETED"}, "task { id }")
    assert problems(by_update) == [(("input", "id"), "BAD_USER_INPUT")]
    await act(alice, "taskComplete", {"id": subtasks[0]}, "task { id }", STATUS)
    still = await act(alice, "taskComplete", {"id": parent}, "task { id }", STATUS)
    assert problems(still) == [(("input", "id"), "BAD_USER_INPUT")]
    state = await task_state(alice, parent)
    assert (state["status"], state["completedAt"], state["version"]) == ("TODO", None, 1)
    await act(alice, "taskComplete", {"id": subtasks[1]}, "task { id }", STATUS)
    done = await act(alice, "taskComplete", {"id": parent}, "task { status }", STATUS)
    assert done == {"task": {"status": "COMPLETED"}, "userErrors": []}


async def test_optional_subtasks_do_not_hold_their_parent_back(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent = await make_task(alice, project, "parent")
    await make_task(alice, project, "s", parentId=parent)
    done = await act(alice, "taskComplete", {"id": parent}, "task { status }", STATUS)
    assert done == {"task": {"status": "COMPLETED"}, "userErrors": []}


async def test_complete_and_reopen(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    task = await make_task(alice, project, status="IN_PROGRESS")
    assert (await task_state(alice, task))["kanbanColumn"] == "IN_PROGRESS"
    started = datetime.now(UTC) - timedelta(seconds=5)
    done = await act(
        alice, "taskComplete", {"id": task}, "task { status kanbanColumn completedAt version }", STATUS
    )
    completed = done["task"]
    assert (completed["status"], completed["kanbanColumn"], completed["version"]) == ("COMPLETED", "DONE", 2)
    assert datetime.fromisoformat(completed["completedAt"]) >= started
    again = await act(alice, "taskComplete", {"id": task}, "task { completedAt version }", STATUS)
    assert again == {"task": {"completedAt": completed["completedAt"], "version": 2}, "userErrors": []}
    reopened = await act(
        alice, "taskReopen", {"id": task}, "task { status kanbanColumn completedAt version }", STATUS
    )
    assert reopened["task"] == {"status": "TODO", "kanbanColumn": "TODO", "completedAt": None, "version": 3}
    by_status = await alice.mutate(
        "taskUpdate", {"id": task, "status": "COMPLETED"}, "task { kanbanColumn completedAt }"
    )
    assert by_status["task"]["kanbanColumn"] == "DONE"
    assert by_status["task"]["completedAt"] is not None


async def completed_parent(client: GraphQLClient, project: str, required: bool = True) -> tuple[str, str]:
    """A completed parent (that requires its subtasks, unless told) with one completed subtask."""
    parent = await make_task(client, project, "parent", subtasksRequired=required)
    child = await make_task(client, project, "child", parentId=parent)
    for task in (child, parent):
        assert (await act(client, "taskComplete", {"id": task}, "task { id }", STATUS))["userErrors"] == []
    return parent, child


async def status_and_version(client: GraphQLClient, task_id: str) -> tuple[str, int]:
    state = await task_state(client, task_id)
    return state["status"], state["version"]


async def test_reopening_a_required_subtask_reopens_its_completed_parents(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    top = await make_task(alice, project, "top", subtasksRequired=True)
    parent = await make_task(alice, project, "parent", parentId=top, subtasksRequired=True)
    child = await make_task(alice, project, "child", parentId=parent)
    for task in (child, parent, top):
        await act(alice, "taskComplete", {"id": task}, "task { id }", STATUS)
    reopened = await act(alice, "taskReopen", {"id": child}, "task { status }", STATUS)
    assert reopened == {"task": {"status": "TODO"}, "userErrors": []}
    assert await status_and_version(alice, parent) == ("TODO", 3)
    state = await task_state(alice, top)
    assert (state["status"], state["kanbanColumn"], state["completedAt"], state["version"]) == (
        "TODO",
        "TODO",
        None,
        3,
    )


async def test_setting_a_required_subtasks_status_back_reopens_its_parent(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent, child = await completed_parent(alice, project)
    payload = await alice.mutate("taskUpdate", {"id": child, "status": "IN_PROGRESS"}, "task { status }")
    assert payload == {"task": {"status": "IN_PROGRESS"}, "userErrors": []}
    assert await status_and_version(alice, parent) == ("TODO", 3)


async def test_a_new_open_subtask_reopens_a_parent_that_requires_it(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent, _ = await completed_parent(alice, project)
    await make_task(alice, project, "done already", parentId=parent, status="COMPLETED")
    assert await status_and_version(alice, parent) == ("COMPLETED", 2)
    await make_task(alice, project, "one more", parentId=parent)
    assert await status_and_version(alice, parent) == ("TODO", 3)
    optional, _ = await completed_parent(alice, project, required=False)
    await make_task(alice, project, "optional", parentId=optional)
    assert await status_and_version(alice, optional) == ("COMPLETED", 2)


async def test_moving_an_open_task_under_a_completed_parent_reopens_it(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent, _ = await completed_parent(alice, project)
    done = await make_task(alice, project, "done", status="COMPLETED")
    await act(alice, "taskMove", {"id": done, "parentId": parent}, "task { id }", MOVE)
    assert await status_and_version(alice, parent) == ("COMPLETED", 2)
    task = await make_task(alice, project, "open")
    moved = await act(alice, "taskMove", {"id": task, "parentId": parent}, "task { parent { id } }", MOVE)
    assert moved == {"task": {"parent": {"id": parent}}, "userErrors": []}
    assert await status_and_version(alice, parent) == ("TODO", 3)


async def test_requiring_open_subtasks_of_a_completed_task_is_a_conflict(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent = await make_task(alice, project, "parent")
    child = await make_task(alice, project, "child", parentId=parent)
    await act(alice, "taskComplete", {"id": parent}, "task { id }", STATUS)
    payload = await alice.mutate("taskUpdate", {"id": parent, "subtasksRequired": True}, "task { id }")
    assert problems(payload) == [(("input", "subtasksRequired"), "CONFLICT")]
    state = await task_state(alice, parent, "... on Task { status subtasksRequired version }")
    assert state == {"id": parent, "status": "COMPLETED", "subtasksRequired": False, "version": 2}
    reopening = {"id": parent, "subtasksRequired": True, "status": "TODO"}
    assert (await alice.mutate("taskUpdate", reopening, "task { id }"))["userErrors"] == []
    both = {"id": parent, "subtasksRequired": False, "status": "COMPLETED"}
    assert (await alice.mutate("taskUpdate", both, "task { id }"))["userErrors"] == []
    await act(alice, "taskComplete", {"id": child}, "task { id }", STATUS)
    fine = await alice.mutate(
        "taskUpdate", {"id": parent, "subtasksRequired": True}, "task { subtasksRequired }"
    )
    assert fine == {"task": {"subtasksRequired": True}, "userErrors": []}


async def test_completing_while_requiring_subtasks_checks_them(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent = await make_task(alice, project, "parent")
    await make_task(alice, project, "child", parentId=parent)
    both = {"id": parent, "subtasksRequired": True, "status": "COMPLETED"}
    payload = await alice.mutate("taskUpdate", both, "task { id }")
    assert problems(payload) == [(("input", "id"), "BAD_USER_INPUT")]
    assert await status_and_version(alice, parent) == ("TODO", 1)


# ---- reminders in the person's time zone -------------------------------------------------------------------


async def test_a_reminder_without_an_offset_is_read_in_the_persons_zone(http: httpx.AsyncClient) -> None:
    tokyo = await register(http, timezone="Asia/Tokyo")
    *_, project = await chain(tokyo)
    created = await tokyo.mutate(
        "taskCreate",
        {"projectId": project, "name": "call", "reminderAt": "2030-01-01T10:00:00"},
        "task { id reminderAt }",
    )
    assert datetime.fromisoformat(created["task"]["reminderAt"]) == datetime(2030, 1, 1, 1, 0, tzinfo=UTC)
    task = created["task"]["id"]
    updated = await tokyo.mutate(
        "taskUpdate", {"id": task, "reminderAt": "2030-07-01T09:30:00"}, "task { reminderAt }"
    )
    assert datetime.fromisoformat(updated["task"]["reminderAt"]) == datetime(2030, 7, 1, 0, 30, tzinfo=UTC)
    offset = await tokyo.mutate(
        "taskUpdate", {"id": task, "reminderAt": "2030-07-01T09:30:00Z"}, "task { reminderAt }"
    )
    assert datetime.fromisoformat(offset["task"]["reminderAt"]) == datetime(2030, 7, 1, 9, 30, tzinfo=UTC)


async def test_a_reminder_beyond_the_calendar_is_refused(http: httpx.AsyncClient) -> None:
    west = await register(http, timezone="Pacific/Pago_Pago")
    *_, project = await chain(west)
    for moment in ("9999-12-31T23:00:00", "0001-01-01T00:00:00+14:00"):
        payload = await west.mutate(
            "taskCreate", {"projectId": project, "name": "late", "reminderAt": moment}, "task { id }"
        )
        assert problems(payload) == [(("input", "reminderAt"), "BAD_USER_INPUT")], moment


# ---- moves and order ---------------------------------------------------------------------------------------


async def test_moving_a_task_to_another_project_carries_its_subtasks(alice: GraphQLClient) -> None:
    _, area, project = await chain(alice)
    target = await make_project(alice, area)
    parent = await make_task(alice, project, "parent")
    child = await make_task(alice, project, "child", parentId=parent)
    grandchild = await make_task(alice, project, "grandchild", parentId=child)
    moved = await act(alice, "taskMove", {"id": parent, "projectId": target}, "task { project { id } }", MOVE)
    assert moved == {"task": {"project": {"id": target}}, "userErrors": []}
    for task, parent_of in ((child, parent), (grandchild, child)):
        state = await task_state(alice, task)
        assert state["project"] == {"id": target}
        assert state["parent"] == {"id": parent_of}
    data = await alice.ok(
        "query($p: ID!) { node(id: $p) { ... on Project { tasks { totalCount } } } }", {"p": project}
    )
    assert data["node"]["tasks"]["totalCount"] == 0


async def test_a_task_cannot_move_under_itself_or_its_subtasks(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent = await make_task(alice, project, "parent")
    child = await make_task(alice, project, "child", parentId=parent)
    grandchild = await make_task(alice, project, "grandchild", parentId=child)
    for under in (parent, child, grandchild):
        payload = await act(alice, "taskMove", {"id": parent, "parentId": under}, "task { id }", MOVE)
        assert problems(payload) == [(("input", "parentId"), "BAD_USER_INPUT")], under
    assert (await task_state(alice, parent))["parent"] is None


async def test_moving_under_a_task_of_another_project_changes_the_project(alice: GraphQLClient) -> None:
    _, area, project = await chain(alice)
    other_project = await make_project(alice, area)
    new_parent = await make_task(alice, other_project, "new parent")
    task = await make_task(alice, project, "task")
    child = await make_task(alice, project, "child", parentId=task)
    moved = await act(
        alice, "taskMove", {"id": task, "parentId": new_parent}, "task { project { id } parent { id } }", MOVE
    )
    assert moved["task"] == {"project": {"id": other_project}, "parent": {"id": new_parent}}
    assert (await task_state(alice, child))["project"] == {"id": other_project}
    clash = await act(
        alice, "taskMove", {"id": task, "parentId": new_parent, "projectId": project}, "task { id }", MOVE
    )
    assert problems(clash) == [(("input", "parentId"), "BAD_USER_INPUT")]
    back = await act(
        alice, "taskMove", {"id": task, "projectId": project}, "task { project { id } parent { id } }", MOVE
    )
    assert back["task"] == {"project": {"id": project}, "parent": None}


async def test_reorder_sets_the_order_of_siblings(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    a, b, c = [await make_task(alice, project, n) for n in "abc"]
    payload = await act(
        alice, "tasksReorder", {"ids": [c, a, b]}, "tasks { id sortOrder }", "TasksReorderInput"
    )
    assert payload["tasks"] == [
        {"id": c, "sortOrder": 0},
        {"id": a, "sortOrder": 1},
        {"id": b, "sortOrder": 2},
    ]
    data = await alice.ok(
        "query($p: ID!) { node(id: $p) { ... on Project { tasks { nodes { id } } } } }", {"p": project}
    )
    assert names(data["node"]["tasks"]["nodes"]) == [c, a, b]


async def sibling_order(client: GraphQLClient, project: str) -> list[tuple[str, int]]:
    data = await client.ok(
        "query($p: ID!) { node(id: $p) { ... on Project { tasks { nodes { name sortOrder } } } } }",
        {"p": project},
    )
    return [(t["name"], t["sortOrder"]) for t in data["node"]["tasks"]["nodes"]]


async def test_a_partial_reorder_keeps_the_places_of_the_siblings_left_out(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    made = {n: await make_task(alice, project, n) for n in "abcde"}  # all at sort order 0
    payload = await act(
        alice,
        "tasksReorder",
        {"ids": [made["d"], made["b"]]},
        "tasks { name sortOrder }",
        "TasksReorderInput",
    )
    assert payload == {
        "tasks": [{"name": "d", "sortOrder": 1}, {"name": "b", "sortOrder": 3}],
        "userErrors": [],
    }
    assert await sibling_order(alice, project) == [("a", 0), ("d", 1), ("c", 2), ("b", 3), ("e", 4)]
    await act(alice, "tasksReorder", {"ids": [made["e"], made["a"]]}, "tasks { id }", "TasksReorderInput")
    assert await sibling_order(alice, project) == [("e", 0), ("d", 1), ("c", 2), ("b", 3), ("a", 4)]
    versions = await task_state(alice, made["c"], "... on Task { version }")
    assert versions["version"] == 2  # numbered once, then left in its place


async def test_a_move_to_where_the_task_is_changes_nothing(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent = await make_task(alice, project, "parent")
    task = await make_task(alice, project, "task", parentId=parent, sortOrder=3)
    for place in ({"parentId": parent}, {"parentId": parent, "projectId": project, "sortOrder": 3}):
        moved = await act(alice, "taskMove", {"id": task, **place}, "task { version }", MOVE)
        assert moved == {"task": {"version": 1}, "userErrors": []}, place


async def test_reorder_refuses_tasks_that_are_not_siblings(alice: GraphQLClient) -> None:
    _, area, project = await chain(alice)
    a, b = [await make_task(alice, project, n, sortOrder=i) for i, n in enumerate("ab")]
    sub = await make_task(alice, project, "sub", parentId=a)
    elsewhere = await make_task(alice, await make_project(alice, area), "elsewhere")
    for ids in ([b, sub], [a, elsewhere]):
        payload = await act(alice, "tasksReorder", {"ids": ids}, "tasks { id }", "TasksReorderInput")
        assert payload["tasks"] == []
        assert problems(payload) == [(("input", "ids"), "BAD_USER_INPUT")]
    missing = await act(
        alice, "tasksReorder", {"ids": [b, str(uuid.uuid4())]}, "tasks { id }", "TasksReorderInput"
    )
    assert problems(missing) == [(("input", "ids", "1"), "NOT_FOUND")]
    assert (await task_state(alice, b, "... on Task { sortOrder }"))["sortOrder"] == 1


# ---- overdue in the person's time zone ---------------------------------------------------------------------
# A task due today (by UTC) at 13:30 is past due in UTC+14 and not yet due in UTC-11, whatever the time
# of day: 13:30 at UTC+14 is 23:30 UTC the day before, and 13:30 at UTC-11 is 00:30 UTC tomorrow.


async def overdue_setup(client: GraphQLClient) -> dict[str, str]:
    *_, project = await chain(client)
    today = datetime.now(UTC).date()
    return {
        "today 13:30": await make_task(client, project, "today 13:30", dueDate=str(today), dueTime="13:30"),
        "two days ago": await make_task(
            client, project, "two days ago", dueDate=str(today - timedelta(days=2))
        ),
        "in two days": await make_task(
            client, project, "in two days", dueDate=str(today + timedelta(days=2))
        ),
        "no due date": await make_task(client, project, "no due date"),
        "done late": await make_task(
            client, project, "done late", dueDate=str(today - timedelta(days=2)), status="COMPLETED"
        ),
    }


async def overdue_view(client: GraphQLClient) -> tuple[set[str], set[str], set[str]]:
    """(names with isOverdue, names the overdue filter returns, names the not-overdue filter returns)."""
    data = await client.ok(
        "{ all: tasks { nodes { name isOverdue } } yes: tasks(filter: {overdue: true}) { nodes { name } }"
        " no: tasks(filter: {overdue: false}) { nodes { name } } }"
    )
    flagged = {t["name"] for t in data["all"]["nodes"] if t["isOverdue"]}
    return flagged, {t["name"] for t in data["yes"]["nodes"]}, {t["name"] for t in data["no"]["nodes"]}


async def test_overdue_is_judged_in_the_far_east(http: httpx.AsyncClient) -> None:
    east = await register(http, timezone="Pacific/Kiritimati")
    made = await overdue_setup(east)
    flagged, overdue, not_overdue = await overdue_view(east)
    assert flagged == overdue == {"today 13:30", "two days ago"}
    assert not_overdue == set(made) - overdue


async def test_overdue_is_judged_in_the_far_west(http: httpx.AsyncClient) -> None:
    west = await register(http, timezone="Pacific/Pago_Pago")
    made = await overdue_setup(west)
    flagged, overdue, not_overdue = await overdue_view(west)
    assert flagged == overdue == {"two days ago"}
    assert not_overdue == set(made) - overdue


async def test_completing_an_overdue_task_clears_it(alice: GraphQLClient) -> None:
    made = await overdue_setup(alice)
    await act(alice, "taskComplete", {"id": made["two days ago"]}, "task { id }", STATUS)
    flagged, overdue, _ = await overdue_view(alice)
    assert "two days ago" not in flagged | overdue
