"""The compiled read path answers exactly what the resolvers answer, to the byte: documents generated over the
hierarchy (random selections, aliases, named and inline fragments, arguments, filters, orderings, page sizes
and cursors, ids of every kind) run against two servers on the same data, one reading compiled and one
with ``AURUM_COMPILED_READS=false``, for two people with generated lives."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.events.publish import announce
from aurum.ids import to_global_id
from aurum.resources import Resources
from aurum.settings import Settings
from aurum.tables import Area, Pillar, Project, Task
from tests.conftest import register
from tests.lives import Life, life, write
from tests.support import GraphQLClient, scores_settled, uuid_of
from tests.test_client_operations import operation
from tests.test_realtime import app_server

LEAVES = {
    "Pillar": "id name description icon color sortOrder archived timeAllocation visionStatement version "
    "createdAt updatedAt",
    "Area": "id name description icon color importance sortOrder archived version createdAt updatedAt",
    "Project": "id name description icon status priority importance deadline sortOrder archived version "
    "createdAt updatedAt completionPercent",
    "Task": "id name description status kanbanColumn priority dueDate dueTime reminderAt estimatedMinutes "
    "energy category subtasksRequired completedAt sortOrder recurrenceIndex version createdAt updatedAt "
    "isOverdue canStart",
}
OBJECTS = {  # field: (type, whether it is a list)
    "Pillar": {"progress": ("Progress", False)},
    "Area": {"pillar": ("Pillar", False), "progress": ("Progress", False)},
    "Project": {"area": ("Area", False)},
    "Task": {
        "project": ("Project", False),
        "parent": ("Task", False),
        "blockedBy": ("Task", True),
        "dependencies": ("Task", True),
        "recurrence": ("Recurrence", False),
    },
    "Progress": {},
    "Recurrence": {},
}
SMALL_LEAVES = {
    "Progress": "totalTasks completedTasks percent",
    "Recurrence": "frequency interval weekdays monthDay endDate count",
}
CHILDREN = {
    "Pillar": {"areas": "Area"},
    "Area": {"projects": "Project"},
    "Project": {"tasks": "Task"},
    "Task": {"subtasks": "Task"},
}
ROOTS = {"pillars": "Pillar", "areas": "Area", "projects": "Project", "tasks": "Task"}
ORDER_FIELDS = {
    "Pillar": ["SORT_ORDER", "NAME", "CREATED_AT", "UPDATED_AT"],
    "Task": ["SORT_ORDER", "DUE_DATE", "PRIORITY", "SCORE", "NAME", "CREATED_AT", "UPDATED_AT"],
}
RESOLVERS_ONLY = {"Task": ["score { value }", "nextOccurrence { id }", "insights { totalCount }"]}


@dataclass
class World:
    """What generated arguments may name: the people's ids, and a few that name nothing or another type."""

    ids: dict[str, list[str]]

    def some(self, type_name: str) -> list[str]:
        return self.ids.get(type_name, [])


def strings() -> st.SearchStrategy[str]:
    return st.sampled_from(["", "a", "Plan", "project", "ZZZ", "%", "_", "\\"])


