"""The operations in client/ (what the SPA, the PWA and integrators are written against) stay valid against
the schema and do what they are for, run as a client runs them: over HTTP and over graphql-transport-ws."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from graphql import DocumentNode, build_schema, parse, print_ast, validate
from graphql.utilities import separate_operations

from tests.support import GraphQLClient
from tests.ws import signed_in

OPERATIONS = Path(__file__).resolve().parents[1] / "client" / "operations"
PASSWORD = "correct horse battery"


@cache
def client_document() -> DocumentNode:
    return parse("\n".join(path.read_text() for path in sorted(OPERATIONS.glob("*.graphql"))))


@cache
def operation(name: str) -> str:
    """The operation as a client sends it: itself and the fragments it uses."""
    return print_ast(separate_operations(client_document())[name])


async def run(client: GraphQLClient, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return await client.ok(operation(name), variables)


def test_every_client_operation_is_valid_against_the_schema(repo_root: Path) -> None:
    schema = build_schema((repo_root / "schema.graphql").read_text())
    assert validate(schema, client_document()) == []
    names = sorted(separate_operations(client_document()))
    assert {"Hierarchy", "Today", "RecordChanged", "TaskCreate", "AnalysisRunUpdated"} <= set(names)


async def test_a_client_journey_through_its_own_operations(http: httpx.AsyncClient, server_url: str) -> None:
    client = GraphQLClient(http)
    email = f"client-{uuid.uuid4().hex[:10]}@example.com"
    registered = (
        await run(client, "Register", {"input": {"email": email, "password": PASSWORD, "timezone": "UTC"}})
    )["accountRegister"]
    assert registered["userErrors"] == []
    client.token = registered["accessToken"]
    assert (await run(client, "Viewer"))["viewer"]["email"] == email

    pillar = (await run(client, "PillarCreate", {"input": {"name": "Health", "timeAllocation": 40}}))[
        "pillarCreate"
    ]
    area = (
        await run(client, "AreaCreate", {"input": {"pillarId": pillar["pillar"]["id"], "name": "Fitness"}})
    )["areaCreate"]
    project = (
        await run(client, "ProjectCreate", {"input": {"areaId": area["area"]["id"], "name": "Run a 10k"}})
    )["projectCreate"]
    project_id = project["project"]["id"]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    urgent = (
        await run(
            client,
            "TaskCreate",
            {
                "input": {
                    "projectId": project_id,
                    "name": "Book the race",
                    "priority": "HIGH",
                    "dueDate": today,
                }
            },
        )
    )["taskCreate"]
    later = (await run(client, "TaskCreate", {"input": {"projectId": project_id, "name": "Buy shoes"}}))[
        "taskCreate"
    ]
    assert [p["userErrors"] for p in (pillar, area, project, urgent, later)] == [[]] * 5
    task = urgent["task"]

    tree = (await run(client, "Hierarchy"))["pillars"]
    tasks = tree["nodes"][0]["areas"]["nodes"][0]["projects"]["nodes"][0]["tasks"]
    assert tree["totalCount"] == 1
    assert {t["name"] for t in tasks["nodes"]} == {"Book the race", "Buy shoes"}

    async with signed_in(server_url, client.token) as ws:
        subscription = await ws.subscribe(operation("RecordChanged"), {"entityTypes": ["TASK"]})
        stale = {"id": task["id"], "expectedVersion": task["version"] - 1, "name": "Lost"}
        conflict = (await run(client, "TaskUpdate", {"input": stale}))["taskUpdate"]
        assert [e["code"] for e in conflict["userErrors"]] == ["CONFLICT"]
        current = {"id": task["id"], "expectedVersion": task["version"], "name": "Book the 10k race"}
        assert (await run(client, "TaskUpdate", {"input": current}))["taskUpdate"]["userErrors"] == []
        change = (await ws.next_data(subscription))["recordChanged"]
    assert change["operation"] == "UPDATED"
    assert change["entityId"] == task["id"]
    assert change["node"]["name"] == "Book the 10k race"

    ranked = (await run(client, "Today", {"limit": 2}))["today"]
    assert [item["task"]["name"] for item in ranked] == ["Book the 10k race", "Buy shoes"]
    assert ranked[0]["score"]["factors"]
    verdict = {"taskId": task["id"], "verdict": "CORRECT"}
    assert (await run(client, "TaskPriorityFeedback", {"input": verdict}))["taskPriorityFeedback"][
        "userErrors"
    ] == []

    async with signed_in(server_url, client.token) as ws:
        requested = (await run(client, "AnalysisRequest", {"input": {"depth": "QUICK", "force": True}}))[
            "analysisRequest"
        ]
        assert requested["userErrors"] == []
        watching = await ws.subscribe(operation("AnalysisRunUpdated"), {"id": requested["run"]["id"]})
        status = ""
        while status not in {"SUCCEEDED", "FAILED"}:
            status = (await ws.next_data(watching))["analysisRunUpdated"]["status"]
    assert status == "SUCCEEDED"
    insights = (await run(client, "Insights", {"filter": {"status": ["ACTIVE"]}}))["insights"]
    assert insights["totalCount"] == len(insights["nodes"])

    done = (await run(client, "TaskComplete", {"input": {"id": task["id"]}}))["taskComplete"]
    assert done["task"]["status"] == "COMPLETED"
    completed = (await run(client, "Tasks", {"filter": {"completed": True}}))["tasks"]
    assert [edge["node"]["id"] for edge in completed["edges"]] == [task["id"]]

    refreshed = (await run(client, "Refresh", {"input": {"refreshToken": registered["refreshToken"]}}))[
        "tokenRefresh"
    ]
    assert refreshed["userErrors"] == []
    signed_out = (await run(client, "SignOut", {"input": {"refreshToken": refreshed["refreshToken"]}}))[
        "tokenRevoke"
    ]
    assert signed_out["ok"] is True
