"""Priority scores through GraphQL: factors that explain them, today's ranking, recomputation when anything
they depend on changes (by the scoring job), preferences, and feedback that moves rankings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.db import Actor, read_session, unit_of_work
from aurum.hrm.factors import Score
from aurum.hrm.scoring import fresh_scores, refresh_scores, save_scores, sweep_scores
from aurum.resources import Resources
from tests.hierarchy import STATUS, act, chain, make_area, make_pillar, make_project, make_task, problems
from tests.support import GraphQLClient, scores_settled, uuid_of, wait_for

SCORE = "score { value computedAt factors { ruleCode label weight score contribution reason } }"
TODAY = "query($limit: Int!) { today(limit: $limit) { task { id name } " + SCORE + " coaching } }"


async def score_of(client: GraphQLClient, task_id: str) -> dict[str, Any]:
    data = await client.ok(
        "query($id: ID!) { node(id: $id) { ... on Task { " + SCORE + " } } }", {"id": task_id}
    )
    found: dict[str, Any] = data["node"]["score"]
    return found


async def today(client: GraphQLClient, limit: int = 10) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.ok(TODAY, {"limit": limit}))["today"]
    return items


async def ranked_names(client: GraphQLClient, limit: int = 10) -> list[str]:
    return [item["task"]["name"] for item in await today(client, limit)]


async def stored(owner: AsyncEngine, task_id: str) -> float | None:
    async with owner.connect() as connection:
        value = await connection.scalar(
            text("SELECT value FROM task_scores WHERE task_id = :id"), {"id": uuid_of(task_id, "Task")}
        )
    return None if value is None else float(value)


async def settled(owner: AsyncEngine, client: GraphQLClient) -> None:
    await scores_settled(owner, client.user_id)


async def behind(owner: AsyncEngine, client: GraphQLClient) -> None:
    """Mark the person's stored scores out of date without queueing the job: reads compute their own."""
    async with owner.begin() as connection:
        await connection.execute(
            text("UPDATE hrm_score_state SET generation = generation + 1 WHERE user_id = :id"),
            {"id": uuid_of(client.user_id)},
        )


def factor(score: dict[str, Any], code: str) -> dict[str, Any] | None:
    return next((f for f in score["factors"] if f["ruleCode"] == code), None)


async def test_a_score_is_explained_by_its_factors(alice: GraphQLClient) -> None:
    _, _, project = await chain(alice)
    today_utc = datetime.now(UTC).date().isoformat()  # due at the end of today: within 24 h
    task = await make_task(alice, project, priority="HIGH", dueDate=today_utc, energy="HIGH")
    score = await score_of(alice, task)
    assert 0 < score["value"] <= 100
    codes = {f["ruleCode"] for f in score["factors"]}
    assert {"URGENCY", "PILLAR_ALIGNMENT", "EXPLICIT_PRIORITY", "DEPENDENCIES", "TASK_AGE"} <= codes
    assert "USER_FEEDBACK" not in codes  # no verdict yet: not applied
    assert sum(f["contribution"] for f in score["factors"]) == pytest.approx(score["value"], abs=0.05)
    contributions = [f["contribution"] for f in score["factors"]]
    assert contributions == sorted(contributions, reverse=True)
    assert all(f["reason"] and 0 <= f["score"] <= 1 and 0 < f["weight"] <= 1 for f in score["factors"])
    assert factor(score, "EXPLICIT_PRIORITY")["score"] == 0.75  # type: ignore[index]
    urgency = factor(score, "URGENCY")
    assert urgency is not None
    assert urgency["score"] >= 0.85 / 2  # due today: at most half a work day of slack, whatever the hour
    assert urgency["reason"].startswith("Due in ")


async def test_the_scoring_job_stores_scores_and_closed_tasks_score_nothing(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project)
    await settled(owner, alice)
    assert await stored(owner, task) == (await score_of(alice, task))["value"]
    await act(alice, "taskComplete", {"id": task}, "task { id }", STATUS)
    await settled(owner, alice)
    assert await stored(owner, task) is None
    assert await score_of(alice, task) == {**(await score_of(alice, task)), "value": 0.0, "factors": []}


async def test_overdue_and_high_beats_later_and_low(alice: GraphQLClient) -> None:
    _, _, project = await chain(alice)
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    later = (date.today() + timedelta(days=30)).isoformat()
    await make_task(alice, project, "Later and low", priority="LOW", dueDate=later)
    await make_task(alice, project, "Overdue and high", priority="HIGH", dueDate=yesterday)
    names = await ranked_names(alice)
    assert names.index("Overdue and high") < names.index("Later and low")


WAITING = "query($limit: Int!) { todayWaiting(limit: $limit) { task { name } score { value } } }"


