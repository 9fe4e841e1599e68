"""Two users never see, change, move under or depend on each other's objects, whatever they call.

The mutations acting on an object by ``id`` are read from the schema: one without a case here fails the test.
The query fields taking ids are read from the schema too, and called with the other user's ids. Either way the
answer must look exactly like the answer for ids that name nothing at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from aurum.ids import parse_global_id, to_global_id
from aurum.resources import Resources
from tests.support import GraphQLClient, wait_for

TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }"
INTROSPECTION = f"""{{ __schema {{ queryType {{ name }} mutationType {{ name }}
  types {{ name kind possibleTypes {{ name }}
          inputFields {{ name defaultValue type {{ {TYPE_REF} }} }}
          fields {{ name args {{ name defaultValue type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }}
}} }}"""

SNAPSHOT = """query($ids: [ID!]!) { nodes(ids: $ids) {
  __typename id
  ... on Pillar { name version archived updatedAt sortOrder }
  ... on Area { name version archived updatedAt sortOrder pillar { id } }
  ... on Project { name version archived updatedAt sortOrder projectStatus: status area { id } }
  ... on Task { name version status updatedAt sortOrder completedAt project { id } parent { id }
                dependencies { id } }
  ... on ApiKey { name version scopes revokedAt }
  ... on Resource { filename version checksum parent { id } }
  ... on JournalEntry { title version trashedAt updatedAt template { id } }
  ... on JournalTemplate { name version updatedAt }
  ... on Notification { read version }
  ... on Insight { insightStatus: status pinned version }
  ... on AnalysisRun { runStatus: status version }
  ... on Calendar { name version refreshedAt eventCount }
  ... on CalendarFeed { version revokedAt }
  ... on TimeEntry { version endedAt minutes }
} }"""

EVERYTHING = """{
  pillars(first: 100, filter: {archived: null}) { totalCount nodes { id } }
  areas(first: 100, filter: {archived: null}) { totalCount nodes { id } }
  projects(first: 100, filter: {archived: null}) { totalCount nodes { id } }
  tasks(first: 100, filter: {archived: null}) { totalCount nodes { id } }
  apiKeys { id version revokedAt }
  resources(first: 100) { nodes { id } }
  journalEntries(first: 100, filter: {trashed: null}) { nodes { id } }
  journalTemplates(includeBuiltIn: false) { id }
  notifications(first: 100) { nodes { id } }
  insights(first: 100, filter: {status: [ACTIVE, DISMISSED, EXPIRED]}) { nodes { id } }
  analysisRuns(first: 100) { nodes { id } }
  calendars { id }
  calendarFeeds { id }
  timeEntries { id }
}"""


@dataclass
class World:
    """One user's objects, by role."""

    client: GraphQLClient
    ids: dict[str, str] = field(default_factory=dict)
    api_key: str = ""  # the secret of the key ``ids["api key"]``
    session: str = (
        ""  # the id of the signed-in session of ``client`` (not versioned: kept apart from ``ids``)
    )

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
    key = await call(
        client,
        "apiKeyCreate",
        "ApiKeyCreateInput",
        {"name": f"{label} key", "scopes": ["READ"]},
        "apiKey { id } secret",
    )
    ids["api key"], world.api_key = key["apiKey"]["id"], key["secret"]
    listed = (await client.ok("{ sessions { id current } }"))["sessions"]
    world.session = next(s["id"] for s in listed if s["current"])
    template = {"name": f"{label} template"}
    ids["journal template"] = await create(client, "journalTemplateCreate", template, "journalTemplate")
    entry = {"title": f"{label} entry", "templateId": ids["journal template"]}
    ids["journal entry"] = await create(client, "journalEntryCreate", entry, "journalEntry")
    ids["trashed entry"] = await create(client, "journalEntryCreate", {"title": "Old"}, "journalEntry")
    await call(client, "journalEntryDelete", "IdInput", {"id": ids["trashed entry"]}, "__typename")
    from tests.test_resources import PNG, upload  # a real multipart upload

    uploaded = await upload(client, "photo.png", PNG, "image/png", parent_id=ids["task"])
    ids["file"] = uploaded["resource"]["id"]
    ids["analysis run"], ids["insight"] = await analysed(client, ids["task"])
    from tests.test_calendars import FILES, import_calendar

    imported = await import_calendar(client, "work.ics", (FILES / "work.ics").read_bytes())
    ids["calendar"] = imported["calendar"]["id"]
    feed = await client.ok("mutation { calendarFeedCreate { feed { id } } }")
    ids["calendar feed"] = feed["calendarFeedCreate"]["feed"]["id"]
    timer = await call(
        client, "timeEntryStart", "TimeEntryTaskInput", {"taskId": ids["task"]}, "timeEntry { id }"
    )
    ids["time entry"] = timer["timeEntry"]["id"]
    assert await key_works(client.http, world.api_key, client.user_id)
    return world


async def analysed(client: GraphQLClient, task_id: str, depth: str = "QUICK") -> tuple[str, str]:
    """A finished analysis of the task, and the insight it found (its priority reasoning)."""
    request = {"scopeId": task_id, "depth": depth}
    run = await call(client, "analysisRequest", "AnalysisRequestInput", request, "run { id }")
    run_id = run["run"]["id"]
    found: list[str] = []

    async def finished() -> bool:
        data = await client.ok(
            "query($id: ID!) { analysisRun(id: $id) { status insights { id } } }", {"id": run_id}
        )
        found[:] = [i["id"] for i in data["analysisRun"]["insights"]]
        return bool(data["analysisRun"]["status"] == "SUCCEEDED")

    await wait_for(finished, "the analysis to finish")
    assert found, "the analysis found nothing"
    return run_id, found[0]


async def key_works(http: httpx.AsyncClient, secret: str, user_id: str) -> bool:
    """Whether the API key ``secret`` reads the data of ``user_id``."""
    response = await GraphQLClient(http, secret).post("{ viewer { id } }")
    if response.status_code != 200:
        return False
    body = response.json()
    return "errors" not in body and body["data"]["viewer"]["id"] == user_id


@pytest.fixture
async def worlds(alice: GraphQLClient, bob: GraphQLClient, resources: Resources) -> tuple[World, World]:
    from tests.test_notifications import notification_of  # made by the scheduler, not a mutation

    made = await build_world(alice, "Alice"), await build_world(bob, "Bob")
    for world in made:
        world.ids["notification"] = await notification_of(resources, world.client, world.ids["task"])
    return made


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
    lists = [c["nodes"] if isinstance(c, dict) else c for c in everything.values()]
    listed = {n["id"] for nodes in lists for n in nodes}
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
            Case("taskSkip", {"id": a[role]}),
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
    # Her API key.
    out += [Case("apiKeyRevoke", {"id": a["api key"]})]
    # Her files.
    out += [Case("resourceDelete", {"id": a["file"]})]
    # Her calendars and feeds.
    out += [
        Case("calendarRefresh", {"id": a["calendar"]}),
        Case("calendarRemove", {"id": a["calendar"]}),
        Case("calendarFeedRevoke", {"id": a["calendar feed"]}),
    ]
    # Her time: timers on her tasks, entries on them, her entries.
    out += [
        Case("timeEntryDelete", {"id": a["time entry"]}),
        Case("timeEntryStart", {"taskId": a["task"]}),
        Case("timeEntryStop", {"taskId": a["task"]}),
        Case(
            "timeEntryCreate",
            {"taskId": a["task"], "start": "2026-01-01T09:00:00Z", "end": "2026-01-01T10:00:00Z"},
        ),
    ]
    # Her notifications.
    out += [
        Case("notificationMarkRead", {"ids": [a["notification"]]}),
        Case("notificationMarkRead", {"ids": [b["notification"], a["notification"]]}),
    ]
    # Her journal: entries, the trash, her templates.
    entry, trashed, template = a["journal entry"], a["trashed entry"], a["journal template"]
    out += [
        Case("journalEntryUpdate", {"id": entry, "title": "Hacked"}),
        Case("journalEntryUpdate", {"id": entry, "title": "Hacked", "expectedVersion": versions[entry]}),
        Case("journalEntryUpdate", {"id": b["journal entry"], "templateId": template}),
        Case("journalEntryCreate", {"templateId": template}),
        Case("journalEntryCreate", {"id": entry, "title": "Mine now"}, "CONFLICT"),
        Case("journalEntryDelete", {"id": entry}),
        Case("journalEntryDelete", {"id": trashed}),
        Case("journalEntryRestore", {"id": trashed}),
        Case("journalEntryPurge", {"id": trashed}),
        Case("journalEntryPurge", {"id": entry}),
        Case("journalTemplateUpdate", {"id": template, "name": "Hacked"}),
        Case("journalTemplateDelete", {"id": template}),
        Case("journalTemplateCreate", {"id": template, "name": "Mine now"}, "CONFLICT"),
    ]
    # Her HRM: verdicts on her priorities and insights, pinning, dismissing, analysing her records.
    out += [
        Case("taskPriorityFeedback", {"taskId": a["task"], "verdict": "TOO_HIGH"}),
        Case("insightFeedback", {"insightId": a["insight"], "verdict": "REJECTED"}),
        Case("insightPin", {"id": a["insight"], "pinned": True}),
        Case("insightDismiss", {"id": a["insight"]}),
        Case("analysisRequest", {"scopeId": a["project"]}),
        Case("analysisRequest", {"scopeId": a["task"], "depth": "DEEP"}),
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
    # Her signed-in device too: were it ended, her requests below would fail.
    for case in [*cases(alice.ids, bob.ids, versions), Case("sessionRevoke", {"id": alice.session})]:
        assert case.mutation in mutations.fields, f"{case.mutation} is not in the schema"
        operation = mutations.operation(case.mutation)
        body = await bob.client.execute(operation, {"input": case.input})
        assert "errors" not in body, (case, body)
        if case.code == "NOT_FOUND":
            # Exactly the answer for ids that name nothing: not even the errors' order or wording tells that
            # her objects exist. (A create reusing her id is the exception: it answers CONFLICT, as a create
            # reusing any taken id must, where a create with a fresh id would succeed.)
            disguise = Disguise([*alice.ids.values(), alice.session])
            unknown = disguise.apply(case.input)
            assert unknown != case.input, (case, "names none of her objects")
            answer = await bob.client.execute(operation, {"input": unknown})
            assert disguise.undo(answer) == body, (case, body, answer)
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
    # Her API key was not revoked: it still reads her data.
    assert await key_works(alice.client.http, alice.api_key, alice.client.user_id)


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
        Case("apiKeyRevoke", {"id": own["api key"]}),
    ]
    for case in samples:
        body = await bob.client.execute(mutations.operation(case.mutation), {"input": case.input})
        result = body["data"]["result"]
        assert result.pop("userErrors") == [], (case, body)
        assert any(value not in (None, []) for value in result.values()), (case, result)
    # Revoking does stop a key, so a key that still works after the attempts above was really left alone.
    assert not await key_works(bob.client.http, bob.api_key, bob.client.user_id)


# --- the answer for someone else's id is the answer for no one's -------------------------------------------


class Disguise:
    """Fresh random global ids standing in for someone's ids, each of the same type, and back."""

    def __init__(self, ids: list[str]) -> None:
        self.fresh: dict[str, str] = {}
        for global_id in ids:
            parsed = parse_global_id(global_id)
            assert parsed is not None, global_id
            self.fresh[global_id] = to_global_id(parsed[0], uuid.uuid4())
        self.back = {new: old for old, new in self.fresh.items()}

    def apply(self, value: Any) -> Any:
        return replaced(value, self.fresh)

    def undo(self, value: Any) -> Any:
        """An answer to the disguised ids as it reads with the real ones (messages may quote the id given)."""
        return replaced(value, self.back)


def replaced(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in mapping.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [replaced(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: replaced(v, mapping) for k, v in value.items()}
    return value


def empty(value: Any) -> bool:
    """Whether an answer holds nothing: nulls, empty lists, zero counts, false flags (type names aside)."""
    if isinstance(value, dict):
        return all(empty(v) for k, v in value.items() if k != "__typename")
    if isinstance(value, list):
        return all(empty(v) for v in value)
    return value in (None, False, 0, "")


# Values for required arguments that are not ids, as "field.argument" or "InputType.field": a query field
# with such an argument and no sample here fails the test below rather than going untested.
SAMPLES: dict[str, Any] = {}
# Optional input fields set so that the widest set of rows is searched (null means "archived or not").
WIDEST: dict[str, Any] = {"archived": None}


def required(argument: dict[str, Any]) -> bool:
    return bool(argument["type"]["kind"] == "NON_NULL" and argument["defaultValue"] is None)


def is_list(ref: dict[str, Any]) -> bool:
    while ref["kind"] == "NON_NULL":
        ref = ref["ofType"]
    return bool(ref["kind"] == "LIST")


@dataclass(frozen=True)
class Slot:
    """Where a query field takes ids: an argument, or a field of an input object argument."""

    field: str
    argument: str
    input_field: str | None
    many: bool


class Queries:
    """What the schema says about each query field, to call it with ids and select everything plain."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.types = {t["name"]: t for t in schema["types"]}
        self.fields = {f["name"]: f for f in self.types[schema["queryType"]["name"]]["fields"]}

    def inputs_with_ids(self, type_name: str) -> Iterator[str]:
        """The input fields of ``type_name`` that take ids, failing on ids nested deeper than handled."""
        for f in self.types[type_name]["inputFields"]:
            inner = self.types[named(f["type"])]
            if inner["name"] == "ID":
                yield f["name"]
            elif inner["kind"] == "INPUT_OBJECT":
                assert not list(self.inputs_with_ids(inner["name"])), (
                    f"{type_name}.{f['name']} nests ids deeper than this test looks: extend Slot"
                )

    def slots(self, name: str) -> list[Slot]:
        out = []
        for arg in self.fields[name]["args"]:
            arg_type = self.types[named(arg["type"])]
            if arg_type["name"] == "ID":
                out.append(Slot(name, arg["name"], None, is_list(arg["type"])))
            elif arg_type["kind"] == "INPUT_OBJECT":
                for input_field in self.inputs_with_ids(arg_type["name"]):
                    ref = next(f for f in arg_type["inputFields"] if f["name"] == input_field)["type"]
                    out.append(Slot(name, arg["name"], input_field, is_list(ref)))
        return out

    def arguments(self, slot: Slot, value: Any) -> dict[str, Any]:
        """The arguments putting ``value`` in ``slot``, with samples for whatever else is required."""
        values: dict[str, Any] = {}
        for arg in self.fields[slot.field]["args"]:
            if arg["name"] == slot.argument:
                inside = slot.input_field
                values[arg["name"]] = (
                    value if inside is None else self.input_object(named(arg["type"]), {inside: value})
                )
            elif required(arg):
                key = f"{slot.field}.{arg['name']}"
                assert key in SAMPLES, f"{key} is required: give it a sample value in SAMPLES"
                values[arg["name"]] = SAMPLES[key]
        return values

    def input_object(self, type_name: str, given: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in self.types[type_name]["inputFields"]:
            if f["name"] in given:
                values[f["name"]] = given[f["name"]]
            elif f["name"] in WIDEST:
                values[f["name"]] = WIDEST[f["name"]]
            elif required(f):
                key = f"{type_name}.{f['name']}"
                assert key in SAMPLES, f"{key} is required: give it a sample value in SAMPLES"
                values[f["name"]] = SAMPLES[key]
        return values

    def selection(self, type_name: str, clashes: frozenset[str] = frozenset()) -> str:
        """Every plain field of the type; ``{ totalCount }`` of lists and ``{ __typename }`` of objects below.

        For an interface, the same of each type implementing it; a field name with different types in two of
        them (Task.status, Project.status) is aliased by type, as GraphQL requires.
        """
        kind = self.types[type_name]["kind"]
        if kind in {"SCALAR", "ENUM"}:
            return ""
        parts = ["__typename"]
        for f in self.types[type_name]["fields"]:
            if any(required(a) for a in f["args"]):
                continue
            inner = self.types[named(f["type"])]
            alias = f"{type_name}_{f['name']}: " if f["name"] in clashes else ""
            if inner["kind"] in {"SCALAR", "ENUM"}:
                parts.append(f"{alias}{f['name']}")
            elif any(g["name"] == "totalCount" for g in inner["fields"] or []):
                parts.append(f"{alias}{f['name']} {{ totalCount }}")
            else:
                parts.append(f"{alias}{f['name']} {{ __typename }}")
        possible = [p["name"] for p in self.types[type_name]["possibleTypes"] or []]
        shapes: dict[str, set[str]] = {}
        for name in possible:
            for f in self.types[name]["fields"]:
                shapes.setdefault(f["name"], set()).add(type_string(f["type"]))
        clashing = frozenset(name for name, types in shapes.items() if len(types) > 1)
        parts += [f"... on {name} {self.selection(name, clashing)}" for name in possible]
        return "{ " + " ".join(parts) + " }"

    def operation(self, name: str, arguments: dict[str, Any]) -> str:
        types = {a["name"]: type_string(a["type"]) for a in self.fields[name]["args"]}
        declared = ", ".join(f"${a}: {types[a]}" for a in arguments)
        passed = ", ".join(f"{a}: ${a}" for a in arguments)
        selection = self.selection(named(self.fields[name]["type"]))
        return f"query({declared}) {{ {name}({passed}) {selection} }}"


async def test_no_query_field_reaches_the_other_users_objects(worlds: tuple[World, World]) -> None:
    alice, bob = worlds
    queries = Queries((await bob.client.ok(INTROSPECTION))["__schema"])
    hers = [*alice.ids.values(), alice.client.user_id]
    slots = [slot for name in queries.fields for slot in queries.slots(name)]
    # The schema reading finds the known ones (and any new one on its own).
    assert {(s.field, s.input_field) for s in slots} >= {
        ("node", None),
        ("nodes", None),
        ("areas", "pillarId"),
        ("projects", "areaId"),
        ("tasks", "projectId"),
        ("tasks", "parentId"),
    }
    for slot in slots:
        values: list[Any] = [[one] for one in hers] + [hers] if slot.many else list(hers)
        owner_finds = False
        for value in values:
            arguments = queries.arguments(slot, value)
            operation = queries.operation(slot.field, arguments)
            answer = await bob.client.execute(operation, arguments)
            assert empty(answer.get("data")), (slot, value, answer)
            disguise = Disguise(hers)
            unknown = await bob.client.execute(operation, disguise.apply(arguments))
            assert disguise.undo(unknown) == answer, (slot, value, answer, unknown)
            owner = await alice.client.execute(operation, arguments)
            owner_finds = owner_finds or ("errors" not in owner and not empty(owner["data"]))
        # The control: the same calls do find her objects for her, so the empty answers above mean something.
        assert owner_finds, f"{slot}: none of the owner's ids finds anything for her either"
