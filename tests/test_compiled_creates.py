"""``taskCreate`` on the compiled path (aurum.compiled.creating) answers what the resolvers answer, to the
byte: the same documents and inputs sent to a server with compiled reads and writes and to one with
``AURUM_COMPILED_READS=false``, on the same data. A create with a client id made by one server and repeated
on the other returns the same task, so even its id and timestamps must agree; the creates that fail must
agree on their userErrors. It also takes fewer statements, and what it leaves to the resolvers still works.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.ids import to_global_id
from aurum.resources import Resources
from aurum.settings import Settings
from tests.conftest import register
from tests.hierarchy import chain, make_task
from tests.support import GraphQLClient, StatementCounter, uuid_of
from tests.test_client_operations import operation
from tests.test_compiled_differential import answered
from tests.test_realtime import app_server, listen, origin, what
from tests.ws import signed_in

__all__ = ["origin"]  # the realtime tests' session cursor, as a fixture here too

TASK_LEAVES = (
    "id name description status kanbanColumn priority dueDate dueTime reminderAt estimatedMinutes energy"
    " category subtasksRequired completedAt sortOrder recurrenceIndex version createdAt updatedAt isOverdue"
    " canStart"
)
DOCUMENTS = {
    "the client's": operation("TaskCreate"),
    "the bench's": "mutation($input: TaskCreateInput!) { taskCreate(input: $input) {"
    " task { id name } userErrors { message } } }",
    "every leaf": "mutation($input: TaskCreateInput!) { taskCreate(input: $input) {"
    f" task {{ {TASK_LEAVES} }} userErrors {{ field message code }} }} }}",
    "aliases and fragments": """
        mutation Make($input: TaskCreateInput!) { __typename made: taskCreate(input: $input) {
          errs: userErrors { __typename c: code ...E } __typename
          t: task { ...T name @skip(if: true) due: dueDate ... on Task { status } __typename
            project { id name status area { id name pillar { id } } } parent { id }
            blockedBy { id } dependencies { id name } recurrence { frequency } }
        } }
        fragment T on Task { id name isOverdue canStart }
        fragment E on UserError { message field }""",
    "no task": "mutation($input: TaskCreateInput!) { taskCreate(input: $input) { userErrors { code } } }",
}
INPUTS: dict[str, dict[str, Any]] = {
    "a name": {"name": "Write"},
    "every column": {
        "name": "Plan the week",
        "description": "Sunday evening",
        "status": "IN_PROGRESS",
        "priority": "HIGH",
        "dueDate": "2026-01-02",
        "dueTime": "17:30",
        "reminderAt": "2026-01-02T09:00:00",
        "estimatedMinutes": 45,
        "energy": "LOW",
        "category": "DEEP_WORK",
        "subtasksRequired": True,
        "sortOrder": 7,
    },
    "completed": {"name": "Done already", "status": "COMPLETED", "dueDate": "2020-05-01"},
    "a reminder with an offset": {"name": "Call", "reminderAt": "2030-03-04T05:06:07+02:00"},
    "nulls": {"name": "Nulls", "description": None, "dueDate": None, "energy": None, "sortOrder": None},
}
LOGGED = "SELECT actor_type, actor_id, request_id FROM events WHERE entity_id = :id"
LEFT = "mutation($input: TaskCreateInput!) {{ taskCreate(input: $input) {{ task {{ {} }} }} }}"
REFUSED: dict[str, dict[str, Any]] = {
    "no name": {"name": ""},
    "a long name": {"name": "x" * 201},
    "a due time alone": {"name": "Late", "dueTime": "10:00"},
    "a bad due time": {"name": "Late", "dueTime": "25:61", "estimatedMinutes": 0},
    "skipped": {"name": "Never", "status": "SKIPPED"},
    "a null status": {"name": "Odd", "status": None},
    "a reminder before the years": {"name": "Far", "reminderAt": "0001-01-01T00:00:00+05:00"},
    "a bad project": {"name": "Lost", "projectId": "not-an-id"},
    "a project of another type": {"name": "Lost", "projectId": to_global_id("Area", uuid.uuid4())},
    "a project that is not there": {"name": "Lost", "projectId": to_global_id("Project", uuid.uuid4())},
    "a bad client id": {"name": "Mine", "id": "nope"},
}


@pytest.fixture
async def servers(settings: Settings, resources: Resources) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    async with (
        app_server(settings, resources) as compiled_url,
        app_server(settings, resources, compiled_reads=False) as resolver_url,
        httpx.AsyncClient(base_url=compiled_url, timeout=30) as compiled,
        httpx.AsyncClient(base_url=resolver_url, timeout=30) as resolvers,
    ):
        yield compiled, resolvers


@pytest.fixture
async def person(servers: tuple[httpx.AsyncClient, ...]) -> tuple[GraphQLClient, str]:
    """Someone far from UTC (the reminders without an offset are read in their zone), with a project."""
    client = await register(servers[0], timezone="Pacific/Kiritimati")
    *_, project = await chain(client)
    return client, project


async def send(
    http: httpx.AsyncClient, person: GraphQLClient, document: str, input: dict[str, Any]
) -> httpx.Response:
    headers = {"authorization": f"Bearer {person.token}", "x-forwarded-for": person.address}
    body = {"query": document, "variables": {"input": input}}
    response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def both(
    servers: tuple[httpx.AsyncClient, ...], person: GraphQLClient, document: str, input: dict[str, Any]
) -> tuple[httpx.Response, httpx.Response]:
    """The compiled server's answer (which must come from its compiled path) and the resolvers'."""
    compiled, resolvers = servers
    before = await answered(compiled)
    made = await send(compiled, person, document, input)
    assert (await answered(compiled))["compiled"] == before["compiled"] + 1, document
    return made, await send(resolvers, person, document, input)


@pytest.mark.parametrize("document", list(DOCUMENTS), ids=list(DOCUMENTS))
@pytest.mark.parametrize("given", list(INPUTS), ids=list(INPUTS))
async def test_a_create_answers_as_the_resolvers_do(
    servers: tuple[httpx.AsyncClient, ...], person: tuple[GraphQLClient, str], document: str, given: str
) -> None:
    client, project = person
    text = DOCUMENTS[document]
    for first in (0, 1):  # made compiled and repeated by the resolvers, then the other way round
        input = {**INPUTS[given], "projectId": project, "id": str(uuid.uuid4())}
        made = await send(servers[first], client, text, input)
        again = await send(servers[1 - first], client, text, input)
        assert made.content == again.content, (first, made.text, again.text)
        assert b'"errors"' not in made.content
    compiled, resolved = await both(servers, client, text, {**INPUTS[given], "projectId": project})
    assert _without_instance(compiled.text) == _without_instance(resolved.text)


def _without_instance(answer: str) -> str:
    """An answer without what differs between two new tasks: ids and timestamps."""
    answer = re.sub(r'"(id|createdAt|updatedAt|completedAt)":"[^"]*"', r'"\1":_', answer)
    return re.sub(r'"(t|task)":\{"id":_', r'"\1":{"id":_', answer)


@pytest.mark.parametrize("given", list(REFUSED), ids=list(REFUSED))
async def test_a_refused_create_says_why_as_the_resolvers_do(
    servers: tuple[httpx.AsyncClient, ...], person: tuple[GraphQLClient, str], given: str
) -> None:
    client, project = person
    for text in (DOCUMENTS["the client's"], DOCUMENTS["aliases and fragments"]):
        compiled, resolved = await both(servers, client, text, {"projectId": project, **REFUSED[given]})
        assert compiled.content == resolved.content
        assert b'"userErrors":[]' not in compiled.content
        assert b'"errs":[]' not in compiled.content


async def test_someone_elses_project_and_task_id_are_not_found_or_taken(
    servers: tuple[httpx.AsyncClient, ...], person: tuple[GraphQLClient, str]
) -> None:
    client, project = person
    other = await register(servers[0])
    theirs = await make_task(client, project, "Mine")
    text = DOCUMENTS["every leaf"]
    for input in (
        {"projectId": project, "name": "Theirs"},  # the project is not theirs
        {"projectId": (await chain(other))[2], "name": "Theirs", "id": theirs},  # the id is taken
    ):
        compiled, resolved = await both(servers, other, text, input)
        assert compiled.content == resolved.content
        assert b"NOT_FOUND" in compiled.content or b"CONFLICT" in compiled.content


async def test_what_the_compiled_path_leaves_to_the_resolvers_still_works(
    servers: tuple[httpx.AsyncClient, ...], person: tuple[GraphQLClient, str]
) -> None:
    """Subtasks, dependencies, recurrences, fields the read path does not know and lists below the task."""
    client, project = person
    compiled, _ = servers
    parent = await make_task(client, project, "Parent")
    cases: list[tuple[str, dict[str, Any]]] = [
        (DOCUMENTS["the client's"], {"parentId": parent}),
        (DOCUMENTS["the client's"], {"dependencyIds": [parent]}),
        (DOCUMENTS["the client's"], {"recurrence": {"frequency": "DAILY"}, "dueDate": "2030-01-01"}),
        (LEFT.format("score { value }"), {}),
        (LEFT.format("subtasks { totalCount }"), {}),
    ]
    for text, extra in cases:
        before = await answered(compiled)
        answer = (await send(compiled, client, text, {"projectId": project, "name": "Left", **extra})).json()
        assert "errors" not in answer, answer
        assert answer["data"]["taskCreate"]["task"] is not None
        assert (await answered(compiled))["resolvers"] == before["resolvers"] + 1, text


async def test_a_read_only_key_and_a_get_are_refused_as_before(
    servers: tuple[httpx.AsyncClient, ...], person: tuple[GraphQLClient, str]
) -> None:
    client, project = person
    compiled, _ = servers
    created = await client.mutate("apiKeyCreate", {"name": "Reader", "scopes": ["READ"]}, "secret")
    reader = GraphQLClient(compiled, created["secret"])
    text, input = DOCUMENTS["the client's"], {"projectId": project, "name": "Nope"}
    answers = [await send(http, reader, text, input) for http in servers]
    assert answers[0].content == answers[1].content
    assert answers[0].json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    params = {"query": text, "variables": '{"input": {}}'}
    headers = {"authorization": f"Bearer {client.token}"}
    gets = [await http.get("/graphql", params=params, headers=headers) for http in servers]
    assert gets[0].status_code == gets[1].status_code == 405
    assert gets[0].content == gets[1].content


async def test_a_compiled_create_takes_one_statement_past_its_begin(
    servers: tuple[httpx.AsyncClient, ...], person: tuple[GraphQLClient, str], statements: StatementCounter
) -> None:
    """The insert that checks the project and returns the payload's columns; naming the user and taking
    their lock go with the BEGIN (transaction control is not counted). One more for the zone when the
    payload asks whether the task is overdue, one for what it waits for. The resolvers take more."""
    client, project = person
    for text, count in ((DOCUMENTS["the bench's"], 1), (DOCUMENTS["the client's"], 3)):
        counted = []
        for http in servers:
            statements.reset()
            answer = (await send(http, client, text, {"projectId": project, "name": "Counted"})).json()
            assert answer["data"]["taskCreate"]["userErrors"] == []
            counted.append(statements.count)
        assert counted[0] == count, statements.statements
        assert counted[1] > counted[0]


async def test_the_change_log_and_subscribers_hear_of_a_compiled_create(
    server_url: str, alice: GraphQLClient, origin: str, owner: AsyncEngine
) -> None:
    """The event is the resolvers' (its actor and request id named by the BEGIN), and it is announced."""
    *_, project = await chain(alice)
    async with signed_in(server_url, alice.token or "") as ws:
        op, _ = await listen(ws, alice, origin)
        made = await alice.post(
            DOCUMENTS["the bench's"],
            {"input": {"projectId": project, "name": "Heard"}},
            **{"x-request-id": "Req0123456789"},
        )
        task = made.json()["data"]["taskCreate"]["task"]["id"]
        [created] = await ws.changes(op, 1)
        assert what(created) == ("CREATED", "TASK", task)
        assert created["node"] == {"__typename": "Task", "id": task, "name": "Heard"}
    async with owner.connect() as connection:
        logged = (
            await connection.execute(
                sql(LOGGED),
                {"id": uuid_of(task, "Task")},
            )
        ).all()
    assert [tuple(row) for row in logged] == [("user", uuid_of(alice.user_id), "Req0123456789")]