async def test_today_holds_what_can_start_and_lists_the_blocked_apart(alice: GraphQLClient) -> None:
    _, _, project = await chain(alice)
    blocker = await make_task(alice, project, "Blocker", priority="LOW")
    await make_task(alice, project, "Blocked", priority="HIGH", dependencyIds=[blocker])
    await make_task(alice, project, "Free", priority="HIGH")
    trip = await make_task(alice, project, "Plan the trip", priority="URGENT")
    await make_task(alice, project, "Book the flight", priority="HIGH", parentId=trip)
    names = await ranked_names(alice)
    assert "Blocked" not in names
    assert "Plan the trip" not in names  # done through its open subtask, which is listed
    assert {"Free", "Blocker", "Book the flight"} <= set(names)
    waiting = (await alice.ok(WAITING, {"limit": 5}))["todayWaiting"]
    assert [w["task"]["name"] for w in waiting] == ["Blocked"]
    await act(alice, "taskComplete", {"id": blocker}, "task { id }", STATUS)
    assert "Blocked" in await ranked_names(alice)
    assert (await alice.ok(WAITING, {"limit": 5}))["todayWaiting"] == []


def test_ties_break_by_meaning_not_by_id() -> None:
    from types import SimpleNamespace

    from aurum.hrm.graphql.scores import meaning

    now = datetime(2026, 3, 11, tzinfo=UTC)
    same = Score(50.0, (), now)

    def row(due: int | None, priority: str, age: int) -> SimpleNamespace:
        when = None if due is None else date(2026, 3, 11) + timedelta(days=due)
        return SimpleNamespace(due_date=when, priority=priority, created_at=now - timedelta(days=age))

    rows = {
        "later": row(5, "urgent", 9),
        "sooner": row(1, "low", 0),
        "undated urgent": row(None, "urgent", 0),
        "undated high, older": row(None, "high", 4),
        "undated high, newer": row(None, "high", 1),
    }
    order = sorted(rows, key=lambda name: meaning(rows[name], same))
    assert order == ["sooner", "later", "undated urgent", "undated high, older", "undated high, newer"]
    assert (
        sorted(
            rows, key=lambda n: meaning(rows[n], Score(90.0 if n == "undated high, newer" else 50.0, (), now))
        )[0]
        == "undated high, newer"
    )


async def test_a_pillar_with_more_time_allocation_breaks_ties(alice: GraphQLClient) -> None:
    for name, allocation in (("Small", 10), ("Large", 60)):
        pillar = await make_pillar(alice, name=name, timeAllocation=allocation)
        project = await make_project(alice, await make_area(alice, pillar))
        await make_task(alice, project, f"Task under {name}")
    names = await ranked_names(alice)
    assert names.index("Task under Large") < names.index("Task under Small")


async def test_a_change_higher_in_the_hierarchy_is_rescored_by_the_job(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    pillar = await make_pillar(alice, timeAllocation=10)
    project = await make_project(alice, await make_area(alice, pillar))
    task = await make_task(alice, project)
    await settled(owner, alice)
    before = await stored(owner, task)
    await alice.mutate("pillarUpdate", {"id": pillar, "timeAllocation": 90}, "pillar { id }")
    await settled(owner, alice)
    after = await stored(owner, task)
    assert before is not None
    assert after is not None
    assert after > before
    assert "90%" in factor(await score_of(alice, task), "PILLAR_ALIGNMENT")["reason"]  # type: ignore[index]


async def test_reads_see_their_own_writes_before_the_job_runs(alice: GraphQLClient) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project, priority="LOW")
    await alice.mutate("taskUpdate", {"id": task, "priority": "URGENT"}, "task { id }")
    assert factor(await score_of(alice, task), "EXPLICIT_PRIORITY")["score"] == 1.0  # type: ignore[index]


