"""An insight's life over GraphQL: found again, it is refreshed rather than repeated (and notified once); a
dismissed finding stays dismissed until it concerns other records; an insight about a deleted record expires;
pinning, dismissing and verdicts keep its state coherent and a change that changes nothing writes nothing;
a project's insights include those about its tasks, listed and subscribed; verdicts on one task's priority
count once; and input the HRM cannot take is refused with codes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.hrm import analysis
from aurum.hrm.weights import LEARNING_RATE
from aurum.resources import Resources
from tests.hierarchy import act, chain, make_task, node, problems
from tests.support import GraphQLClient, uuid_of, wait_for
from tests.test_hrm_analysis import (
    analyse,
    build_world,
    by_rule,
    days_from_today,
    hrm_rules,
    judge,
    listed,
    outdate,
    request,
)
from tests.test_hrm_live import INSIGHT_CREATED, ids, insights
from tests.ws import signed_in

STATE = "... on Insight { status pinned version run { id } createdAt expiresAt }"
EVERYTHING = ["ACTIVE", "DISMISSED", "EXPIRED"]


async def state(client: GraphQLClient, insight_id: str) -> dict[str, Any]:
    found = await node(client, insight_id, STATE)
    assert found is not None
    return found


async def updates(owner: AsyncEngine, insight_id: str) -> int:
    """How many UPDATED change events the insight has."""
    async with owner.connect() as connection:
        found = await connection.scalar(
            text("SELECT count(*) FROM events WHERE entity_id = :id AND operation = 'UPDATED'"),
            {"id": uuid_of(insight_id, "Insight")},
        )
    return int(found or 0)


async def active_keys(client: GraphQLClient) -> Counter[tuple[str, str | None]]:
    data = await client.ok("{ insights(first: 100) { nodes { ruleCode scope { id } } } }")
    return Counter((n["ruleCode"], (n["scope"] or {}).get("id")) for n in data["insights"]["nodes"])


async def insight_notifications(client: GraphQLClient) -> list[str]:
    data = await client.ok("{ notifications { edges { node { type subject { id } } } } }")
    edges = data["notifications"]["edges"]
    return [e["node"]["subject"]["id"] for e in edges if e["node"]["type"] == "INSIGHT"]


# --- found again


async def test_a_repeated_analysis_refreshes_its_insights_and_notifies_them_once(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    world = await build_world(alice, owner, overdue=5, late=10)
    first = by_rule(await analyse(alice, scopeId=world.project, depth="QUICK"))
    overdue = first["OVERDUE_CLUSTER"]
    assert overdue["impact"] >= 0.7
    await alice.mutate("insightPin", {"id": overdue["id"]}, "insight { id }")
    before = await state(alice, overdue["id"])

    runs = [await analyse(alice, depth="BALANCED") for _ in range(2)]

    counted = await active_keys(alice)
    assert counted
    assert set(counted.values()) == {1}, counted  # one active insight per finding
    again = by_rule(runs[-1])["OVERDUE_CLUSTER"]
    assert again["id"] == overdue["id"]
    after = await state(alice, overdue["id"])
    assert (after["status"], after["pinned"], after["createdAt"]) == ("ACTIVE", True, before["createdAt"])
    assert after["version"] == before["version"] + 2
    assert after["run"]["id"] == runs[-1]["id"]  # the run that last found it
    assert after["expiresAt"] > before["expiresAt"]
    assert await updates(owner, overdue["id"]) == after["version"] - 1  # every bump is a change event
    assert await insight_notifications(alice) == [overdue["id"]]


async def test_a_dismissed_finding_stays_dismissed_until_it_concerns_other_records(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    world = await build_world(alice, owner)
    dismissed = by_rule(await analyse(alice, scopeId=world.project, depth="QUICK"))["OVERDUE_CLUSTER"]
    await alice.mutate("insightDismiss", {"id": dismissed["id"]}, "insight { id }")

    quiet = await analyse(alice, scopeId=world.project, depth="QUICK")
    assert "OVERDUE_CLUSTER" not in {i["ruleCode"] for i in quiet["insights"]}
    assert (await state(alice, dismissed["id"]))["version"] == 2  # dismissing; nothing since

    await make_task(alice, world.project, "Late too", dueDate=days_from_today(-1))
    back = by_rule(await analyse(alice, scopeId=world.project, depth="QUICK"))["OVERDUE_CLUSTER"]
    assert back["id"] != dismissed["id"]
    assert back["status"] == "ACTIVE"
    assert (await state(alice, dismissed["id"]))["status"] == "DISMISSED"


# --- deleted records


async def test_an_insight_about_a_deleted_record_expires(
    alice: GraphQLClient, owner: AsyncEngine, resources: Resources
) -> None:
    world = await build_world(alice, owner)
    task = world.chain[0]
    [priority] = [
        i
        for i in (await analyse(alice, scopeId=task, depth="QUICK"))["insights"]
        if i["type"] == "PRIORITY_REASONING"
    ]
    await alice.mutate("insightPin", {"id": priority["id"]}, "insight { id }")
    project = by_rule(await analyse(alice, scopeId=world.stalled, depth="QUICK"))["STALLED_PROJECT"]
    assert project["scope"]["id"] == world.stalled

    assert (await act(alice, "taskDelete", {"id": task}, "deletedId"))["userErrors"] == []
    assert (await act(alice, "projectDelete", {"id": world.stalled}, "deletedId"))["userErrors"] == []

    async def expired() -> bool:
        found = [await state(alice, i) for i in (priority["id"], project["id"])]
        return all((f["status"], f["pinned"]) == ("EXPIRED", False) for f in found)

    await wait_for(expired, "the insights about deleted records to expire")
    assert not {priority["id"], project["id"]} & await listed(alice)
    assert await analysis.expire_insights({"resources": resources}) == 0  # nothing left to do


# --- pin, dismiss, verdicts


async def test_a_change_that_changes_nothing_writes_nothing(alice: GraphQLClient, owner: AsyncEngine) -> None:
    world = await build_world(alice, owner)
    found = by_rule(await analyse(alice, scopeId=world.project, depth="QUICK"))
    overdue, quick, blocked = (found[c]["id"] for c in ("OVERDUE_CLUSTER", "QUICK_WINS", "BLOCKED_CHAIN"))
    selection = "insight { status pinned version } userErrors { code }"

    twice = [
        *[await alice.mutate("insightPin", {"id": overdue}, selection) for _ in range(2)],
        *[await alice.mutate("insightDismiss", {"id": quick}, selection) for _ in range(2)],
        *[await judge(alice, blocked, "REJECTED") for _ in range(2)],
    ]

    assert [p["userErrors"] for p in twice] == [[]] * 6
    for insight_id in (overdue, quick, blocked):
        assert (await state(alice, insight_id))["version"] == 2
        assert await updates(owner, insight_id) == 1


async def test_pinning_dismissing_and_verdicts_keep_an_insight_coherent(
    alice: GraphQLClient, owner: AsyncEngine, resources: Resources
) -> None:
    world = await build_world(alice, owner)
    found = by_rule(await analyse(alice, scopeId=world.project, depth="QUICK"))
    overdue, quick, blocked = (found[c]["id"] for c in ("OVERDUE_CLUSTER", "QUICK_WINS", "BLOCKED_CHAIN"))
    selection = "insight { status pinned } userErrors { field code }"

    await alice.mutate("insightPin", {"id": overdue}, selection)
    dismissed = await alice.mutate("insightDismiss", {"id": overdue}, selection)
    assert dismissed["insight"] == {"status": "DISMISSED", "pinned": False}  # dismissing unpins

    await alice.mutate("insightDismiss", {"id": quick}, selection)
    pinned = await alice.mutate("insightPin", {"id": quick}, selection)
    assert pinned["insight"] == {"status": "ACTIVE", "pinned": True}  # pinning takes it back

    await judge(alice, blocked, "REJECTED")
    accepted = await alice.mutate("insightFeedback", {"insightId": blocked, "verdict": "ACCEPTED"}, selection)
    assert accepted["insight"] == {"status": "ACTIVE", "pinned": False}  # accepting takes it back

    await judge(alice, blocked, "REJECTED")
    await outdate(owner, alice)
    await analysis.expire_insights({"resources": resources})
    late = await alice.mutate("insightFeedback", {"insightId": blocked, "verdict": "ACCEPTED"}, selection)
    assert late["insight"] == {"status": "DISMISSED", "pinned": False}  # past its expiry: not taken back
    await alice.mutate("insightPin", {"id": quick, "pinned": False}, selection)
    await analysis.expire_insights({"resources": resources})
    refused = await alice.mutate("insightPin", {"id": quick}, selection)
    assert (refused["insight"], problems(refused)) == (None, [(("input", "id"), "BAD_USER_INPUT")])
    assert (await state(alice, quick))["status"] == "EXPIRED"


# --- a project's insights


async def test_a_project_s_insights_include_those_about_its_tasks(
    server_url: str, alice: GraphQLClient, owner: AsyncEngine
) -> None:
    world = await build_world(alice, owner)
    async with signed_in(server_url, alice.token or "") as ws:
        mine = await ws.subscribe(INSIGHT_CREATED, {"scopeId": world.project})
        elsewhere = await ws.subscribe(INSIGHT_CREATED, {"scopeId": world.stalled})
        run = await analyse(alice, scopeId=world.project, depth="QUICK")
        delivered = await insights(ws, mine, len(run["insights"]))
        await ws.nothing_more(mine)
        await ws.nothing_more(elsewhere)
    blocked = by_rule(run)["BLOCKED_CHAIN"]
    assert blocked["scope"]["id"] == world.chain[0]  # about a task of the project
    assert sorted(ids(delivered)) == sorted(ids(run["insights"]))

    everything = set(ids(run["insights"]))
    for scope in (world.project, world.area, world.pillar):
        assert await listed(alice, scopeId=scope) == everything, scope
    assert await listed(alice, scopeId=world.chain[0]) == {blocked["id"]}
    assert await listed(alice, scopeId=world.stalled) == set()


# --- verdicts on a task's priority


async def test_verdicts_on_one_task_s_priority_count_once(alice: GraphQLClient, owner: AsyncEngine) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project, "Stretch", dueDate=days_from_today(1), priority="LOW")
    base = {code: r["baseWeight"] for code, r in (await hrm_rules(alice)).items()}

    async def tap(verdict: str) -> dict[str, float]:
        payload = await alice.mutate(
            "taskPriorityFeedback", {"taskId": task, "verdict": verdict}, "task { id }"
        )
        assert payload["userErrors"] == []
        rules = await hrm_rules(alice)
        return {code: r["learnedWeight"] for code, r in rules.items() if r["learnedWeight"] is not None}

    taps = [await tap("TOO_LOW") for _ in range(10)]

    assert taps[0], "the first verdict moves some weights"
    for code, weight in taps[-1].items():
        assert abs(weight - base[code]) <= LEARNING_RATE + 1e-9, (code, weight)
        assert weight == pytest.approx(taps[1][code], abs=0.01), code  # the same verdict again: no drift
    lowered = await tap("TOO_HIGH")
    for code, weight in taps[-1].items():
        if abs(weight - base[code]) > 0.01:
            assert (lowered[code] - base[code]) * (weight - base[code]) < 0, code  # replaced, not added
    async with owner.connect() as connection:
        logged = await connection.scalar(
            text("SELECT count(*) FROM hrm_feedback WHERE task_id = :id"), {"id": uuid_of(task, "Task")}
        )
    assert logged == 11  # every verdict is logged


# --- bad input


PREFERENCES = "preferences { workHoursStart } userErrors { field message code }"


async def test_a_rule_given_twice_in_one_update_is_refused(alice: GraphQLClient) -> None:
    twice = [{"ruleCode": "URGENCY", "weight": 0.2}, {"ruleCode": "URGENCY", "weight": 0.9}]
    duplicated = await alice.mutate("hrmPreferencesUpdate", {"ruleWeights": twice}, PREFERENCES)
    assert problems(duplicated) == [(("input", "ruleWeights", "1", "ruleCode"), "BAD_USER_INPUT")]
    assert (await hrm_rules(alice))["URGENCY"]["overrideWeight"] is None  # nothing written


async def test_work_hours_with_a_utc_offset_are_refused(alice: GraphQLClient) -> None:
    offset = await alice.mutate("hrmPreferencesUpdate", {"workHoursStart": "09:00+05:00"}, PREFERENCES)
    assert problems(offset) == [(("input", "workHoursStart"), "BAD_USER_INPUT")]
    plain = await alice.mutate("hrmPreferencesUpdate", {"workHoursStart": "08:30"}, PREFERENCES)
    assert (plain["userErrors"], plain["preferences"]["workHoursStart"]) == ([], "08:30:00")


async def test_a_min_confidence_outside_0_to_1_is_refused(alice: GraphQLClient) -> None:
    query = "query($c: Float) { insights(filter: {minConfidence: $c}) { totalCount } }"
    for value in (1.5, -1):
        assert await alice.error_codes(query, {"c": value}) == ["BAD_USER_INPUT"], value
    for value in (0, 1):
        assert (await alice.ok(query, {"c": value}))["insights"]["totalCount"] == 0


async def test_a_huge_bad_scope_id_is_not_echoed_back(alice: GraphQLClient) -> None:
    long = "x" * 5000
    [error] = (await request(alice, scopeId=long))["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["input", "scopeId"])
    assert len(error["message"]) < 120, error["message"]
    query = "query($s: ID) { insights(filter: {scopeId: $s}) { totalCount } }"
    listing = await alice.execute(query, {"s": long})
    assert listing["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(listing["errors"][0]["message"]) < 120
