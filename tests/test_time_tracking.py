"""Time tracking through GraphQL: one timer at a time, manual entries checked, time spent on a task, a closed
task's timer stopped, and the planner planning with what tracked time taught about the person's tasks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.hierarchy import act, chain, make_task
from tests.support import GraphQLClient, uuid_of

ENTRY = "timeEntry { id startedAt endedAt minutes source task { id } }"
RUNNING = "{ runningTimeEntry { id endedAt task { id } } }"
SPENT = "query($id: ID!) { node(id: $id) { ... on Task { timeSpentMinutes timeEntries { id minutes } } } }"


async def timer(client: GraphQLClient, name: str, task: str) -> dict[str, Any]:
    data = await client.ok(
        f"mutation($input: TimeEntryTaskInput!) {{ {name}(input: $input) {{ {ENTRY}"
        " userErrors { field code } } }",
        {"input": {"taskId": task}},
    )
    payload: dict[str, Any] = data[name]
    return payload


async def record(client: GraphQLClient, task: str, start: datetime, end: datetime) -> dict[str, Any]:
    return await client.mutate(
        "timeEntryCreate", {"taskId": task, "start": start.isoformat(), "end": end.isoformat()}, ENTRY
    )


def problems(payload: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(e["field"] or ()), e["code"]) for e in payload["userErrors"]]


async def test_one_timer_runs_at_a_time(alice: GraphQLClient) -> None:
    _, _, project = await chain(alice)
    first, second = await make_task(alice, project, "Write"), await make_task(alice, project, "Edit")
    started = await timer(alice, "timeEntryStart", first)
    assert started["userErrors"] == []
    assert (started["timeEntry"]["source"], started["timeEntry"]["endedAt"]) == ("TIMER", None)
    again = await timer(alice, "timeEntryStart", first)  # already running there: the same timer
    assert again["timeEntry"]["id"] == started["timeEntry"]["id"]
    await timer(alice, "timeEntryStart", second)
    running = (await alice.ok(RUNNING))["runningTimeEntry"]
    assert running["task"]["id"] == second
    firsts = (await alice.ok(SPENT, {"id": first}))["node"]["timeEntries"]
    assert [e["id"] for e in firsts] == [started["timeEntry"]["id"]]
    ended = await alice.ok(
        "query($id: ID!) { node(id: $id) { ... on TimeEntry { endedAt } } }", {"id": firsts[0]["id"]}
    )
    assert ended["node"]["endedAt"] is not None  # stopped when the other started
    assert problems(await timer(alice, "timeEntryStop", first)) == [(("input", "taskId"), "NOT_FOUND")]
    stopped = await timer(alice, "timeEntryStop", second)
    assert stopped["timeEntry"]["endedAt"] is not None
    assert (await alice.ok(RUNNING))["runningTimeEntry"] is None


async def test_completing_a_task_stops_its_timer(alice: GraphQLClient) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project, "Write")
    await timer(alice, "timeEntryStart", task)
    await act(alice, "taskComplete", {"id": task}, "task { id }", "TaskStatusInput")
    assert (await alice.ok(RUNNING))["runningTimeEntry"] is None
    assert problems(await timer(alice, "timeEntryStart", task)) == [(("input", "taskId"), "BAD_USER_INPUT")]


async def test_manual_entries_add_up_and_are_checked(alice: GraphQLClient, bob: GraphQLClient) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project, "Write")
    now = datetime.now(UTC).replace(microsecond=0)
    made = await record(alice, task, now - timedelta(hours=3), now - timedelta(hours=2, minutes=15))
    assert made["userErrors"] == []
    assert (made["timeEntry"]["minutes"], made["timeEntry"]["source"]) == (45, "MANUAL")
    await record(alice, task, now - timedelta(minutes=50), now - timedelta(minutes=20))
    spent = (await alice.ok(SPENT, {"id": task}))["node"]
    assert spent["timeSpentMinutes"] == 75
    assert [e["minutes"] for e in spent["timeEntries"]] == [30, 45]  # newest first
    since = (now - timedelta(hours=1)).isoformat()
    log = await alice.ok(
        "query($since: DateTime) { timeEntries(since: $since) { minutes } }", {"since": since}
    )
    assert log["timeEntries"] == [{"minutes": 30}]

    bad = [
        (now - timedelta(hours=2, minutes=30), now - timedelta(hours=2), ("input", "start")),  # overlaps
        (now - timedelta(hours=1), now - timedelta(hours=1, minutes=5), ("input", "end")),  # ends first
        (now - timedelta(hours=30), now - timedelta(hours=5), ("input", "end")),  # over a day
        (now - timedelta(minutes=10), now + timedelta(hours=1), ("input", "end")),  # not spent yet
    ]
    for start, end, field in bad:
        payload = await record(alice, task, start, end)
        assert problems(payload) == [(field, "BAD_USER_INPUT")], (start, end, payload)
    theirs = await record(bob, task, now - timedelta(hours=9), now - timedelta(hours=8))
    assert problems(theirs) == [(("input", "taskId"), "NOT_FOUND")]
    assert (await alice.ok(SPENT, {"id": task}))["node"]["timeSpentMinutes"] == 75


PLAN = "query($start: Date) { plan(start: $start, days: 5) { blocks { task { id } start end reason } } }"


def minutes(plan: dict[str, Any], task: str) -> int:
    return sum(
        round((datetime.fromisoformat(b["end"]) - datetime.fromisoformat(b["start"])).total_seconds() / 60)
        for b in plan["blocks"]
        if b["task"]["id"] == task
    )


async def test_the_plan_learns_from_tracked_time(alice: GraphQLClient, owner: AsyncEngine) -> None:
    _, _, project = await chain(alice)
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(3):  # three admin tasks that each took 50 minutes
        done = await make_task(alice, project, f"Expenses {n}", category="ADMIN")
        start = now - timedelta(days=n + 1, hours=2)
        assert (await record(alice, done, start, start + timedelta(minutes=50)))["userErrors"] == []
        await act(alice, "taskComplete", {"id": done}, "task { id }", "TaskStatusInput")
    fresh = await make_task(alice, project, "Expenses of May", category="ADMIN")
    underway = await make_task(alice, project, "Write the report", estimatedMinutes=60)
    start = now - timedelta(hours=5)
    await record(alice, underway, start, start + timedelta(minutes=20))
    async with owner.begin() as connection:  # completed after their time was tracked, not at once
        await connection.execute(
            text(
                "UPDATE tasks SET completed_at = now() - interval '1 hour'"
                " WHERE user_id = :id AND status = 'completed'"
            ),
            {"id": uuid_of(alice.user_id)},
        )
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    plan = (await alice.ok(PLAN, {"start": monday.isoformat()}))["plan"]
    assert minutes(plan, fresh) == 50  # not the 20 minutes typical of admin work
    assert minutes(plan, underway) == 40  # what is left of its hour
