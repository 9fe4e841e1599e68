"""Incremental rescoring: after any writes, the scores a person reads and the scores stored equal a whole
recomputation; a pass computes what a change can move and nothing else; a burst of writes is one pass."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.hrm import scoring
from aurum.hrm.graphql.scores import meaning
from aurum.ids import to_global_id
from aurum.resources import Resources
from tests.conftest import register
from tests.hierarchy import STATUS, act, make_area, make_pillar, make_project, make_task
from tests.rescoring import SCORE, TASKS, TODAY, Account, steps, whole_recomputation
from tests.support import GraphQLClient, scores_settled, uuid_of


@pytest.fixture
def still(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The scores' clock held at one moment: every pass and read computes for it, so whoever computes a
    score when, it must be the same."""
    now = datetime.now(UTC)
    monkeypatch.setattr(scoring, "clock", lambda: now)
    return now


async def stored(owner: AsyncEngine, client: GraphQLClient) -> dict[str, tuple[float, list[dict[str, Any]]]]:
    async with owner.connect() as connection:
        rows = await connection.execute(
            text("SELECT task_id, value, factors FROM task_scores WHERE user_id = :id"),
            {"id": uuid_of(client.user_id)},
        )
        return {to_global_id("Task", row.task_id): (row.value, row.factors) for row in rows}


async def reads_agree(account: Account, resources: Resources, now: datetime) -> None:
    """Every task's score and today's ranking, as a client reads them now, are a whole recomputation's."""
    whole = await whole_recomputation(resources, account.client, now)
    edges = (await account.client.ok(TASKS))["tasks"]["edges"]
    for edge in edges:
        node = edge["node"]
        read = (node["score"]["value"], node["score"]["factors"])
        assert read == whole.get(node["id"], (0.0, [])), node["id"]
    ranked = [
        (item["task"]["id"], item["score"]["value"]) for item in (await account.client.ok(TODAY))["today"]
    ]
    assert ranked == await expected_today(resources, account, now)


async def expected_today(resources: Resources, account: Account, now: datetime) -> list[tuple[str, float]]:
    from aurum.db import read_session

    user_id = uuid_of(account.client.user_id)
    async with read_session(resources.sessionmaker, user_id) as session:
        snapshot, scoring_rules = await scoring.snapshot_and_rules(session, user_id, now)
    chosen = [t for t in snapshot.open_tasks() if snapshot.is_under_way(t)]
    scores = scoring.compute(snapshot, scoring_rules, now, chosen)
    parents = {t.parent_id for t in snapshot.open_tasks()}
    can_start = [t for t in chosen if not t.open_dependency_ids and t.id not in parents]
    ranked = sorted(can_start, key=lambda t: meaning(t, scores[t.id]))
    return [(to_global_id("Task", t.id), scores[t.id].value) for t in ranked[:50]]


async def newcomer(http: httpx.AsyncClient) -> GraphQLClient:
    """A fresh account, from an address of its own (hypothesis seeds ``random``, which picks them)."""
    first = GraphQLClient(http)
    first.address = f"198.19.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 254 + 1}"
    return await register(http, client=first)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(writes=st.lists(steps, min_size=1, max_size=12))
async def test_after_any_writes_the_scores_read_and_stored_are_a_whole_recomputation(
    http: httpx.AsyncClient, resources: Resources, owner: AsyncEngine, still: datetime, writes: list[Any]
) -> None:
    account = Account(await newcomer(http))
    await account.seed()
    for step in writes:
        await account.apply(step)
        if step[0] == "settle":
            await scores_settled(owner, account.client.user_id)
        await reads_agree(account, resources, still)  # most often before the job has caught up
    await scores_settled(owner, account.client.user_id)
    assert await stored(owner, account.client) == await whole_recomputation(resources, account.client, still)
    await reads_agree(account, resources, still)


# --- what a pass computes ---


@asynccontextmanager
async def passes_by_hand(resources: Resources, client: GraphQLClient) -> AsyncIterator[Callable[[], Any]]:
    """The person's passes run by the test alone: no job's pass can start meanwhile (they find one under
    way), so the test sees what each computes. Yields the pass."""
    user_id = uuid_of(client.user_id)
    async with scoring.alone(resources, user_id) as only:
        assert only

        async def one() -> set[str]:
            done = await scoring.one_pass(resources, user_id)
            assert isinstance(done, scoring.Rescored), done
            assert not done.whole
            return {to_global_id("Task", i) for i in done.computed}

        yield one


@dataclasses.dataclass
class Layout:
    """Two pillars of two areas with two projects of three tasks each; in the first project a task waits
    for another."""

    pillars: list[str]
    areas: list[str]
    projects: list[str]
    tasks: dict[str, list[str]]  # by project

    def below(self, *projects: str) -> set[str]:
        return {t for p in projects for t in self.tasks[p]}

    @property
    def every(self) -> set[str]:
        return self.below(*self.projects)