async def test_too_high_feedback_moves_a_task_down_and_learns(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    _, _, project = await chain(alice)
    first = await make_task(alice, project, "First", priority="HIGH")
    await make_task(alice, project, "Second", priority="MEDIUM")
    assert (await ranked_names(alice))[:2] == ["First", "Second"]
    payload = await alice.mutate(
        "taskPriorityFeedback",
        {"taskId": first, "verdict": "TOO_HIGH", "comment": "not today"},
        "task { id }",
    )
    assert payload["userErrors"] == []
    assert (await ranked_names(alice))[:2] == ["Second", "First"]
    rules = {
        r["code"]: r
        for r in (await alice.ok("{ hrmRules { code weight learnedWeight baseWeight } }"))["hrmRules"]
    }
    # The rule that rated the task above its overall score (its HIGH priority) lost weight.
    assert rules["EXPLICIT_PRIORITY"]["learnedWeight"] < rules["EXPLICIT_PRIORITY"]["baseWeight"]
    assert rules["EXPLICIT_PRIORITY"]["weight"] == rules["EXPLICIT_PRIORITY"]["learnedWeight"]
    async with owner.connect() as connection:
        logged = (
            await connection.execute(
                text("SELECT verdict, comment, snapshot FROM hrm_feedback WHERE task_id = :id"),
                {"id": uuid_of(first, "Task")},
            )
        ).one()
    assert (logged.verdict, logged.comment) == ("too_high", "not today")
    assert logged.snapshot["factors"]
    assert logged.snapshot["weightsAfter"]["EXPLICIT_PRIORITY"] < 0.8
    await settled(owner, alice)
    assert [i["task"]["name"] for i in await today(alice)][:2] == ["Second", "First"]


async def test_without_learning_feedback_counts_for_the_task_but_moves_no_weight(
    alice: GraphQLClient,
) -> None:
    await alice.mutate("hrmPreferencesUpdate", {"learningEnabled": False}, "preferences { learningEnabled }")
    _, _, project = await chain(alice)
    task = await make_task(alice, project, "Low", priority="LOW")
    await alice.mutate("taskPriorityFeedback", {"taskId": task, "verdict": "TOO_LOW"}, "task { id }")
    rules = (await alice.ok("{ hrmRules { code learnedWeight } }"))["hrmRules"]
    assert all(r["learnedWeight"] is None for r in rules)
    assert factor(await score_of(alice, task), "USER_FEEDBACK")["score"] == 1.0  # type: ignore[index]


async def test_feedback_on_a_closed_or_foreign_task_is_refused(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project)
    foreign = await bob.mutate("taskPriorityFeedback", {"taskId": task, "verdict": "TOO_HIGH"}, "task { id }")
    assert problems(foreign) == [(("input", "taskId"), "NOT_FOUND")]
    await act(alice, "taskComplete", {"id": task}, "task { id }", STATUS)
    closed = await alice.mutate(
        "taskPriorityFeedback", {"taskId": task, "verdict": "TOO_HIGH"}, "task { id }"
    )
    assert problems(closed) == [(("input", "taskId"), "BAD_USER_INPUT")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"workHoursStart": "09:00:00", "workHoursEnd": "09:00:00"}, ("input", "workHoursEnd")),
        ({"workDays": []}, ("input", "workDays")),
        ({"ruleWeights": [{"ruleCode": "NOPE", "weight": 0.5}]}, ("input", "ruleWeights", "0", "ruleCode")),
        ({"ruleWeights": [{"ruleCode": "URGENCY", "weight": 1.5}]}, ("input", "ruleWeights", "0", "weight")),
        ({"learningEnabled": None}, ("input", "learningEnabled")),
    ],
)
async def test_preferences_are_validated_and_nothing_is_half_written(
    alice: GraphQLClient, change: dict[str, Any], field: tuple[str, ...]
) -> None:
    payload = await alice.mutate(
        "hrmPreferencesUpdate", {"aiPersonality": "STRATEGIST", **change}, "preferences { aiPersonality }"
    )
    assert problems(payload) == [(field, "BAD_USER_INPUT")]
    assert (await alice.ok("{ hrmPreferences { aiPersonality } }"))["hrmPreferences"][
        "aiPersonality"
    ] == "COACH"


async def test_preferences_and_weight_overrides_change_the_scores(alice: GraphQLClient) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project, energy="HIGH")
    assert factor(await score_of(alice, task), "ENERGY_MATCH") is not None
    payload = await alice.mutate(
        "hrmPreferencesUpdate",
        {"energyPattern": "STEADY", "ruleWeights": [{"ruleCode": "URGENCY", "weight": 0.2}]},
        "preferences { energyPattern }",
    )
    assert payload["userErrors"] == []
    score = await score_of(alice, task)
    assert factor(score, "ENERGY_MATCH") is None  # a steady day: energy does not order the work
    assert factor(score, "URGENCY")["weight"] == 0.2  # type: ignore[index]
    rules = {
        r["code"]: r for r in (await alice.ok("{ hrmRules { code weight overrideWeight } }"))["hrmRules"]
    }
    assert rules["URGENCY"] == {"code": "URGENCY", "weight": 0.2, "overrideWeight": 0.2}
    await alice.mutate(
        "hrmPreferencesUpdate",
        {"ruleWeights": [{"ruleCode": "URGENCY", "weight": None}]},
        "preferences { energyPattern }",
    )
    assert factor(await score_of(alice, task), "URGENCY")["weight"] == 0.9  # type: ignore[index]


async def test_tasks_can_be_listed_by_score(alice: GraphQLClient, owner: AsyncEngine) -> None:
    _, _, project = await chain(alice)
    for priority in ("LOW", "URGENT", "MEDIUM"):
        await make_task(alice, project, priority, priority=priority)
    await settled(owner, alice)  # lists are ordered by the stored scores
    data = await alice.ok(
        "query($p: ID!) { tasks(filter: {projectId: $p}, orderBy: {field: SCORE, direction: DESC}) "
        "{ edges { node { name score { value } } } } }",
        {"p": project},
    )
    names = [e["node"]["name"] for e in data["tasks"]["edges"]]
    assert names == ["URGENT", "MEDIUM", "LOW"]


