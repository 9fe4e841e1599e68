"""The HRM's subscriptions over a real WebSocket speaking graphql-transport-ws: ``analysisRunUpdated`` follows
one run to its end and completes, ``insightCreated`` delivers insights as analysis writes them (filtered by
scope, private to their owner, resumable from an insight or a cursor), and a score the scoring job changes
reaches ``recordChanged`` subscribers as a change of the task.

The event log is the ground truth: what a subscription must deliver is read from ``events`` (through the
``owner`` engine), in event order. Subscriptions resume from a cursor taken before the action, so none of
these tests races the moment a subscription joins.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.db import Actor, unit_of_work
from aurum.hrm import analysis
from aurum.hrm.findings import Scope
from aurum.ids import to_global_id
from aurum.jobs import QUEUE_NAME, JobQueue
from aurum.realtime.graphql import decode_cursor, encode_cursor
from aurum.resources import Resources
from tests.gemini import MODEL_VERSION, StandInGemini, answer, hang
from tests.hierarchy import make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, scores_settled, uuid_of, wait_for
from tests.test_hrm_analysis import finished_run, request
from tests.ws import RECORD_CHANGED, GraphQLSocket, signed_in

RUN = "id status attempts model insights { id source }"
RUN_UPDATED = "subscription($id: ID!) { analysisRunUpdated(id: $id) { " + RUN + " } }"
INSIGHT_CREATED = """subscription($after: String, $scopeId: ID) {
  insightCreated(after: $after, scopeId: $scopeId) { id title source scope { id } run { id } }
}"""
ADVICE = {
    "insights": [
        {
            "type": "recommendation",
            "title": "Clear the backlog before adding to it",
            "summary": "Three late tasks weigh on the project; finishing them frees the week.",
            "confidence": 0.8,
            "impact": 0.5,
            "recommendations": ["Block an hour tomorrow morning for the oldest one"],
            "entity_ids": [],
            "tags": ["focus"],
        }
    ]
}
PARKED_DATABASE = 13  # a Redis database no worker reads


# --- helpers ------------------------------------------------------------------------------------------------


def other_database(redis_url: str, number: int) -> str:
    """The same Redis server, another logical database."""
    base, _, query = redis_url.partition("?")
    kept = [part for part in query.split("&") if part and not part.startswith("db=")]
    if not base.startswith("unix:"):
        scheme, _, rest = base.partition("://")
        base = f"{scheme}://{rest.split('/', 1)[0]}"
    return f"{base}?{'&'.join([*kept, f'db={number}'])}"


@dataclasses.dataclass
class Parked:
    """Runs requested as the app requests them, except that their job waits in a queue no worker reads (in
    another Redis database), so a subscriber can see them QUEUED; ``go`` moves the job to the queue the test
    server's worker reads."""

    resources: Resources
    app: Resources
    redis: Redis
    runs: list[str] = dataclasses.field(default_factory=list)

    async def request(self, client: GraphQLClient, scope: Scope, depth: str = "balanced") -> str:
        user_id = uuid_of(client.user_id)
        async with unit_of_work(self.resources.sessionmaker, user_id, Actor("user", user_id)) as uow:
            run, created = await analysis.request(uow, self.resources, scope, depth, False)
        assert created
        self.runs.append(str(run.id))
        return to_global_id("AnalysisRun", run.id)

    async def go(self, client: GraphQLClient, run_id: str) -> None:
        run = str(uuid_of(run_id, "AnalysisRun"))
        assert await self.redis.zrem(QUEUE_NAME, run) == 1  # it was parked, and is no longer
        await self.app.jobs.enqueue(analysis.ANALYSE, run, str(uuid_of(client.user_id)), job_id=run)

    async def clear(self) -> None:
        for run in self.runs:
            await self.redis.zrem(QUEUE_NAME, run)
            await self.redis.delete(f"arq:job:{run}")


@pytest.fixture
async def parked(resources: Resources) -> AsyncIterator[Parked]:
    url = other_database(resources.redis_url, PARKED_DATABASE)
    jobs = await JobQueue.connect(url)
    redis: Redis = Redis.from_url(url)
    parked = Parked(dataclasses.replace(resources, jobs=jobs), resources, redis)
    try:
        yield parked
    finally:
        await parked.clear()
        await redis.aclose()
        await jobs.close()


async def last_event(owner: AsyncEngine, client: GraphQLClient) -> int:
    async with owner.connect() as connection:
        found = await connection.scalar(
            text("SELECT coalesce(max(id), 0) FROM events WHERE user_id = :u"), {"u": uuid_of(client.user_id)}
        )
    return int(found or 0)


