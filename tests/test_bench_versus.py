"""The bench's other arms (bench/versus.py) give Aurum's answers, so that a fast wrong answer cannot win: the
raw floor's SQL (bench/floor.py) and the computed columns given to PostGraphile
(bench/postgraphile/computed.sql) against Aurum's own GraphQL, on a small account whose overdue tasks show
only in the person's time zone and whose tasks wait for open and for completed ones.

PostGraphile itself is not started here (it needs Node and bench/node_modules); ``python -m bench versus``
compares its whole answers with Aurum's before it times anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
from bench import arms
from bench.accounts import Shape
from bench.floor import Floor

from aurum.resources import Resources
from aurum.settings import Settings
from tests.conftest import register
from tests.hierarchy import chain, make_task
from tests.support import GraphQLClient, uuid_of

ZONE = "Pacific/Kiritimati"  # UTC+14: a due time an hour ago there is hours ahead in UTC
COMPUTED = Path(__file__).resolve().parents[1] / "bench" / "postgraphile" / "computed.sql"


def moment(delta: timedelta) -> dict[str, str]:
    at = datetime.now(ZoneInfo(ZONE)) + delta
    return {"dueDate": at.date().isoformat(), "dueTime": at.strftime("%H:%M")}


async def small_account(client: GraphQLClient) -> str:
    """Tasks overdue or not in the person's zone, done or not, waiting for open or done ones; the project."""
    _, _, project = await chain(client)
    late = await make_task(client, project, "Late by an hour", **moment(timedelta(hours=-1)))
    await make_task(client, project, "Due in an hour", **moment(timedelta(hours=1)))
    done = await make_task(client, project, "Done late", status="COMPLETED", **moment(timedelta(days=-2)))
    await make_task(client, project, "Due tomorrow", dueDate=moment(timedelta(days=1))["dueDate"])
    await make_task(client, project, "Whenever")
    await make_task(client, project, "Waits for the late one", dependencyIds=[late])
    await make_task(client, project, "Waits for the done one", dependencyIds=[done])
    return project


def asyncpg_url(resources: Resources) -> str:
    assert resources.database_url is not None
    return "postgresql://" + resources.database_url.split("://", 1)[1]


async def test_the_raw_floor_answers_as_aurum_does(
    http: httpx.AsyncClient, resources: Resources, settings: Settings
) -> None:
    alice = await register(http, timezone=ZONE)
    await small_account(await register(http))  # someone else's tasks, which no arm may show
    await small_account(alice)
    shape = Shape(1, 1, 1, 10)
    expected = arms.tree_rows(orjson.dumps({"data": await alice.ok(arms.aurum_tree(shape))}))
    assert len(expected) == 7
    assert [r[7] for r in expected if r[4] == "Late by an hour"] == [True]  # isOverdue, in her zone
    task = next(r[3] for r in expected if r[4] == "Waits for the late one")

    floor = Floor(asyncpg_url(resources), settings.signing_key)
    await floor.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=floor), base_url="http://floor"
        ) as raw:
            headers = {"authorization": f"Bearer {alice.token}"}
            tree = await raw.post("/tree", json={"first": shape.first}, headers=headers)
            node = await raw.post("/node", json={"id": arms.to_global_id("Task", task)}, headers=headers)
            stranger = await raw.post("/tree", json={"first": shape.first})
    finally:
        await floor.stop()
    assert arms.tree_rows(tree.content) == expected
    assert arms.node_row(node.content) == next(r[3:] for r in expected if r[3] == task)
    assert stranger.status_code == 401


async def test_the_computed_columns_given_to_postgraphile_answer_as_aurum_does(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    alice = await register(http, timezone=ZONE)
    await small_account(alice)
    data = await alice.ok(arms.aurum_tree(Shape(1, 1, 1, 10)))
    tasks = data["pillars"]["nodes"][0]["areas"]["nodes"][0]["projects"]["nodes"][0]["tasks"]["nodes"]
    expected = {uuid_of(t["id"], "Task"): (t["isOverdue"], t["canStart"]) for t in tasks}
    assert sorted(expected.values()) == [(False, False), *[(False, True)] * 5, (True, True)]

    connection = await asyncpg.connect(asyncpg_url(resources))
    transaction = connection.transaction()
    await transaction.start()
    try:  # created, used and rolled back: the test database keeps none of it
        await connection.execute(COMPUTED.read_text())
        await connection.execute("SET LOCAL ROLE aurum_app")
        await connection.execute(f"SELECT set_config('app.user_id', '{uuid_of(alice.user_id)}', true)")
        rows: list[Any] = await connection.fetch(
            "SELECT t.id, tasks_is_overdue(t) AS overdue, tasks_can_start(t) AS can_start FROM tasks t"
        )
    finally:
        await transaction.rollback()
        await connection.close()
    assert {r["id"]: (r["overdue"], r["can_start"]) for r in rows} == expected