async def test_a_create_past_its_time_is_stopped_and_leaves_nothing(
    settings: Settings, resources: Resources, owner: AsyncEngine
) -> None:
    """Held up behind the user's change-log lock past the operation timeout, a create answers as the
    resolvers do and writes nothing; the connection it had is fit for the next create."""
    async with (
        app_server(settings, resources, operation_timeout=0.5) as compiled_url,
        app_server(settings, resources, operation_timeout=0.5, compiled_reads=False) as resolver_url,
        httpx.AsyncClient(base_url=compiled_url, timeout=30) as compiled,
        httpx.AsyncClient(base_url=resolver_url, timeout=30) as resolvers,
    ):
        client = await register(compiled)
        *_, project = await chain(client)
        text = DOCUMENTS["the bench's"]
        async with owner.connect() as holder:
            lock = "SELECT pg_advisory_lock(hashtextextended(:user, 4242))"
            await holder.execute(sql(lock), {"user": str(uuid_of(client.user_id))})
            stopped = [
                await send(
                    http, client, text, {"projectId": project, "name": "Late", "id": str(uuid.uuid4())}
                )
                for http in (compiled, resolvers)
            ]
            await holder.execute(sql("SELECT pg_advisory_unlock_all()"))
            await holder.commit()
        assert stopped[0].content == stopped[1].content
        assert stopped[0].json()["errors"][0]["extensions"]["code"] == "OPERATION_TIMEOUT"
        async with owner.connect() as connection:
            late = "SELECT count(*) FROM tasks WHERE project_id = :project AND name = 'Late'"
            assert await connection.scalar(sql(late), {"project": uuid_of(project, "Project")}) == 0
        for _ in range(3):  # as many as the pool may have handed the stopped one
            made = await send(compiled, client, text, {"projectId": project, "name": "On time"})
            assert made.json()["data"]["taskCreate"]["userErrors"] == []


async def test_a_keys_create_is_logged_as_the_keys(alice: GraphQLClient, owner: AsyncEngine) -> None:
    *_, project = await chain(alice)
    created = await alice.mutate(
        "apiKeyCreate", {"name": "Writer", "scopes": ["READ", "WRITE"]}, "apiKey { id } secret"
    )
    writer = GraphQLClient(alice.http, created["secret"])
    made = await writer.ok(DOCUMENTS["the bench's"], {"input": {"projectId": project, "name": "By key"}})
    task = uuid_of(made["taskCreate"]["task"]["id"], "Task")
    async with owner.connect() as connection:
        logged = (await connection.execute(sql(LOGGED), {"id": task})).all()
    assert [tuple(row)[:2] for row in logged] == [("api_key", uuid_of(created["apiKey"]["id"], "ApiKey"))]