async def created_since(
    owner: AsyncEngine, client: GraphQLClient, after: int, scope: str | None = None
) -> list[str]:
    """The global ids of the insights of ``client`` created after event ``after`` (about ``scope`` only, if
    given), in the order of their events."""
    async with owner.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT i.id, i.scope_id FROM events e JOIN insights i ON i.id = e.entity_id"
                    " WHERE e.user_id = :u AND e.entity_type = 'INSIGHT' AND e.operation = 'CREATED'"
                    " AND e.id > :after ORDER BY e.id"
                ),
                {"u": uuid_of(client.user_id), "after": after},
            )
        ).all()
    wanted = uuid_of(scope, "Project") if scope is not None else None
    return [to_global_id("Insight", r.id) for r in rows if wanted is None or r.scope_id == wanted]


async def event_of(owner: AsyncEngine, insight_id: str) -> int:
    async with owner.connect() as connection:
        found = await connection.scalar(
            text("SELECT id FROM events WHERE entity_id = :i AND operation = 'CREATED'"),
            {"i": uuid_of(insight_id, "Insight")},
        )
    assert found is not None
    return int(found)


async def overdue_project(client: GraphQLClient, area: str | None = None, name: str = "Backlog") -> str:
    """A project with three overdue tasks (the overdue cluster detector's finding), under ``area`` or in a
    pillar and area of its own."""
    if area is None:
        area = await make_area(client, await make_pillar(client))
    project = await make_project(client, area, name=name)
    past = (date.today() - timedelta(days=3)).isoformat()
    for n in range(3):
        await make_task(client, project, f"Late {n}", dueDate=past)
    return project


async def analysed(client: GraphQLClient, **input: Any) -> dict[str, Any]:
    """A rules-only analysis, finished, with at least one insight."""
    payload = await request(client, depth="QUICK", **input)
    assert payload["userErrors"] == [], payload
    run = await finished_run(client, payload["run"]["id"])
    assert run["status"] == "SUCCEEDED", run
    assert run["insights"], run
    return run


async def outdate(owner: AsyncEngine, client: GraphQLClient) -> None:
    """Put the client's insights past their expiry: the next analysis finds its findings anew (a finding
    still standing is refreshed instead, and is no insightCreated)."""
    async with owner.begin() as connection:
        await connection.execute(
            text("UPDATE insights SET expires_at = now() - interval '1 minute' WHERE user_id = :u"),
            {"u": uuid_of(client.user_id)},
        )


async def enable_ai(client: GraphQLClient) -> None:
    payload = await client.mutate("hrmPreferencesUpdate", {"aiEnabled": True}, "preferences { aiEnabled }")
    assert payload["userErrors"] == [], payload


async def insights(ws: GraphQLSocket, op: str, count: int) -> list[dict[str, Any]]:
    return [(await ws.next_data(op))["insightCreated"] for _ in range(count)]


async def until_complete(ws: GraphQLSocket, op: str) -> list[dict[str, Any]]:
    """The payloads of ``op``'s ``next`` messages up to its ``complete``."""
    received: list[dict[str, Any]] = []
    while True:
        message = await ws.receive()
        if message.get("id") != op:
            continue
        if message["type"] == "complete":
            return received
        assert message["type"] == "next", message
        received.append(message["payload"])


async def refused(ws: GraphQLSocket, query: str, variables: dict[str, Any]) -> list[str | None]:
    """Subscribe, expect one error and the operation's end; the error codes."""
    op = await ws.subscribe(query, variables)
    [payload] = await until_complete(ws, op)
    assert payload["data"] is None, payload
    return [e.get("extensions", {}).get("code") for e in payload["errors"]]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# --- analysisRunUpdated -------------------------------------------------------------------------------------


async def test_a_run_is_followed_from_queued_through_running_to_succeeded_then_completes(
    server_url: str, alice: GraphQLClient, parked: Parked, gemini: StandInGemini
) -> None:
    project = await overdue_project(alice)
    await enable_ai(alice)
    gemini.script(hang())  # the model holds the run in RUNNING …
    gemini.default = answer(ADVICE)  # … until released, then answers this
    run_id = await parked.request(alice, Scope("project", uuid_of(project, "Project")))
    async with signed_in(server_url, alice.token or "") as ws:
        op = await ws.subscribe(RUN_UPDATED, {"id": run_id})
        queued = (await ws.next_data(op))["analysisRunUpdated"]
        assert (queued["id"], queued["status"], queued["attempts"], queued["insights"]) == (
            run_id,
            "QUEUED",
            0,
            [],
        )
        await parked.go(alice, run_id)
        running = (await ws.next_data(op))["analysisRunUpdated"]
        assert (running["status"], running["attempts"], running["insights"]) == ("RUNNING", 1, [])
        await wait_for(lambda: gemini.hanging == 1, "the model to be asked")
        await ws.nothing_more(op)  # thinking is no change of the run
        gemini.release()
        rest = await until_complete(ws, op)
    [done] = [payload["data"]["analysisRunUpdated"] for payload in rest]
    assert (done["status"], done["attempts"], done["model"]) == ("SUCCEEDED", 1, MODEL_VERSION)
    assert {i["source"] for i in done["insights"]} == {"RULES", "LLM"}
    queried = await finished_run(alice, run_id)
    assert ids(done["insights"]) == [i["id"] for i in queried["insights"]]