async def layout(client: GraphQLClient) -> Layout:
    found = Layout([], [], [], {})
    for p in range(2):
        pillar = await make_pillar(client, name=f"Pillar {p}", timeAllocation=30 + 20 * p)
        found.pillars.append(pillar)
        for a in range(2):
            area = await make_area(client, pillar, name=f"Area {p}.{a}")
            found.areas.append(area)
            for j in range(2):
                project = await make_project(client, area, name=f"Project {p}.{a}.{j}")
                found.projects.append(project)
                found.tasks[project] = [await make_task(client, project, f"T{p}{a}{j}{t}") for t in range(3)]
    first = found.projects[0]
    waiting = found.tasks[first][2]
    await client.mutate(
        "taskUpdate", {"id": waiting, "dependencyIds": [found.tasks[first][1]]}, "task { id }"
    )
    return found


async def with_history(client: GraphQLClient, owner: AsyncEngine) -> None:
    """A month-old account whose tasks were made yesterday, with five tasks (no estimates: effort is counted
    in tasks) completed this morning in a pillar of their own: the balance has evidence to judge, and
    completing a task now is effort."""
    past = await make_project(client, await make_area(client, await make_pillar(client, name="Past")))
    done = [await make_task(client, past, f"Done {n}") for n in range(5)]
    for task in done:
        await act(client, "taskComplete", {"id": task}, "task { id }", STATUS)
    async with owner.begin() as connection:
        user = {"id": uuid_of(client.user_id)}
        await connection.execute(
            text("UPDATE users SET created_at = now() - interval '30 days' WHERE id = :id"), user
        )
        await connection.execute(
            text("UPDATE tasks SET created_at = now() - interval '1 day' WHERE user_id = :id"), user
        )
        await connection.execute(
            text("UPDATE tasks SET completed_at = now() - interval '6 hours' WHERE id = ANY(:ids)"),
            {"ids": [uuid_of(t, "Task") for t in done]},
        )


@pytest.fixture
async def planned(
    alice: GraphQLClient, resources: Resources, owner: AsyncEngine
) -> AsyncIterator[tuple[GraphQLClient, Layout, Any]]:
    """Alice's layout with a history, scored by a whole pass, and her passes by hand."""
    async with passes_by_hand(resources, alice) as one:
        found = await layout(alice)
        await with_history(alice, owner)
        first = await scoring.one_pass(resources, uuid_of(alice.user_id))
        assert isinstance(first, scoring.Rescored)
        assert first.whole
        yield alice, found, one


async def test_a_change_of_a_task_alone_rescores_that_task(
    planned: tuple[GraphQLClient, Layout, Any],
) -> None:
    client, found, one_pass = planned
    task = found.tasks[found.projects[3]][0]
    await client.mutate("taskUpdate", {"id": task, "priority": "URGENT"}, "task { id }")
    assert await one_pass() == {task}
    created = await make_task(client, found.projects[5], "Another")  # nothing completed there yet
    assert await one_pass() == {created}


async def test_completing_a_task_rescores_what_waits_for_it_its_project_and_every_pillar(
    planned: tuple[GraphQLClient, Layout, Any],
) -> None:
    client, found, one_pass = planned
    first = found.projects[0]
    blocker, waiting = found.tasks[first][1], found.tasks[first][2]
    await act(client, "taskComplete", {"id": blocker}, "task { id }", STATUS)
    # Its pillar's share of the recent effort moved (from none); the other's stays at none.
    computed = await one_pass()
    assert computed == found.below(*found.projects[:4]) - {blocker}
    assert waiting in computed
    factors = await client.ok(
        "query($id: ID!) { node(id: $id) { ... on Task { " + SCORE + " } } }", {"id": waiting}
    )
    reasons = {f["ruleCode"]: f["reason"] for f in factors["node"]["score"]["factors"]}
    assert reasons["DEPENDENCIES"].startswith("Everything it waited for is done")


async def test_a_create_in_a_big_project_rescores_its_other_tasks_only_when_a_step_is_crossed(
    alice: GraphQLClient, resources: Resources
) -> None:
    """Momentum rates a project by its completion in tenths: a task added to a project leaves the other
    tasks' scores alone (the pass scores the new one only) until the completed share crosses a step."""
    async with passes_by_hand(resources, alice) as one_pass:
        area = await make_area(alice, await make_pillar(alice, timeAllocation=40))
        project = await make_project(alice, area, name="Project")
        tasks = [await make_task(alice, project, f"Task {n}") for n in range(9)]
        for done in tasks[:2]:
            await act(alice, "taskComplete", {"id": done}, "task { id }", STATUS)
        first = await scoring.one_pass(resources, uuid_of(alice.user_id))
        assert isinstance(first, scoring.Rescored)
        assert first.whole
        assert await momentum(alice, tasks[2]) == "'Project' is at least 20% done, still being planned"
        tenth = await make_task(alice, project, "Task 9")  # 2 of 10 done, as 2 of 9 (22 %): the same step
        assert await one_pass() == {tenth}
        eleventh = await make_task(alice, project, "Task 10")  # 2 of 11 (18 %): below 20 %
        assert await one_pass() == set(tasks[2:]) | {tenth, eleventh}
        assert await momentum(alice, tasks[2]) == "'Project' is at least 10% done, still being planned"


