"""Domain rules of the pillar → area → project → task hierarchy, through GraphQL over HTTP: validation,
retry-safe creates, optimistic concurrency, cascading deletes and archiving. Task behaviour is in
test_tasks.py, lists and pages in test_hierarchy_paging.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from aurum.ids import to_global_id
from tests.hierarchy import (
    NAME,
    STATUS,
    act,
    chain,
    create,
    make_pillar,
    make_project,
    make_task,
    node,
    problems,
    total,
)
from tests.support import GraphQLClient

# ---- validation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_names_must_have_1_to_200_characters_at_every_level(alice: GraphQLClient, name: str) -> None:
    pillar, area, project = await chain(alice)
    parents = {
        "pillar": {},
        "area": {"pillarId": pillar},
        "project": {"areaId": area},
        "task": {"projectId": project},
    }
    for kind, parent in parents.items():
        payload = await alice.mutate(f"{kind}Create", {**parent, "name": name}, f"{kind} {{ id }}")
        assert payload[kind] is None
        assert problems(payload) == [(NAME, "BAD_USER_INPUT")], kind
    assert await total(alice, "tasks") == 0


async def test_a_name_of_200_characters_is_accepted_and_trimmed(alice: GraphQLClient) -> None:
    pillar = await create(alice, "pillar", {"name": "  " + "x" * 200 + "  "}, "name")
    assert pillar["name"] == "x" * 200


async def test_update_refuses_an_empty_name_and_keeps_the_old_one(alice: GraphQLClient) -> None:
    pillar = await make_pillar(alice)
    payload = await alice.mutate("pillarUpdate", {"id": pillar, "name": " "}, "pillar { id }")
    assert problems(payload) == [(NAME, "BAD_USER_INPUT")]
    assert (await node(alice, pillar, "... on Pillar { name version }")) == {
        "id": pillar,
        "name": "Health",
        "version": 1,
    }


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("area", "importance", 0),
        ("area", "importance", 6),
        ("project", "importance", 0),
        ("project", "importance", 6),
        ("pillar", "timeAllocation", -1),
        ("pillar", "timeAllocation", 101),
        ("pillar", "color", "red"),
        ("pillar", "color", "#12345g"),
        ("area", "color", "#1234"),
        ("task", "estimatedMinutes", 0),
        ("task", "estimatedMinutes", 10081),
        ("task", "dueTime", "25:00"),
        ("task", "dueTime", "noon"),
    ],
)
async def test_out_of_range_fields_are_refused(
    alice: GraphQLClient, kind: str, field: str, value: Any
) -> None:
    pillar, area, project = await chain(alice)
    parent = {"pillar": {}, "area": {"pillarId": pillar}, "project": {"areaId": area}}.get(
        kind, {"projectId": project}
    )
    extra = {"dueDate": "2030-01-01"} if field == "dueTime" else {}
    payload = await alice.mutate(
        f"{kind}Create", {**parent, "name": "n", field: value, **extra}, f"{kind} {{ id }}"
    )
    assert payload[kind] is None
    assert problems(payload) == [(("input", field), "BAD_USER_INPUT")]


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("area", "importance", 1),
        ("area", "importance", 5),
        ("pillar", "timeAllocation", 0),
        ("pillar", "timeAllocation", 100),
        ("pillar", "color", "#4f46e5"),
        ("pillar", "color", "#FFF"),
        ("task", "estimatedMinutes", 1),
        ("task", "estimatedMinutes", 10080),
    ],
)
async def test_boundary_values_are_accepted(alice: GraphQLClient, kind: str, field: str, value: Any) -> None:
    pillar, _area, project = await chain(alice)
    parent = {"pillar": {}, "area": {"pillarId": pillar}}.get(kind, {"projectId": project})
    created = await create(alice, kind, {**parent, "name": "n", field: value}, field)
    assert created[field] == value


async def test_due_time_needs_a_due_date(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    payload = await alice.mutate(
        "taskCreate", {"projectId": project, "name": "t", "dueTime": "09:30"}, "task { id }"
    )
    assert problems(payload) == [(("input", "dueTime"), "BAD_USER_INPUT")]
    task = await make_task(alice, project, dueDate="2030-01-01", dueTime="09:30")
    payload = await alice.mutate("taskUpdate", {"id": task, "dueDate": None}, "task { id }")
    assert problems(payload) == [(("input", "dueTime"), "BAD_USER_INPUT")]
    assert (await node(alice, task, "... on Task { dueDate dueTime }")) == {
        "id": task,
        "dueDate": "2030-01-01",
        "dueTime": "09:30",
    }


@pytest.mark.parametrize(
    ("recurrence", "due", "field"),
    [
        ({"frequency": "WEEKLY"}, "2030-01-01", ("input", "recurrence", "weekdays")),
        ({"frequency": "MONTHLY"}, "2030-01-01", ("input", "recurrence", "monthDay")),
        ({"frequency": "DAILY"}, None, ("input", "dueDate")),
        ({"frequency": "DAILY", "endDate": "2029-12-31"}, "2030-01-01", ("input", "recurrence", "endDate")),
        ({"frequency": "DAILY", "interval": 0}, "2030-01-01", ("input", "recurrence", "interval")),
        ({"frequency": "MONTHLY", "monthDay": 32}, "2030-01-01", ("input", "recurrence", "monthDay")),
    ],
)
async def test_invalid_recurrence_rules_are_refused(
    alice: GraphQLClient, recurrence: dict[str, Any], due: str | None, field: tuple[str, ...]
) -> None:
    *_, project = await chain(alice)
    fields = {
        "projectId": project,
        "name": "t",
        "recurrence": recurrence,
        **({"dueDate": due} if due else {}),
    }
    payload = await alice.mutate("taskCreate", fields, "task { id }")
    assert payload["task"] is None
    assert problems(payload) == [(field, "BAD_USER_INPUT")]
    assert await total(alice, "tasks") == 0


async def test_valid_recurrence_rules_are_kept(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    rule = {"frequency": "WEEKLY", "interval": 2, "weekdays": ["FRIDAY", "MONDAY"], "endDate": "2030-06-01"}
    task = await create(
        alice,
        "task",
        {"projectId": project, "name": "t", "dueDate": "2030-01-01", "recurrence": rule},
        "recurrence { frequency interval weekdays monthDay endDate count }",
    )
    assert task["recurrence"] == {**rule, "weekdays": ["MONDAY", "FRIDAY"], "monthDay": None, "count": None}


async def test_several_errors_are_reported_together(alice: GraphQLClient) -> None:
    payload = await alice.mutate(
        "pillarCreate", {"name": "", "color": "blue", "timeAllocation": 200}, "pillar { id }"
    )
    assert sorted(problems(payload)) == sorted(
        [
            (NAME, "BAD_USER_INPUT"),
            (("input", "color"), "BAD_USER_INPUT"),
            (("input", "timeAllocation"), "BAD_USER_INPUT"),
        ]
    )
    *_, project = await chain(alice)
    payload = await alice.mutate(
        "taskCreate",
        {
            "projectId": project,
            "name": " ",
            "estimatedMinutes": -5,
            "dueDate": "2030-01-01",
            "recurrence": {"frequency": "WEEKLY", "endDate": "2029-01-01"},
        },
        "task { id }",
    )
    assert sorted(problems(payload)) == sorted(
        [
            (NAME, "BAD_USER_INPUT"),
            (("input", "estimatedMinutes"), "BAD_USER_INPUT"),
            (("input", "recurrence", "weekdays"), "BAD_USER_INPUT"),
            (("input", "recurrence", "endDate"), "BAD_USER_INPUT"),
        ]
    )
    assert await total(alice, "pillars") == 1


NOT_NULL_FIELDS = [
    ("pillar", "sortOrder"),
    ("area", "importance"),
    ("area", "sortOrder"),
    ("project", "status"),
    ("project", "priority"),
    ("project", "importance"),
    ("project", "sortOrder"),
    ("task", "status"),
    ("task", "priority"),
    ("task", "subtasksRequired"),
    ("task", "sortOrder"),
]


@pytest.mark.parametrize(("kind", "field"), NOT_NULL_FIELDS)
async def test_null_for_a_field_that_always_has_a_value_is_refused(
    alice: GraphQLClient, kind: str, field: str
) -> None:
    pillar, area, project = await chain(alice)
    parent = {"pillar": {}, "area": {"pillarId": pillar}, "project": {"areaId": area}}.get(
        kind, {"projectId": project}
    )
    refused = [{"field": ["input", field], "message": f"'{field}' cannot be null", "code": "BAD_USER_INPUT"}]
    created = await alice.mutate(f"{kind}Create", {**parent, "name": "n", field: None}, f"{kind} {{ id }}")
    assert (created[kind], created["userErrors"]) == (None, refused)
    target = {"pillar": pillar, "area": area, "project": project}.get(kind) or await make_task(alice, project)
    updated = await alice.mutate(f"{kind}Update", {"id": target, field: None}, f"{kind} {{ id }}")
    assert (updated[kind], updated["userErrors"]) == (None, refused)
    assert (await node(alice, target, f"... on {kind.title()} {{ version }}")) == {"id": target, "version": 1}


async def test_update_name_null_is_refused_at_every_level(alice: GraphQLClient) -> None:
    pillar, area, project = await chain(alice)
    for kind, target in (("pillar", pillar), ("area", area), ("project", project)):
        payload = await alice.mutate(f"{kind}Update", {"id": target, "name": None}, f"{kind} {{ id }}")
        assert problems(payload) == [(NAME, "BAD_USER_INPUT")], kind


INVISIBLE_OR_CONTROL = [
    "\u200b",
    "\ufeff",
    " \u200b\u200d\u2060 ",
    "\u0007bell",
    "\u001b[31mred",
    "\u202eevil.exe",
    "two\nlines",
]


@pytest.mark.parametrize("name", INVISIBLE_OR_CONTROL)
async def test_names_refuse_control_characters_and_invisible_text(alice: GraphQLClient, name: str) -> None:
    pillar, area, project = await chain(alice)
    parents = {
        "pillar": ({}, pillar),
        "area": ({"pillarId": pillar}, area),
        "project": ({"areaId": area}, project),
        "task": ({"projectId": project}, await make_task(alice, project)),
    }
    for kind, (parent, existing) in parents.items():
        created = await alice.mutate(f"{kind}Create", {**parent, "name": name}, f"{kind} {{ id }}")
        assert problems(created) == [(NAME, "BAD_USER_INPUT")], kind
        updated = await alice.mutate(f"{kind}Update", {"id": existing, "name": name}, f"{kind} {{ id }}")
        assert problems(updated) == [(NAME, "BAD_USER_INPUT")], kind
    assert await total(alice, "tasks") == 1


@pytest.mark.parametrize(
    "name",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 Family",  # a ZWJ sequence
        "\u2764\ufe0f",  # a variation selector
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # tag characters
        "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",  # right-to-left scripts
    ],
)
async def test_emoji_and_other_scripts_stay_names(alice: GraphQLClient, name: str) -> None:
    pillar = await create(alice, "pillar", {"name": name, "icon": name[:2]}, "name icon")
    assert pillar == {"name": name, "icon": name[:2]}


async def test_an_icon_refuses_control_characters(alice: GraphQLClient) -> None:
    payload = await alice.mutate("pillarCreate", {"name": "n", "icon": "\u001b[31m"}, "pillar { id }")
    assert problems(payload) == [(("input", "icon"), "BAD_USER_INPUT")]


# ---- retry-safe creates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["uuid", "global"])
async def test_repeating_a_create_with_the_same_id_returns_the_same_object(
    alice: GraphQLClient, form: str
) -> None:
    def client_id(type_name: str) -> str:
        value = uuid.uuid4()
        return str(value) if form == "uuid" else to_global_id(type_name, value)

    pillar_id, area_id, project_id, task_id = (client_id(t) for t in ("Pillar", "Area", "Project", "Task"))
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("pillar", "pillars", {"id": pillar_id, "name": "P"}),
        ("area", "areas", {"id": area_id, "name": "A"}),
        ("project", "projects", {"id": project_id, "name": "Pr"}),
        ("task", "tasks", {"id": task_id, "name": "T"}),
    ]
    parent_id: str | None = None
    for kind, list_name, fields in steps:
        parent_field = {"area": "pillarId", "project": "areaId", "task": "projectId"}.get(kind)
        if parent_field:
            fields[parent_field] = parent_id
        first = await create(alice, kind, fields, "id version name")
        again = await create(alice, kind, {**fields, "name": "changed on retry"}, "id version name")
        assert again == first, kind
        type_name = {"pillar": "Pillar", "area": "Area", "project": "Project", "task": "Task"}[kind]
        sent = str(fields["id"])
        assert first["id"] == (to_global_id(type_name, uuid.UUID(sent)) if form == "uuid" else sent)
        assert await total(alice, list_name) == 1, kind
        parent_id = first["id"]


async def test_another_users_id_cannot_be_reused(alice: GraphQLClient, bob: GraphQLClient) -> None:
    client_id = str(uuid.uuid4())
    await create(alice, "pillar", {"id": client_id, "name": "Alice's"})
    payload = await bob.mutate("pillarCreate", {"id": client_id, "name": "Bob's"}, "pillar { id name }")
    assert payload["pillar"] is None
    assert problems(payload) == [(("input", "id"), "CONFLICT")]
    assert await total(bob, "pillars") == 0


# ---- optimistic concurrency --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pillar", "area", "project", "task"])
async def test_a_stale_expected_version_is_a_conflict(alice: GraphQLClient, kind: str) -> None:
    pillar, area, project = await chain(alice)
    target = {"pillar": pillar, "area": area, "project": project}.get(kind) or await make_task(alice, project)
    updated = await alice.mutate(
        f"{kind}Update", {"id": target, "name": "v2", "expectedVersion": 1}, f"{kind} {{ name version }}"
    )
    assert updated["userErrors"] == []
    assert updated[kind] == {"name": "v2", "version": 2}
    stale = await alice.mutate(
        f"{kind}Update", {"id": target, "name": "v3", "expectedVersion": 1}, f"{kind} {{ name }}"
    )
    assert stale[kind] is None
    assert problems(stale) == [(("input", "expectedVersion"), "CONFLICT")]
    assert await node(alice, target, f"... on {kind.title()} {{ name version }}") == {
        "id": target,
        "name": "v2",
        "version": 2,
    }
    without = await alice.mutate(f"{kind}Update", {"id": target, "name": "v3"}, f"{kind} {{ name version }}")
    assert without[kind] == {"name": "v3", "version": 3}


@pytest.mark.parametrize("kind", ["pillar", "area", "project", "task"])
async def test_an_update_that_changes_nothing_keeps_the_version(alice: GraphQLClient, kind: str) -> None:
    pillar, area, project = await chain(alice)
    other = await make_task(alice, project, "other")
    target = {"pillar": pillar, "area": area, "project": project}.get(kind) or await make_task(
        alice, project, "Run", dueDate="2030-01-01", dependencyIds=[other]
    )
    selection = f"{kind} {{ name version updatedAt }}"
    before = await alice.mutate(f"{kind}Update", {"id": target}, selection)
    assert before["userErrors"] == []
    assert before[kind]["version"] == 1
    current = await node(alice, target, f"... on {kind.title()} {{ name }}")
    assert current is not None
    same: dict[str, Any] = {"name": f"  {current['name']} ", "sortOrder": 0}
    same |= {"pillarId": pillar} if kind == "area" else {"areaId": area} if kind == "project" else {}
    if kind == "task":
        same |= {"status": "TODO", "priority": "MEDIUM", "dueDate": "2030-01-01", "dependencyIds": [other]}
    for fields in ({}, same, {**same, "expectedVersion": 1}):
        payload = await alice.mutate(f"{kind}Update", {"id": target, **fields}, selection)
        assert payload == before, fields
    changed = await alice.mutate(f"{kind}Update", {"id": target, "name": "new"}, selection)
    assert changed[kind]["version"] == 2


async def test_task_status_changes_check_the_version_too(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    task = await make_task(alice, project)
    stale = await act(alice, "taskComplete", {"id": task, "expectedVersion": 7}, "task { id }", STATUS)
    assert problems(stale) == [(("input", "expectedVersion"), "CONFLICT")]
    assert (await node(alice, task, "... on Task { status }"))["status"] == "TODO"  # type: ignore[index]
    done = await act(
        alice, "taskComplete", {"id": task, "expectedVersion": 1}, "task { status version }", STATUS
    )
    assert done["task"] == {"status": "COMPLETED", "version": 2}


# ---- deletes and archives ----------------------------------------------------------------------------------


async def test_deleting_a_pillar_deletes_everything_below_it(alice: GraphQLClient) -> None:
    pillar, area, project = await chain(alice)
    task = await make_task(alice, project)
    subtask = await make_task(alice, project, parentId=task)
    kept_pillar, kept_area, kept_project = await chain(alice)
    kept_task = await make_task(alice, kept_project)
    payload = await act(alice, "pillarDelete", {"id": pillar}, "deletedId")
    assert payload == {"deletedId": pillar, "userErrors": []}
    for gone in (pillar, area, project, task, subtask):
        assert await node(alice, gone) is None
    for kept in (kept_pillar, kept_area, kept_project, kept_task):
        assert await node(alice, kept) == {"id": kept}
    for list_name in ("pillars", "areas", "projects", "tasks"):
        assert await total(alice, list_name) == 1, list_name
    again = await act(alice, "pillarDelete", {"id": pillar}, "deletedId")
    assert problems(again) == [(("input", "id"), "NOT_FOUND")]


async def test_deleting_an_area_or_project_cascades(alice: GraphQLClient) -> None:
    pillar, area, project = await chain(alice)
    task = await make_task(alice, project)
    other_project = await make_project(alice, area)
    other_task = await make_task(alice, other_project)
    assert (await act(alice, "projectDelete", {"id": project}, "deletedId"))["userErrors"] == []
    assert await node(alice, task) is None
    assert await node(alice, other_task) is not None
    assert (await act(alice, "areaDelete", {"id": area}, "deletedId"))["userErrors"] == []
    assert await node(alice, other_project) is None
    assert await node(alice, other_task) is None
    assert await node(alice, pillar) is not None
    assert await total(alice, "tasks") == 0
    assert await total(alice, "projects") == 0


async def test_another_users_objects_cannot_be_deleted(alice: GraphQLClient, bob: GraphQLClient) -> None:
    pillar = await make_pillar(alice)
    payload = await act(bob, "pillarDelete", {"id": pillar}, "deletedId")
    assert payload["deletedId"] is None
    assert problems(payload) == [(("input", "id"), "NOT_FOUND")]
    assert await node(alice, pillar) == {"id": pillar}


async def test_archiving_a_pillar_hides_everything_below_it_from_default_lists(alice: GraphQLClient) -> None:
    pillar, area, project = await chain(alice)
    task = await make_task(alice, project)
    *_, visible_project = await chain(alice)
    await make_task(alice, visible_project)
    archived = await act(alice, "pillarArchive", {"id": pillar}, "pillar { archived version }")
    assert archived["pillar"] == {"archived": True, "version": 2}
    hidden = {"pillars": pillar, "areas": area, "projects": project, "tasks": task}
    for list_name, hidden_id in hidden.items():
        data = await alice.ok(f"{{ {list_name} {{ totalCount nodes {{ id }} }} }}")
        assert data[list_name]["totalCount"] == 1, list_name
        assert hidden_id not in [n["id"] for n in data[list_name]["nodes"]], list_name
        data = await alice.ok(f"{{ {list_name}(filter: {{archived: true}}) {{ nodes {{ id }} }} }}")
        assert [n["id"] for n in data[list_name]["nodes"]] == [hidden_id], list_name
        assert await total(alice, list_name, "archived: null") == 2, list_name
    assert await node(alice, task) == {"id": task}  # still reachable directly
    assert (await act(alice, "pillarUnarchive", {"id": pillar}, "pillar { archived }"))["pillar"] == {
        "archived": False
    }
    for list_name in hidden:
        assert await total(alice, list_name) == 2, list_name


async def test_archiving_a_project_hides_its_tasks(alice: GraphQLClient) -> None:
    _, _area, project = await chain(alice)
    await make_task(alice, project)
    assert (await act(alice, "projectArchive", {"id": project}, "project { archived }"))["project"] == {
        "archived": True
    }
    assert await total(alice, "projects") == 0
    assert await total(alice, "tasks") == 0
    assert await total(alice, "tasks", "archived: true") == 1
    assert await total(alice, "areas") == 1
    await act(alice, "projectUnarchive", {"id": project}, "project { archived }")
    assert await total(alice, "projects") == 1
    assert await total(alice, "tasks") == 1
