"""Evidence before judgement, through GraphQL: a new person's set-up (tasks entered as already done) is not
effort, balance waits for two weeks and a few completions and says so quietly, then judges."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.hierarchy import make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, uuid_of
from tests.test_hrm_analysis import analyse

NOTIFIED = "{ notifications { edges { node { type title } } } }"


async def a_new_life(client: GraphQLClient) -> list[str]:
    """Career 60 %, Health and Family 20 % each; ten Career tasks entered as done during set-up."""
    projects = {}
    for name, share in (("Career", 60), ("Health", 20), ("Family", 20)):
        pillar = await make_pillar(client, name=name, timeAllocation=share)
        projects[name] = await make_project(client, await make_area(client, pillar, name=f"{name} area"))
    done = [
        await make_task(
            client, projects["Career"], f"Shipped thing {n}", status="COMPLETED", estimatedMinutes=60
        )
        for n in range(10)
    ]
    for name in ("Health", "Family"):
        await make_task(client, projects[name], f"Next step for {name}", estimatedMinutes=30)
    return done


def balance_insights(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in run["insights"] if i["ruleCode"] in ("PILLAR_IMBALANCE", "NEGLECTED_PILLAR")]


async def test_set_up_is_not_effort_and_balance_waits_for_evidence(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    done = await a_new_life(alice)
    run = await analyse(alice, depth="BALANCED")
    [note] = balance_insights(run)
    assert note["title"] == "Too early to judge your balance"
    assert "so far 0 days and 0 completed tasks" in note["summary"]  # the set-up counts for nothing
    assert not any("Ease off" in r for i in run["insights"] for r in i["recommendations"])
    notified = (await alice.ok(NOTIFIED))["notifications"]["edges"]
    assert [e for e in notified if e["node"]["type"] == "INSIGHT"] == []

    async with owner.begin() as connection:  # three weeks on: the same work, done over the last ten days
        await connection.execute(
            text("UPDATE users SET created_at = now() - interval '21 days' WHERE id = :id"),
            {"id": uuid_of(alice.user_id)},
        )
        await connection.execute(
            text(
                "UPDATE tasks SET created_at = now() - interval '20 days', "
                "completed_at = now() - interval '10 days' WHERE id = ANY(:ids)"
            ),
            {"ids": [uuid_of(t, "Task") for t in done]},
        )
    run = await analyse(alice, depth="BALANCED")
    titles = {i["title"] for i in balance_insights(run)}
    assert "Your effort is out of balance with your pillars" in titles
    advice = [r for i in balance_insights(run) for r in i["recommendations"]]
    assert any(r.startswith("Ease off 'Career'") for r in advice)