class Documents:
    """Documents over the hierarchy, drawn step by step (``st.data``): each draw is a choice hypothesis can
    shrink."""

    def __init__(self, draw: Callable[[Any], Any], world: World) -> None:
        self.draw = draw
        self.world = world
        self.fragments: list[str] = []
        self.names = itertools.count()

    def document(self) -> str:
        root = self.draw(st.sampled_from([*ROOTS, "node", "nodes"]))
        alias = self._alias()
        if root in ROOTS:
            arguments, selection = self._arguments(ROOTS[root], root=True), self._connection(ROOTS[root], 0)
            body = f"{alias}{root}{arguments} {{ {selection} }}"
        else:
            body = f"{alias}{root}({self._node_ids(root)}) {{ {self._node_selection()} }}"
        extra = " __typename" if self.draw(st.booleans()) else ""
        return "\n".join([f"query {{ {body}{extra} }}", *self.fragments])

    def _alias(self) -> str:
        return self.draw(st.sampled_from(["", "", "a: ", "b: "]))

    def _node_ids(self, root: str) -> str:
        pool = [i for ids in self.world.ids.values() for i in ids] + ["bm90IGFuIGlk", "garbage", ""]
        chosen = self.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
        return f"id: {json.dumps(chosen[0])}" if root == "node" else f"ids: {json.dumps(chosen)}"

    def _node_selection(self) -> str:
        parts = ["__typename", "id"]
        for type_name in self.draw(st.lists(st.sampled_from(list(LEAVES)), max_size=2, unique=True)):
            parts.append(f"... on {type_name} {{ {self._object(type_name, 1)} }}")
        return " ".join(parts)

    def _connection(self, type_name: str, depth: int) -> str:
        parts = self.draw(
            st.lists(
                st.sampled_from(["totalCount", "pageInfo", "edges", "nodes", "nodes", "__typename"]),
                min_size=1,
                max_size=3,
            )
        )
        written = []
        for part in parts:
            alias = self._alias()
            if part == "pageInfo":
                written.append(f"{alias}pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}")
            elif part == "edges":
                written.append(f"{alias}edges {{ cursor node {{ {self._object(type_name, depth + 1)} }} }}")
            elif part == "nodes":
                written.append(f"{alias}nodes {{ {self._object(type_name, depth + 1)} }}")
            else:
                written.append(f"{alias}{part}")
        return " ".join(written)

    def _object(self, type_name: str, depth: int) -> str:
        leaves = (LEAVES.get(type_name) or SMALL_LEAVES[type_name]).split()
        chosen = self.draw(st.lists(st.sampled_from([*leaves, "__typename"]), min_size=1, max_size=5))
        parts = [f"{self._alias() if self.draw(st.booleans()) else ''}{name}" for name in chosen]
        if depth < 4:
            for name, (below, _listed) in OBJECTS.get(type_name, {}).items():
                if self.draw(st.integers(0, 6)) == 0:
                    parts.append(f"{name} {{ {self._object(below, depth + 1)} }}")
            for name, below in CHILDREN.get(type_name, {}).items():
                if self.draw(st.integers(0, 3)) == 0:
                    parts.append(f"{name}{self._arguments(below)} {{ {self._connection(below, depth + 1)} }}")
        if self.draw(st.integers(0, 20)) == 0 and type_name in RESOLVERS_ONLY:
            parts.append(self.draw(st.sampled_from(RESOLVERS_ONLY[type_name])))
        return self._wrapped(type_name, " ".join(parts))

    def _wrapped(self, type_name: str, selection: str) -> str:
        how = self.draw(st.sampled_from(["plain", "plain", "inline", "fragment", "skipped"]))
        if how == "inline":
            return f"... on {type_name} {{ {selection} }} id"
        if how == "fragment":
            name = f"F{next(self.names)}"
            self.fragments.append(f"fragment {name} on {type_name} {{ {selection} }}")
            return f"...{name} __typename"
        if how == "skipped":
            return f"{selection} __typename @skip(if: true) a: __typename @include(if: true)"
        return selection

    def _arguments(self, type_name: str, *, root: bool = False) -> str:
        given = []
        size = self.draw(st.sampled_from(["first", "first", "last", "none", "bad"]))
        if size == "first":
            given.append(f"first: {self.draw(st.integers(1, 6))}")
        elif size == "last":
            given.append(f"last: {self.draw(st.integers(1, 4))}")
        elif size == "bad":
            given.append(
                self.draw(st.sampled_from(["first: 0", "first: 101", 'after: "nope"', "first: 2, last: 2"]))
            )
        if root and self.draw(st.booleans()):
            given.append(self.draw(st.sampled_from(["after: $cursor", "before: $cursor"])))
        if self.draw(st.booleans()):
            given.append(f"filter: {self._filter(type_name)}")
        if self.draw(st.booleans()):
            field = self.draw(st.sampled_from(ORDER_FIELDS.get(type_name, ORDER_FIELDS["Pillar"])))
            direction = self.draw(st.sampled_from(["ASC", "DESC"]))
            given.append(f"orderBy: {{ field: {field}, direction: {direction} }}")
        return f"({', '.join(given)})" if given else ""

    def _filter(self, type_name: str) -> str:
        choices: dict[str, Callable[[], str]] = {
            "archived": lambda: self.draw(st.sampled_from(["true", "false", "null"])),
            "search": lambda: json.dumps(self.draw(strings())),
        }
        if type_name == "Area":
            choices["pillarId"] = lambda: self._id("Pillar")
        if type_name == "Project":
            choices |= {
                "areaId": lambda: self._id("Area"),
                "pillarId": lambda: self._id("Pillar"),
                "status": lambda: self.draw(st.sampled_from(["[ACTIVE]", "[PLANNING, ON_HOLD]", "[]"])),
            }
        if type_name == "Task":
            choices |= {
                "projectId": lambda: self._id("Project"),
                "areaId": lambda: self._id("Area"),
                "pillarId": lambda: self._id("Pillar"),
                "parentId": lambda: self._id("Task"),
                "topLevel": lambda: self.draw(st.sampled_from(["true", "false"])),
                "status": lambda: self.draw(
                    st.sampled_from(["[TODO]", "[COMPLETED, SKIPPED]", "[IN_PROGRESS]"])
                ),
                "priority": lambda: self.draw(st.sampled_from(["[HIGH, URGENT]", "[LOW]"])),
                "dueBefore": lambda: self.draw(st.sampled_from(['"2026-12-31"', '"2020-01-01"'])),
                "dueAfter": lambda: self.draw(st.sampled_from(['"2026-12-01"', '"2030-01-01"'])),
                "overdue": lambda: self.draw(st.sampled_from(["true", "false"])),
                "completed": lambda: self.draw(st.sampled_from(["true", "false"])),
            }
        names = self.draw(st.lists(st.sampled_from(sorted(choices)), max_size=3, unique=True))
        return "{ " + ", ".join(f"{name}: {choices[name]()}" for name in names) + " }"

    def _id(self, type_name: str) -> str:
        pool = (
            self.world.some(type_name)
            + self.world.some("Other" + type_name)
            + ["x", to_global_id("Task", uuid.uuid4())]
        )
        return json.dumps(self.draw(st.sampled_from(pool)))


