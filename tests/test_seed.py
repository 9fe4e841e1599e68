from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import delete, func, select

from aurum.auth.model import User
from aurum.auth.service import user_id_by_email
from aurum.db import act_as
from aurum.resources import Resources
from aurum.seed import DEMO_EMAIL, DEMO_PASSWORD, seed
from aurum.task.model import Task
from tests.support import GraphQLClient

COUNTS = """{ pillars { totalCount nodes { timeAllocation } } areas { totalCount } projects { totalCount }
  tasks(first: 100) { totalCount nodes { status dueDate isOverdue canStart parent { id } } } }"""


async def sign_in(http: httpx.AsyncClient) -> GraphQLClient:
    client = GraphQLClient(http)
    payload = await client.mutate(
        "tokenCreate", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, "accessToken"
    )
    assert payload["userErrors"] == [], payload
    client.token = payload["accessToken"]
    return client


async def demo_task_count(resources: Resources) -> int:
    async with resources.sessionmaker() as session, session.begin():
        user_id = await user_id_by_email(session, DEMO_EMAIL)
        if user_id is None:
            return 0
        await act_as(session, user_id)
        count = await session.scalar(select(func.count()).select_from(Task))
    return int(count or 0)


async def test_seed_creates_a_demo_account_once(resources: Resources, http: httpx.AsyncClient) -> None:
    async with resources.sessionmaker() as session, session.begin():  # a database kept from an earlier run
        user_id = await user_id_by_email(session, DEMO_EMAIL)
        if user_id is not None:
            await act_as(session, user_id)
            await session.execute(delete(User).where(User.id == user_id))

    assert await seed(resources.sessionmaker) is True
    demo = await sign_in(http)
    data: dict[str, Any] = await demo.ok(COUNTS)
    tasks = data["tasks"]["nodes"]
    assert data["pillars"]["totalCount"] == 4
    assert all(p["timeAllocation"] for p in data["pillars"]["nodes"])
    assert data["areas"]["totalCount"] >= 8
    assert data["projects"]["totalCount"] >= 8
    assert data["tasks"]["totalCount"] >= 30
    assert any(t["isOverdue"] for t in tasks)
    assert any(t["status"] == "COMPLETED" for t in tasks)
    assert any(not t["canStart"] for t in tasks)
    assert any(t["parent"] for t in tasks)

    before = await demo_task_count(resources)
    assert await seed(resources.sessionmaker) is False
    assert await demo_task_count(resources) == before
    again = await demo.ok(COUNTS)
    assert again["pillars"]["totalCount"] == 4
    assert again["tasks"]["totalCount"] == data["tasks"]["totalCount"]
