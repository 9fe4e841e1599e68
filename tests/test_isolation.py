"""Two users never see, change, move under or depend on each other's objects, whatever they call.

The mutations acting on an object by ``id`` are read from the schema: one without a case here fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support import GraphQLClient

TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"
INTROSPECTION = f"""{{ __schema {{ mutationType {{ name }}
  types {{ name kind inputFields {{ name }}
          fields {{ name args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }}
}} }}"""

SNAPSHOT = """query($ids: [ID!]!) { nodes(ids: $ids) {
  __typename id
  ... on Pillar { name version archived updatedAt sortOrder }
  ... on Area { name version archived updatedAt sortOrder pillar { id } }
  ... on Project { name version archived updatedAt sortOrder projectStatus: status area { id } }
  ... on Task { name version status updatedAt sortOrder completedAt project { id } parent { id }
                dependencies { id } }
} }"""

EVERYTHING = """{
  pillars(first: 100, filter: {archived: null}) { totalCount nodes { id } }
  areas(first: 100, filter: {archived: null}) { totalCount nodes { id } }
  projects(first: 100, filter: {archived: null}) { totalCount nodes { id } }
  tasks(first: 100, filter: {archived: null}) { totalCount nodes { id } }
}"""


@dataclass
class World:
    """One user's objects, by role."""

    client: GraphQLClient
    ids: dict[str, str] = field(default_factory=dict)

    async def snapshot(self) -> list[Any]:
        data = await self.client.ok(SNAPSHOT, {"ids": list(self.ids.values())})
        nodes: list[Any] = data["nodes"]
        assert all(n is not None for n in nodes), nodes
        return nodes

    async def everything(self) -> dict[str, Any]:
        return await self.client.ok(EVERYTHING)


async def call(
    client: GraphQLClient, name: str, input_type: str, input: dict[str, Any], selection: str
) -> Any:
    selected = f"{selection} userErrors {{ code }}"
    operation = f"mutation($input: {input_type}!) {{ r: {name}(input: $input) {{ {selected} }} }}"
    data = await client.ok(operation, {"input": input})
    assert data["r"]["userErrors"] == [], (name, data)
    return data["r"]


async def create(client: GraphQLClient, name: str, input: dict[str, Any], key: str) -> str:
    payload = await client.mutate(name, input, f"{key} {{ id }}")
    assert payload["userErrors"] == [], payload
    return str(payload[key]["id"])


async def build_world(client: GraphQLClient, label: str) -> World:
    world = World(client)
    ids = world.ids
    ids["pillar"] = await create(client, "pillarCreate", {"name": f"{label} pillar"}, "pillar")
    ids["area"] = await create(
        client, "areaCreate", {"pillarId": ids["pillar"], "name": f"{label} area"}, "area"
    )
    ids["project"] = await create(
        client, "projectCreate", {"areaId": ids["area"], "name": f"{label} project"}, "project"
    )
    task = {"projectId": ids["project"]}
    ids["task"] = await create(client, "taskCreate", {**task, "name": f"{label} task"}, "task")
    ids["subtask"] = await create(
        client, "taskCreate", {**task, "parentId": ids["task"], "name": f"{label} subtask"}, "task"
    )
    ids["done"] = await create(
        client, "taskCreate", {**task, "name": f"{label} done", "dependencyIds": [ids["task"]]}, "task"
    )
    completed = await call(client, "taskComplete", "TaskStatusInput", {"id": ids["done"]}, "task { status }")
    assert completed["task"]["status"] == "COMPLETED", completed
    ids["old pillar"] = await create(client, "pillarCreate", {"name": f"{label} old"}, "pillar")
    archived = await call(
        client, "pillarArchive", "IdInput", {"id": ids["old pillar"]}, "pillar { archived }"
    )
    assert archived["pillar"]["archived"] is True, archived
    ids["old area"] = await create(
        client, "areaCreate", {"pillarId": ids["pillar"], "name": f"{label} old area"}, "area"
    )
    ids["old project"] = await create(
        client, "projectCreate", {"areaId": ids["area"], "name": f"{label} old project"}, "project"
    )
    for name, key in (("areaArchive", "old area"), ("projectArchive", "old project")):
        await call(client, name, "IdInput", {"id": ids[key]}, "__typename")
    return world


@pytest.fixture
async def worlds(alice: GraphQLClient, bob: GraphQLClient) -> tuple[World, World]:
    return await build_world(alice, "Alice"), await build_world(bob, "Bob")


# --- reading ------------------------------------------------------------------------------------------------


async def test_node_and_nodes_hide_the_other_users_objects(worlds: tuple[World, World]) -> None:
    alice, bob = worlds
    for role, global_id in alice.ids.items():
        data = await bob.client.ok("query($id: ID!) { node(id: $id) { id } }", {"id": global_id})
        assert data["node"] is None, role
        # The control: the owner does get it.
        assert (await alice.client.ok("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}))["node"]
    data = await bob.client.ok(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [*alice.ids.values(), bob.ids["task"]]}
    )
    assert data["nodes"] == [None] * len(alice.ids) + [{"id": bob.ids["task"]}]


async def test_lists_show_only_the_viewers_objects(worlds: tuple[World, World]) -> None:
    alice, bob = worlds
    everything = await bob.everything()
    listed = {n["id"] for connection in everything.values() for n in connection["nodes"]}
    assert listed == set(bob.ids.values())
    assert not listed & set(alice.ids.values())
    assert [everything[k]["totalCount"] for k in ("pillars", "areas", "projects", "tasks")] == [2, 2, 2, 3]


@pytest.mark.parametrize(
    ("query", "argument", "role"),
    [
        ("areas(first: 100, filter: {pillarId: $id, archived: null})", "ID", "pillar"),
        ("projects(first: 100, filter: {pillarId: $id, archived: null})", "ID", "pillar"),
        ("projects(first: 100, filter: {areaId: $id, archived: null})", "ID", "area"),
        ("tasks(first: 100, filter: {pillarId: $id, archived: null})", "ID", "pillar"),
        ("tasks(first: 100, filter: {areaId: $id, archived: null})", "ID", "area"),
        ("tasks(first: 100, filter: {projectId: $id, archived: null})", "ID", "project"),
        ("tasks(first: 100, filter: {parentId: $id, archived: null})", "ID", "task"),
    ],
)
async def test_filters_by_the_other_users_parents_find_nothing(
    worlds: tuple[World, World], query: str, argument: str, role: str
) -> None:
    alice, bob = worlds
    operation = f"query($id: {argument}) {{ list: {query} {{ totalCount nodes {{ id }} }} }}"
    owner = await alice.client.ok(operation, {"id": alice.ids[role]})
    assert owner["list"]["totalCount"] > 0  # the control: the filter does find Alice's rows for Alice
    data = await bob.client.ok(operation, {"id": alice.ids[role]})
    assert data["list"] == {"totalCount": 0, "nodes": []}


# --- writing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    mutation: str
    input: dict[str, Any]
    code: str = "NOT_FOUND"


def cases(a: dict[str, str], b: dict[str, str], versions: dict[str, int]) -> list[Case]:
    """Every way Bob could reach Alice's objects (``a``) by id, from his own (``b``)."""
    out: list[Case] = []
    for kind, archived in (("pillar", "old pillar"), ("area", "old area"), ("project", "old project")):
        out += [
            Case(f"{kind}Update", {"id": a[kind], "name": "Hacked"}),
            Case(f"{kind}Update", {"id": a[kind], "name": "Hacked", "expectedVersion": versions[a[kind]]}),
            Case(
                f"{kind}Update", {"id": a[kind], "name": "Hacked", "expectedVersion": versions[a[kind]] + 7}
            ),
            Case(f"{kind}Delete", {"id": a[kind]}),
            Case(f"{kind}Delete", {"id": a[archived]}),
            Case(f"{kind}Archive", {"id": a[kind]}),
            Case(f"{kind}Unarchive", {"id": a[archived]}),
            Case(f"{kind}Unarchive", {"id": a[kind]}),
        ]
    # Moving his own objects under hers.
    out += [
        Case("areaUpdate", {"id": b["area"], "pillarId": a["pillar"]}),
        Case("projectUpdate", {"id": b["project"], "areaId": a["area"]}),
    ]
    # Creating below hers, or reusing her ids for his objects.
    out += [
        Case("pillarCreate", {"id": a["pillar"], "name": "Mine now"}, "CONFLICT"),
        Case("areaCreate", {"pillarId": a["pillar"], "name": "Intruder"}),
        Case("areaCreate", {"id": a["area"], "pillarId": b["pillar"], "name": "Mine now"}, "CONFLICT"),
        Case("projectCreate", {"areaId": a["area"], "name": "Intruder"}),
        Case("projectCreate", {"id": a["project"], "areaId": b["area"], "name": "Mine now"}, "CONFLICT"),
        Case("taskCreate", {"projectId": a["project"], "name": "Intruder"}),
        Case("taskCreate", {"projectId": b["project"], "parentId": a["task"], "name": "Intruder"}),
        Case("taskCreate", {"projectId": a["project"], "parentId": a["task"], "name": "Intruder"}),
        Case("taskCreate", {"projectId": b["project"], "dependencyIds": [a["task"]], "name": "Intruder"}),
        Case(
            "taskCreate",
            {"projectId": b["project"], "dependencyIds": [b["task"], a["done"]], "name": "Intruder"},
        ),
        Case("taskCreate", {"id": a["task"], "projectId": b["project"], "name": "Mine now"}, "CONFLICT"),
    ]
    # Her tasks, directly.
    for role in ("task", "subtask", "done"):
        out += [
            Case("taskUpdate", {"id": a[role], "name": "Hacked"}),
            Case("taskUpdate", {"id": a[role], "status": "COMPLETED", "expectedVersion": versions[a[role]]}),
            Case("taskUpdate", {"id": a[role], "dependencyIds": []}),
            Case("taskDelete", {"id": a[role]}),
            Case("taskComplete", {"id": a[role]}),
            Case("taskReopen", {"id": a[role]}),
            Case("taskMove", {"id": a[role]}),
            Case("taskMove", {"id": a[role], "projectId": b["project"]}),
            Case("taskMove", {"id": a[role], "parentId": b["task"]}),
        ]
    # His tasks, pointed at hers.
    out += [
        Case("taskUpdate", {"id": b["task"], "dependencyIds": [a["task"]]}),
        Case("taskUpdate", {"id": b["subtask"], "dependencyIds": [b["done"], a["done"]]}),
        Case("taskMove", {"id": b["task"], "parentId": a["task"]}),
        Case("taskMove", {"id": b["subtask"], "parentId": a["subtask"]}),
        Case("taskMove", {"id": b["task"], "projectId": a["project"]}),
        Case("taskMove", {"id": b["subtask"], "projectId": a["project"], "parentId": a["task"]}),
        Case("tasksReorder", {"ids": [a["task"], a["done"]]}),
        Case("tasksReorder", {"ids": [a["done"], a["task"]]}),
        Case("tasksReorder", {"ids": [b["task"], a["task"]]}),
        Case("tasksReorder", {"ids": [b["done"], b["task"], a["done"]]}),
    ]
    return out


def named(ref: dict[str, Any]) -> str:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return str(ref["name"])


def type_string(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return type_string(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + type_string(ref["ofType"]) + "]"
    return str(ref["name"])


class Mutations:
    """What the schema says about each mutation, to call any of them with a payload that shows everything."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.types = {t["name"]: t for t in schema["types"]}
        self.fields = {f["name"]: f for f in self.types[schema["mutationType"]["name"]]["fields"]}

    def input_fields(self, mutation: str) -> set[str]:
        args = self.fields[mutation]["args"]
        if [a["name"] for a in args] != ["input"]:
            return set()
        return {f["name"] for f in self.types[named(args[0]["type"])]["inputFields"] or []}

    def by_id(self) -> set[str]:
        """The mutations whose input names an object by ``id`` or ``ids``."""
        return {m for m in self.fields if self.input_fields(m) & {"id", "ids"}}

    def operation(self, mutation: str) -> str:
        field = self.fields[mutation]
        input_type = type_string(field["args"][0]["type"])
        payload = self.types[named(field["type"])]
        selection = []
        for f in payload["fields"]:
            if f["name"] == "userErrors":
                selection.append("userErrors { field message code }")
            elif self.types[named(f["type"])]["kind"] in {"OBJECT", "INTERFACE"}:
                selection.append(f"{f['name']} {{ __typename }}")
            else:
                selection.append(f["name"])
        fields = " ".join(selection)
        return f"mutation($input: {input_type}) {{ result: {mutation}(input: $input) {{ {fields} }} }}"


async def test_no_mutation_reaches_the_other_users_objects(worlds: tuple[World, World]) -> None:
    alice, bob = worlds
    mutations = Mutations((await bob.client.ok(INTROSPECTION))["__schema"])
    alice_before, bob_before = await alice.snapshot(), await bob.snapshot()
    alice_lists, bob_lists = await alice.everything(), await bob.everything()
    versions = {n["id"]: n["version"] for n in alice_before}

    exercised: set[str] = set()
    for case in cases(alice.ids, bob.ids, versions):
        assert case.mutation in mutations.fields, f"{case.mutation} is not in the schema"
        body = await bob.client.execute(mutations.operation(case.mutation), {"input": case.input})
        assert "errors" not in body, (case, body)
        result = body["data"]["result"]
        errors = result.pop("userErrors")
        assert [e["code"] for e in errors][:1] == [case.code], (case, errors)
        assert all(value in (None, []) for value in result.values()), (case, result)
        exercised.add(case.mutation)

    # Every mutation that takes an id was tried: a new one needs its case above.
    assert mutations.by_id() - exercised == set(), "mutations by id without an isolation case"

    assert await alice.snapshot() == alice_before
    assert await alice.everything() == alice_lists
    assert await bob.snapshot() == bob_before
    assert await bob.everything() == bob_lists


async def test_the_same_mutations_work_for_the_owner(worlds: tuple[World, World]) -> None:
    """The control for the test above: the cases are real calls that do act on one's own objects."""
    _alice, bob = worlds
    mutations = Mutations((await bob.client.ok(INTROSPECTION))["__schema"])
    own = {**bob.ids}
    samples = [
        Case("pillarUpdate", {"id": own["pillar"], "name": "Renamed"}),
        Case("areaUpdate", {"id": own["old area"], "pillarId": own["old pillar"]}),
        Case("taskMove", {"id": own["done"], "parentId": own["task"]}),
        Case("taskUpdate", {"id": own["subtask"], "dependencyIds": [own["done"]]}),
        Case("tasksReorder", {"ids": [own["subtask"], own["done"]]}),
        Case("taskComplete", {"id": own["subtask"]}),
        Case("pillarUnarchive", {"id": own["old pillar"]}),
        Case("projectDelete", {"id": own["old project"]}),
    ]
    for case in samples:
        body = await bob.client.execute(mutations.operation(case.mutation), {"input": case.input})
        result = body["data"]["result"]
        assert result.pop("userErrors") == [], (case, body)
        assert any(value not in (None, []) for value in result.values()), (case, result)