async def momentum(client: GraphQLClient, task: str) -> str:
    found = await client.ok(
        "query($id: ID!) { node(id: $id) { ... on Task { " + SCORE + " } } }", {"id": task}
    )
    reasons = {f["ruleCode"]: f["reason"] for f in found["node"]["score"]["factors"]}
    return str(reasons["PROJECT_MOMENTUM"])


async def test_a_task_waiting_elsewhere_is_rescored_when_what_it_waits_for_closes(
    planned: tuple[GraphQLClient, Layout, Any],
) -> None:
    client, found, one_pass = planned
    # Effort is counted in minutes once a completed task has an estimate: closing one without any leaves
    # every pillar's balance where it was, so only what waits for it (and its own project) can move.
    estimated = found.tasks[found.projects[7]][0]
    await client.mutate("taskUpdate", {"id": estimated, "estimatedMinutes": 30}, "task { id }")
    await act(client, "taskComplete", {"id": estimated}, "task { id }", STATUS)
    await one_pass()
    blocker = found.tasks[found.projects[3]][0]
    waiting = found.tasks[found.projects[6]][1]
    await client.mutate("taskUpdate", {"id": waiting, "dependencyIds": [blocker]}, "task { id }")
    assert await one_pass() == {waiting, blocker}  # the blocker now unblocks something
    await client.mutate("taskUpdate", {"id": waiting, "priority": "URGENT"}, "task { id }")
    assert await one_pass() == {waiting, blocker}  # and what it unblocks matters more
    await act(client, "taskComplete", {"id": blocker}, "task { id }", STATUS)
    assert await one_pass() == found.below(found.projects[3]) - {blocker} | {waiting}


async def test_a_project_change_rescores_its_tasks_and_an_area_change_its_projects(
    planned: tuple[GraphQLClient, Layout, Any],
) -> None:
    client, found, one_pass = planned
    await client.mutate("projectUpdate", {"id": found.projects[1], "importance": 5}, "project { id }")
    assert await one_pass() == found.below(found.projects[1])
    await client.mutate("projectUpdate", {"id": found.projects[1], "status": "ON_HOLD"}, "project { id }")
    assert await one_pass() == found.below(found.projects[1]), "its status is in their momentum"
    await client.mutate("areaUpdate", {"id": found.areas[3], "importance": 1}, "area { id }")
    assert await one_pass() == found.below(*found.projects[6:8])
    await client.mutate("projectUpdate", {"id": found.projects[2], "name": "Renamed"}, "project { id }")
    assert await one_pass() == found.below(found.projects[2]), "its name is in their reasons"


async def test_an_allocation_change_rescores_the_pillar_and_then_every_balance(
    planned: tuple[GraphQLClient, Layout, Any], owner: AsyncEngine
) -> None:
    client, found, one_pass = planned
    second = found.below(*found.projects[4:])
    await client.mutate("pillarUpdate", {"id": found.pillars[1], "timeAllocation": 90}, "pillar { id }")
    # Its tasks' alignment, and every pillar's planned share against the effort of the past week.
    assert await one_pass() == found.every
    assert second < found.every
    done = found.tasks[found.projects[5]][0]
    await act(client, "taskComplete", {"id": done}, "task { id }", STATUS)
    assert await one_pass() == second - {done}, "the other pillar still got none of the effort"
    await client.mutate("pillarUpdate", {"id": found.pillars[0], "timeAllocation": 10}, "pillar { id }")
    assert await one_pass() == found.every - {done}, "every planned share moved"
    await act(client, "areaArchive", {"id": found.areas[0]}, "area { id }")
    assert await one_pass() == set(), "its tasks' scores go, nothing else moved"
    assert await stored_ids(owner, client) == found.every - found.below(*found.projects[:2]) - {done}


async def stored_ids(owner: AsyncEngine, client: GraphQLClient) -> set[str]:
    return set(await stored(owner, client))


# --- bursts ---


async def passes_written(owner: AsyncEngine, client: GraphQLClient) -> int:
    async with owner.connect() as connection:
        version = await connection.scalar(
            text("SELECT version FROM hrm_score_state WHERE user_id = :id"), {"id": uuid_of(client.user_id)}
        )
    return int(version or 0)


async def test_a_burst_of_creates_is_scored_by_one_or_a_few_passes(
    alice: GraphQLClient, owner: AsyncEngine, resources: Resources
) -> None:
    pillar = await make_pillar(alice, timeAllocation=40)
    project = await make_project(alice, await make_area(alice, pillar))
    await make_task(alice, project, "First")
    await scores_settled(owner, alice.user_id)
    before = await passes_written(owner, alice)
    created = await asyncio.gather(*(make_task(alice, project, f"Burst {n}") for n in range(50)))
    await scores_settled(owner, alice.user_id)
    passes = await passes_written(owner, alice) - before
    assert 1 <= passes <= 5, passes
    assert set(created) <= await stored_ids(owner, alice)
