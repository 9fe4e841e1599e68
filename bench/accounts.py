"""Bench accounts: users registered through Aurum's API, hierarchies inserted in bulk beside them.

A hierarchy of ``Shape(pillars, areas, projects, tasks)`` has that many of each under each parent: every
fourth task completed, due dates from five days ago onwards (so some are overdue), and every fifth task
waiting for the one before it (so ``canStart`` varies).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from aurum.ids import parse_global_id
from bench.addresses import own_address

# A zone far from UTC, so that an isOverdue computed in the wrong zone shows as a different answer.
TIMEZONE = "Pacific/Kiritimati"
REGISTER = (
    "mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {"
    " accessToken user { id } userErrors { message } } }"
)


@dataclass(frozen=True)
class Shape:
    pillars: int
    areas: int
    projects: int
    tasks: int

    @property
    def total(self) -> int:
        return self.pillars * self.areas * self.projects * self.tasks

    @property
    def counts(self) -> tuple[int, int, int, int]:
        return (self.pillars, self.areas, self.projects, self.tasks)


@dataclass(frozen=True)
class Account:
    label: str
    token: str
    user_id: uuid.UUID
    shape: Shape
    project_id: uuid.UUID | None = None  # where creates go: its first project

    @property
    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


async def sign_up(http: httpx.AsyncClient, email: str, **extra: str) -> tuple[str, uuid.UUID]:
    """A new user through Aurum's own API, from an address of its own: its access token and id."""
    variables = {"input": {"email": email, "password": "correct horse battery", **extra}}
    response = await http.post(
        "/graphql", json={"query": REGISTER, "variables": variables}, headers=own_address()
    )
    payload = response.json()["data"]["accountRegister"]
    if payload["userErrors"]:
        raise RuntimeError(payload["userErrors"])
    parsed = parse_global_id(payload["user"]["id"])
    assert parsed is not None
    return payload["accessToken"], parsed[1]


async def register(http: httpx.AsyncClient, label: str) -> tuple[str, uuid.UUID]:
    """A fresh bench user, in a zone far from UTC."""
    return await sign_up(http, f"versus-{label}-{uuid.uuid4().hex[:8]}@example.com", timezone=TIMEZONE)


def hierarchy(user_id: uuid.UUID, shape: Shape) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Rows per table (columns, records)."""
    today = date.today()
    now = datetime.now(UTC)
    rows: dict[str, list[tuple[Any, ...]]] = {
        "pillars": [],
        "areas": [],
        "projects": [],
        "tasks": [],
        "task_dependencies": [],
    }
    for p in range(shape.pillars):
        pillar = uuid.uuid4()
        rows["pillars"].append((pillar, user_id, f"Pillar {p}", p))
        for a in range(shape.areas):
            area = uuid.uuid4()
            rows["areas"].append((area, user_id, pillar, f"Area {p}.{a}", a))
            for j in range(shape.projects):
                project = uuid.uuid4()
                rows["projects"].append((project, user_id, area, f"Project {p}.{a}.{j}", j))
                previous = None
                for t in range(shape.tasks):
                    task = uuid.uuid4()
                    done = t % 4 == 0
                    status, column = ("completed", "done") if done else ("todo", "todo")
                    due = today + timedelta(days=t % 20 - 5)
                    rows["tasks"].append(
                        (task, user_id, project, f"Task {t}", t, status, column, now if done else None, due)
                    )
                    if previous is not None and t % 5 == 0:
                        rows["task_dependencies"].append((task, previous, user_id))
                    previous = task
    columns = {
        "pillars": ["id", "user_id", "name", "sort_order"],
        "areas": ["id", "user_id", "pillar_id", "name", "sort_order"],
        "projects": ["id", "user_id", "area_id", "name", "sort_order"],
        "tasks": [
            "id",
            "user_id",
            "project_id",
            "name",
            "sort_order",
            "status",
            "kanban_column",
            "completed_at",
            "due_date",
        ],
        "task_dependencies": ["task_id", "depends_on_id", "user_id"],
    }
    return {table: (columns[table], records) for table, records in rows.items()}


async def bulk_insert(connection: asyncpg.Connection, user_id: uuid.UUID, shape: Shape) -> uuid.UUID:
    """The hierarchy in one transaction, as the owner with no user acting, as an import would be: the change
    log records it, and the account's priority scores are made at its first write (so that no scoring job
    of the 20,000-task account runs through the measurements); returns the first project, where creates go."""
    tables = hierarchy(user_id, shape)
    async with connection.transaction():
        for table, (columns, records) in tables.items():
            await connection.copy_records_to_table(table, records=records, columns=columns)
    first_project: uuid.UUID = tables["projects"][1][0][0]
    return first_project


async def make_account(
    http: httpx.AsyncClient, database: asyncpg.Connection, label: str, shape: Shape
) -> Account:
    token, user_id = await register(http, label)
    project = await bulk_insert(database, user_id, shape)
    return Account(label, token, user_id, shape, project)