async def test_today_is_limited_and_coaches_unless_reasoning_is_off(alice: GraphQLClient) -> None:
    pillar = await make_pillar(alice, name="Career")
    project = await make_project(alice, await make_area(alice, pillar, name="Skills"), name="Learn Go")
    for n in range(3):
        await make_task(alice, project, f"Chapter {n}")
    items = await today(alice, 2)
    assert len(items) == 2
    assert all(item["coaching"].startswith("Moves 'Learn Go' (Career › Skills) forward") for item in items)
    await alice.mutate("hrmPreferencesUpdate", {"showReasoning": False}, "preferences { showReasoning }")
    assert all(item["coaching"] is None for item in await today(alice, 2))
    assert await alice.error_codes("{ today(limit: 0) { coaching } }") == ["BAD_USER_INPUT"]


async def test_today_leaves_out_projects_on_hold_completed_or_cancelled(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    _, area, working = await chain(alice)
    await make_task(alice, working, "Draft the plan")
    paused = await make_project(alice, area, name="Renovate", status="ACTIVE")
    await make_task(alice, paused, "Call the plumber", priority="URGENT")
    assert await ranked_names(alice) == ["Call the plumber", "Draft the plan"]
    for status in ("ON_HOLD", "COMPLETED", "CANCELLED", "ACTIVE"):
        await alice.mutate("projectUpdate", {"id": paused, "status": status}, "project { status }")
        expected = ["Call the plumber", "Draft the plan"] if status == "ACTIVE" else ["Draft the plan"]
        await settled(owner, alice)
        assert await ranked_names(alice) == expected, f"{status}, from the stored scores"
        await behind(owner, alice)
        assert await ranked_names(alice) == expected, f"{status}, computed while the scores are behind"


async def test_scores_of_tasks_deleted_while_the_job_computed_are_not_written(
    alice: GraphQLClient, owner: AsyncEngine, resources: Resources
) -> None:
    _, _, project = await chain(alice)
    kept, deleted = await make_task(alice, project, "kept"), await make_task(alice, project, "deleted")
    user_id, ids = uuid_of(alice.user_id), [uuid_of(kept, "Task"), uuid_of(deleted, "Task")]
    async with read_session(resources.sessionmaker, user_id) as session:
        computed = await fresh_scores(session, user_id, ids)  # the job's read
    await act(alice, "taskDelete", {"id": deleted}, "deletedId")  # meanwhile
    async with unit_of_work(resources.sessionmaker, user_id, Actor("worker")) as uow:
        await save_scores(uow.session, user_id, computed)  # the in-process job may have stored it first
    assert await stored(owner, kept) is not None
    assert await stored(owner, deleted) is None


async def test_the_sweep_and_the_hourly_refresh_rescore(
    alice: GraphQLClient, owner: AsyncEngine, resources: Resources
) -> None:
    _, _, project = await chain(alice)
    task = await make_task(alice, project)
    await settled(owner, alice)
    await behind(owner, alice)  # a change whose job was never queued (a crash after commit)
    assert await sweep_scores({"resources": resources}) >= 1
    await settled(owner, alice)

    async def computed_at() -> datetime:
        async with owner.connect() as connection:
            found: datetime = await connection.scalar(
                text("SELECT computed_at FROM task_scores WHERE task_id = :id"), {"id": uuid_of(task, "Task")}
            )
        return found

    before = await computed_at()
    async with owner.begin() as connection:  # time passes: a day-old score
        await connection.execute(
            text("UPDATE tasks SET created_at = created_at - interval '20 days' WHERE id = :id"),
            {"id": uuid_of(task, "Task")},
        )
        await connection.execute(
            text("UPDATE hrm_score_state SET scored_generation = generation WHERE user_id = :id"),
            {"id": uuid_of(alice.user_id)},
        )
    assert await refresh_scores({"resources": resources}) >= 1

    async def refreshed() -> bool:
        return await computed_at() > before

    await wait_for(refreshed, "the hourly refresh to recompute the score")
    assert "20 days" in factor(await score_of(alice, task), "TASK_AGE")["reason"]  # type: ignore[index]


async def test_the_app_role_can_read_but_never_change_the_rules(resources: Resources) -> None:
    async with read_session(resources.sessionmaker, None) as session:
        assert await session.scalar(text("SELECT count(*) FROM hrm_rules WHERE active")) >= 8
    with pytest.raises(DBAPIError, match="permission denied"):
        async with read_session(resources.sessionmaker, None) as session:
            await session.execute(text("UPDATE hrm_rules SET base_weight = 1"))