@pytest.fixture(scope="module")
async def people(
    settings: Settings, resources: Resources, owner: AsyncEngine, server_url: str
) -> AsyncIterator[Any]:
    """Two people with generated lives, and two servers on the same data: compiled, and resolvers only
    (``server_url``: the suite's server, whose worker scores the lives for orderings by score)."""
    # One static ceiling for both: the compiled path judges by the rows it reads, the resolvers by what a
    # query could return, and a document between their limits would be answered by one and refused by the
    # other. Its fallback to the resolvers (a field it does not compile) is judged as the resolvers judge.
    async with (
        app_server(settings, resources, query_cost_ceiling=CEILING, max_query_cost=CEILING) as compiled_url,
        app_server(settings, resources, compiled_reads=False, max_query_cost=CEILING) as resolver_url,
        httpx.AsyncClient(base_url=compiled_url, timeout=30) as compiled_http,
        httpx.AsyncClient(base_url=resolver_url, timeout=30) as resolver_http,
    ):
        alice, bob = await register(compiled_http), await register(compiled_http)
        lives = [life(uuid_of(p.user_id), seed) for p, seed in ((alice, 1), (bob, 2))]
        for made in lives:
            async with resources.sessionmaker() as session, session.begin():
                await write(session, made)
            await announce(resources, made.user_id)  # as a mutation would: its scoring job is queued
        for person in (alice, bob):
            await scores_settled(owner, person.user_id)
        yield alice, compiled_http, resolver_http, world(lives[0], lives[1], alice.user_id)