async def test_a_finished_run_is_reported_once_and_the_subscription_completes(
    server_url: str, alice: GraphQLClient
) -> None:
    run = await analysed(alice, scopeId=await overdue_project(alice))
    async with signed_in(server_url, alice.token or "") as ws:
        op = await ws.subscribe(RUN_UPDATED, {"id": run["id"]})
        [only] = await until_complete(ws, op)
        assert "errors" not in only, only
        reported = only["data"]["analysisRunUpdated"]
        assert (reported["id"], reported["status"]) == (run["id"], "SUCCEEDED")
        assert ids(reported["insights"]) == ids(run["insights"])
        # The socket goes on serving.
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}


async def test_an_unknown_or_foreign_run_is_not_found_and_nothing_else_comes(
    server_url: str, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    bobs = await analysed(bob, scopeId=await overdue_project(bob))
    unknown = to_global_id("AnalysisRun", uuid.uuid4())
    async with signed_in(server_url, alice.token or "") as ws:
        pillar = await make_pillar(alice)  # an id, but not of a run
        for run_id in (unknown, bobs["id"], pillar):
            assert (run_id, await refused(ws, RUN_UPDATED, {"id": run_id})) == (run_id, ["NOT_FOUND"])
        assert await refused(ws, RUN_UPDATED, {"id": "not an id"}) == ["BAD_USER_INPUT"]
    async with signed_in(server_url, bob.token or "") as ws:  # the control: Bob follows his own run
        op = await ws.subscribe(RUN_UPDATED, {"id": bobs["id"]})
        [own] = await until_complete(ws, op)
        assert own["data"]["analysisRunUpdated"]["status"] == "SUCCEEDED"


# --- insightCreated -----------------------------------------------------------------------------------------


async def test_insights_are_delivered_as_the_run_writes_them(
    server_url: str, alice: GraphQLClient, owner: AsyncEngine, gemini: StandInGemini
) -> None:
    project = await overdue_project(alice)
    await enable_ai(alice)
    gemini.script(hang())
    gemini.default = answer(ADVICE)
    start = await last_event(owner, alice)
    async with signed_in(server_url, alice.token or "") as ws:
        op = await ws.subscribe(INSIGHT_CREATED, {"after": encode_cursor(start)})
        payload = await request(alice, scopeId=project, depth="BALANCED")
        run_id = payload["run"]["id"]
        await wait_for(lambda: gemini.hanging == 1, "the model to be asked")
        await ws.nothing_more(op)  # nothing is written while the model thinks
        gemini.release()
        run = await finished_run(alice, run_id)
        delivered = await insights(ws, op, len(run["insights"]))
        await ws.nothing_more(op)
    assert ids(delivered) == await created_since(owner, alice, start)  # each once, in the order written
    assert sorted(ids(delivered)) == sorted(ids(run["insights"]))
    assert {i["run"]["id"] for i in delivered} == {run_id}
    assert {i["source"] for i in delivered} == {"RULES", "LLM"}


async def test_scope_id_delivers_only_the_insights_about_that_record(
    server_url: str, alice: GraphQLClient, owner: AsyncEngine
) -> None:
    area = await make_area(alice, await make_pillar(alice))
    first = await overdue_project(alice, area, name="First")
    second = await overdue_project(alice, area, name="Second")
    start = await last_event(owner, alice)
    async with signed_in(server_url, alice.token or "") as ws:
        op = await ws.subscribe(INSIGHT_CREATED, {"after": encode_cursor(start), "scopeId": first})
        for scope in (second, first, None, second):
            await analysed(alice, scopeId=scope)
        expected = await created_since(owner, alice, start, scope=first)
        delivered = await insights(ws, op, len(expected))
        await ws.nothing_more(op)
    assert ids(delivered) == expected
    assert {i["scope"]["id"] for i in delivered} == {first}
    assert len(await created_since(owner, alice, start)) > len(expected)  # the filter left some out


async def test_another_user_never_receives_them(
    server_url: str, alice: GraphQLClient, bob: GraphQLClient, owner: AsyncEngine
) -> None:
    alices = await overdue_project(alice)
    bobs = await overdue_project(bob)
    start = await last_event(owner, bob)
    async with signed_in(server_url, bob.token or "") as ws:
        op = await ws.subscribe(INSIGHT_CREATED, {"after": encode_cursor(start)})
        hers = await analysed(alice, scopeId=alices)
        his = await analysed(bob, scopeId=bobs)  # the control: this must be the first he hears of
        delivered = await insights(ws, op, len(his["insights"]))
        await ws.nothing_more(op)
        assert sorted(ids(delivered)) == sorted(ids(his["insights"]))
        # Nor can he resume after one of hers to learn of it.
        assert await refused(ws, INSIGHT_CREATED, {"after": hers["insights"][0]["id"]}) == ["BAD_USER_INPUT"]


async def test_after_an_insight_or_a_cursor_replays_what_came_since_then_goes_live_without_duplicates(
    server_url: str, alice: GraphQLClient, owner: AsyncEngine
) -> None:
    project = await overdue_project(alice)
    start = await last_event(owner, alice)
    for scope in (project, None, project):
        await analysed(alice, scopeId=scope)
        await outdate(owner, alice)
    written = await created_since(owner, alice, start)
    assert len(written) >= 3, written
    middle = await event_of(owner, written[1])
    token = alice.token or ""
    # A socket each: a socket's reader here drops the messages of other operations.
    async with signed_in(server_url, token) as one, signed_in(server_url, token) as other:
        by_insight = await one.subscribe(INSIGHT_CREATED, {"after": written[0]})
        by_cursor = await other.subscribe(INSIGHT_CREATED, {"after": encode_cursor(middle)})
        assert ids(await insights(one, by_insight, len(written) - 1)) == written[1:]
        assert ids(await insights(other, by_cursor, len(written) - 2)) == written[2:]
        live = await analysed(alice, scopeId=project)
        fresh = await created_since(owner, alice, await event_of(owner, written[-1]))
        assert sorted(fresh) == sorted(ids(live["insights"]))
        assert ids(await insights(one, by_insight, len(fresh))) == fresh
        assert ids(await insights(other, by_cursor, len(fresh))) == fresh
        await one.nothing_more(by_insight)  # and nothing twice, on either
        await other.nothing_more(by_cursor)


async def test_a_bad_after_is_bad_user_input(
    server_url: str, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    bobs = await analysed(bob, scopeId=await overdue_project(bob))
    pillar = await make_pillar(alice)
    bad = ["not a cursor", "", pillar, to_global_id("Insight", uuid.uuid4()), bobs["insights"][0]["id"]]
    async with signed_in(server_url, alice.token or "") as ws:
        for after in bad:
            assert (after, await refused(ws, INSIGHT_CREATED, {"after": after})) == (
                after,
                ["BAD_USER_INPUT"],
            )
        assert await refused(ws, INSIGHT_CREATED, {"scopeId": "not an id"}) == ["BAD_USER_INPUT"]


# --- scores through recordChanged ---------------------------------------------------------------------------


async def test_a_score_the_scoring_job_changes_reaches_subscribers_that_ask_for_priority_scores(
    server_url: str, alice: GraphQLClient, owner: AsyncEngine
) -> None:
    pillar = await make_pillar(alice, timeAllocation=10)
    project = await make_project(alice, await make_area(alice, pillar))
    task = await make_task(alice, project, "Stretch")
    await scores_settled(owner, alice.user_id)
    after = encode_cursor(await last_event(owner, alice))
    token = alice.token or ""
    async with signed_in(server_url, token) as scores, signed_in(server_url, token) as everything:
        asked = await scores.subscribe(RECORD_CHANGED, {"after": after, "types": ["PRIORITY_SCORE"]})
        unasked = await everything.subscribe(RECORD_CHANGED, {"after": after})
        updated = await alice.mutate("pillarUpdate", {"id": pillar, "timeAllocation": 90}, "pillar { id }")
        assert updated["userErrors"] == []
        [change] = await scores.changes(asked, 1)
        await scores.nothing_more(asked)
        # Derived and frequent, score changes come only to those who ask: the rest hear of the pillar alone.
        [pillar_change] = await everything.changes(unasked, 1)
        await everything.nothing_more(unasked)
    assert (change["operation"], change["entityType"], change["entityId"]) == (
        "UPDATED",
        "PRIORITY_SCORE",
        task,
    )
    assert change["changedFields"] == ["score"]
    assert change["node"] == {"__typename": "Task", "id": task, "name": "Stretch"}
    assert (pillar_change["entityType"], pillar_change["changedFields"]) == ("PILLAR", ["timeAllocation"])
    async with owner.connect() as connection:
        actor = await connection.scalar(
            text("SELECT actor_type FROM events WHERE id = :id"), {"id": decode_cursor(change["cursor"])}
        )
    assert actor == "worker"  # written by the scoring job, not by the mutation
