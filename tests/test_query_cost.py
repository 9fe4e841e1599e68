"""A nested query costs one statement per level, however much data sits below it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from aurum.db import act_as
from aurum.ids import parse_global_id
from aurum.resources import Resources
from aurum.settings import Settings
from aurum.tables import Area, Pillar, Project, Task, TaskDependency
from tests.conftest import register
from tests.support import GraphQLClient, StatementCounter
from tests.test_realtime import app_server

# Pages as small as the data allow: the request's cost counts what they could hold (aurum.graphql.cost).
NESTED = """{ pillars(first: 10) { nodes { id name progress { percent }
  areas(first: 2) { nodes { id name progress { totalTasks percent }
    projects(first: 2) { nodes { id name completionPercent
      tasks(first: 10) { nodes { id name isOverdue canStart blockedBy { id } dependencies { id }
        subtasks(first: 5) { nodes { id parent { id } } } project { id } parent { id } } } } } } } } } }"""

# The compiled path (aurum.compiled) reads in one transaction (its set_config, naming the user for row-level
# security, travels with its BEGIN, which is not counted): pillars, pillar progress, areas, area progress,
# projects, project progress, tasks, the viewer's time zone (for isOverdue), dependencies (shared by
# canStart, blockedBy and dependencies) and subtasks; `project { id }` and `parent { id }` are answered from
# the tasks' own keys.
COMPILED_STATEMENTS = 10
# The resolvers (AURUM_COMPILED_READS=false): the same 10 reads and the project and the subtasks' parent by
# id, 12 reads, each in its own short transaction that first names the user (one set_config each).
RESOLVER_STATEMENTS = 12 * 2

AREAS_PER_PILLAR = 2
PROJECTS_PER_AREA = 2
TASKS_PER_PROJECT = 4  # plus one subtask under the first and a dependency of the last on the second


def hierarchy(user_id: uuid.UUID, pillars: int) -> dict[Any, list[dict[str, Any]]]:
    """Rows for ``pillars`` identical pillar trees, with overdue, completed, subtask and dependency cases."""
    rows: dict[Any, list[dict[str, Any]]] = {Pillar: [], Area: [], Project: [], Task: [], TaskDependency: []}
    owned = {"user_id": user_id}
    yesterday = date.today() - timedelta(days=1)
    for p in range(pillars):
        pillar = {"id": uuid.uuid4(), "name": f"Pillar {p}", "sort_order": p, **owned}
        rows[Pillar].append(pillar)
        for a in range(AREAS_PER_PILLAR):
            area = {"id": uuid.uuid4(), "pillar_id": pillar["id"], "name": f"Area {p}.{a}", "sort_order": a}
            area |= owned
            rows[Area].append(area)
            for j in range(PROJECTS_PER_AREA):
                project = {"id": uuid.uuid4(), "area_id": area["id"], "name": f"Project {j}", "sort_order": j}
                project |= owned
                rows[Project].append(project)
                rows[Task] += project_tasks(project["id"], yesterday, owned)
                tasks = rows[Task][-(TASKS_PER_PROJECT + 1) :]
                waiting = {"task_id": tasks[-2]["id"], "depends_on_id": tasks[1]["id"], **owned}
                rows[TaskDependency].append(waiting)
    return rows


def project_tasks(project_id: uuid.UUID, due: date, owned: dict[str, Any]) -> list[dict[str, Any]]:
    tasks = [
        {
            "id": uuid.uuid4(),
            "project_id": project_id,
            "parent_id": None,
            "name": f"Task {t}",
            "sort_order": t,
            "due_date": due if t == 0 else None,
            "status": "completed" if t == 2 else "todo",
            "kanban_column": "done" if t == 2 else "todo",
            "completed_at": datetime.now(UTC) if t == 2 else None,
            **owned,
        }
        for t in range(TASKS_PER_PROJECT)
    ]
    subtask = {**tasks[0], "id": uuid.uuid4(), "parent_id": tasks[0]["id"], "name": "Subtask"}
    subtask["due_date"] = None
    return [*tasks, subtask]


async def seeded_user(http: httpx.AsyncClient, resources: Resources, pillars: int) -> GraphQLClient:
    client = await register(http)
    parsed = parse_global_id(client.user_id)
    assert parsed is not None
    async with resources.sessionmaker() as session, session.begin():
        await act_as(session, parsed[1])
        for model, rows in hierarchy(parsed[1], pillars).items():
            await session.execute(insert(model), rows)
    return client


async def statements_for(client: GraphQLClient, statements: StatementCounter) -> tuple[int, dict[str, Any]]:
    await client.ok("{ __typename }")  # the process's first check of a session builds its revocation cache
    statements.reset()
    data = await client.ok(NESTED)
    return statements.count, data


def listing(statements: StatementCounter) -> str:
    return "\n\n".join(f"{i + 1}. {s}" for i, s in enumerate(statements.statements))


@pytest.mark.parametrize(
    ("compiled", "expected"), [(True, COMPILED_STATEMENTS), (False, RESOLVER_STATEMENTS)]
)
async def test_nested_query_costs_one_statement_per_level(
    settings: Settings, resources: Resources, statements: StatementCounter, compiled: bool, expected: int
) -> None:
    async with (
        app_server(settings, resources, compiled_reads=compiled) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        await costs_one_statement_per_level(http, resources, statements, expected, scale=10)


async def costs_one_statement_per_level(
    http: httpx.AsyncClient, resources: Resources, statements: StatementCounter, expected: int, scale: int
) -> None:
    small_client = await seeded_user(http, resources, pillars=1)
    large_client = await seeded_user(http, resources, pillars=scale)

    small, small_data = await statements_for(small_client, statements)
    small_listing = listing(statements)
    large, large_data = await statements_for(large_client, statements)
    large_listing = listing(statements)

    assert len(large_data["pillars"]["nodes"]) == scale * len(small_data["pillars"]["nodes"])
    tasks = [
        t
        for p in large_data["pillars"]["nodes"]
        for a in p["areas"]["nodes"]
        for j in a["projects"]["nodes"]
        for t in j["tasks"]["nodes"]
    ]
    assert len(tasks) == scale * AREAS_PER_PILLAR * PROJECTS_PER_AREA * TASKS_PER_PROJECT  # top-level ones
    assert any(t["isOverdue"] for t in tasks)
    assert any(t["blockedBy"] for t in tasks)
    subtasks = [s for t in tasks for s in t["subtasks"]["nodes"]]
    assert subtasks
    assert all(s["parent"] for s in subtasks)
    assert small == large, (
        f"1x: {small} statements\n{small_listing}\n\n{scale}x: {large} statements\n{large_listing}"
    )
    assert large == expected, large_listing