def world(mine: Life, theirs: Life, user_id: str) -> World:
    types = {"Pillar": Pillar, "Area": Area, "Project": Project, "Task": Task}
    ids = {name: [to_global_id(name, i) for i in mine.ids(model)][:8] for name, model in types.items()}
    ids |= {
        "Other" + name: [to_global_id(name, i) for i in theirs.ids(model)][:2]
        for name, model in types.items()
    }
    ids["User"] = [user_id]
    return World(ids)


CEILING = 10_000_000
EXAMPLES = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))


@EXAMPLES
@given(data=st.data())
async def test_compiled_answers_are_the_resolvers_answers(people: Any, data: st.DataObject) -> None:
    alice, compiled_http, resolver_http, found = people
    document = Documents(data.draw, found).document()
    variables: dict[str, Any] = {}
    if "$cursor" in document:
        document = document.replace("query {", "query($cursor: String) {", 1)
        variables["cursor"] = await a_cursor(resolver_http, alice, document, data)
    before = await answered(compiled_http)
    compiled, resolved = [
        await http.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {alice.token}", "x-forwarded-for": alice.address},
        )
        for http in (compiled_http, resolver_http)
    ]
    path = "compiled" if (await answered(compiled_http))["compiled"] > before["compiled"] else "resolvers"
    event(f"answered by the {path} path")  # shown by --hypothesis-show-statistics
    assert resolved.status_code < 500, document  # a server failure of both would be "the same bytes"
    assert compiled.status_code == resolved.status_code, document
    assert compiled.content == resolved.content, f"{document}\n{variables}"


async def a_cursor(http: httpx.AsyncClient, person: GraphQLClient, document: str, data: st.DataObject) -> Any:
    """A cursor of the document's root list (from a first page of it), or null, or one that is no cursor."""
    response = await http.post(
        "/graphql",
        json={"query": document, "variables": {"cursor": None}},
        headers={"authorization": f"Bearer {person.token}"},
    )
    assert response.status_code < 500, (response.status_code, document)
    cursors = [c for c in _cursors(response.json().get("data")) if c]
    return data.draw(st.sampled_from([None, "bm9wZQ", *cursors[:3]]))


def _cursors(value: Any) -> list[Any]:
    if isinstance(value, dict):
        found = [value[k] for k in ("cursor", "startCursor", "endCursor") if k in value]
        return found + [c for v in value.values() for c in _cursors(v)]
    if isinstance(value, list):
        return [c for v in value for c in _cursors(v)]
    return []


CLIENT_READS = [
    ("Hierarchy", {}),
    ("Tasks", {"first": 5, "filter": {"completed": False}, "orderBy": {"field": "DUE_DATE"}}),
]


async def answered(http: httpx.AsyncClient) -> dict[str, float]:
    text = (await http.get("/metrics")).text
    return {
        line.split('"')[1]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("aurum_graphql_answers_total{")
    }


@pytest.mark.parametrize(("name", "variables"), CLIENT_READS, ids=[name for name, _ in CLIENT_READS])
async def test_the_clients_reads_are_compiled_and_the_same(
    people: Any, name: str, variables: dict[str, Any]
) -> None:
    """The client's own reads (client/operations) take the compiled path: the differential test above is
    not only of documents the compiled path leaves to the resolvers."""
    alice, compiled_http, resolver_http, _ = people
    body = {"query": operation(name), "variables": variables}
    headers = {"authorization": f"Bearer {alice.token}"}
    before = await answered(compiled_http)
    compiled = await compiled_http.post("/graphql", json=body, headers=headers)
    after = await answered(compiled_http)
    resolved = await resolver_http.post("/graphql", json=body, headers=headers)
    assert after["compiled"] == before["compiled"] + 1, (before, after)
    assert "errors" not in compiled.json()
    assert compiled.content == resolved.content
