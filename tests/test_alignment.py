"""The alignment report through GraphQL: planned against actual shares per pillar, points against the goal,
days in the viewer's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import register
from tests.hierarchy import STATUS, act, make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, StatementCounter, uuid_of

REPORT = """query($from: Date, $to: Date) { alignment(from: $from, to: $to) { from to points goal
  pillars { pillar { id name archived } plannedShare actualShare completedTasks completedMinutes } } }"""

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
IN_MARCH = datetime(2026, 3, 10, 12, tzinfo=UTC)


async def report(client: GraphQLClient, **arguments: str) -> dict[str, Any]:
    data = await client.ok(REPORT, arguments)
    found: dict[str, Any] = data["alignment"]
    return found


def by_name(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["pillar"]["name"]: p for p in found["pillars"]}


async def complete_at(client: GraphQLClient, owner: AsyncEngine, task_id: str, when: datetime) -> None:
    """Complete the task through the API, then move its completion to ``when``."""
    payload = await act(client, "taskComplete", {"id": task_id}, "task { status }", STATUS)
    assert payload["userErrors"] == [], payload
    async with owner.begin() as connection:
        await connection.execute(
            text("UPDATE tasks SET completed_at = :when WHERE id = :id"),
            {"when": when, "id": uuid_of(task_id, "Task")},
        )


async def done_task(
    client: GraphQLClient, owner: AsyncEngine, project: str, when: datetime = IN_MARCH, **fields: Any
) -> str:
    task = await make_task(client, project, **fields)
    await complete_at(client, owner, task, when)
    return task


async def project_under(client: GraphQLClient, pillar: str, **fields: Any) -> str:
    return await make_project(client, await make_area(client, pillar), **fields)


async def test_shares_minutes_and_counts_per_pillar(alice: GraphQLClient, owner: AsyncEngine) -> None:
    health = await make_pillar(alice, name="Health", timeAllocation=50, sortOrder=1)
    career = await make_pillar(alice, name="Career", timeAllocation=30, sortOrder=2)
    family = await make_pillar(alice, name="Family", sortOrder=3)  # no allocation: planned 0
    gym, work = await project_under(alice, health), await project_under(alice, career)
    parent = await done_task(alice, owner, gym, estimatedMinutes=60)
    await done_task(alice, owner, gym, parentId=parent, estimatedMinutes=30)  # a subtask counts too
    open_parent = await make_task(alice, gym, estimatedMinutes=500)  # open: nothing
    await done_task(alice, owner, gym, parentId=open_parent, estimatedMinutes=15)  # under an open parent
    await done_task(alice, owner, work, estimatedMinutes=45)
    await done_task(alice, owner, work)  # no estimate: counted, 0 minutes, no share of the minutes
    await make_task(alice, await project_under(alice, family), estimatedMinutes=90)  # open

    found = await report(alice, **MARCH)

    assert (found["from"], found["to"]) == ("2026-03-01", "2026-03-31")
    assert [p["pillar"]["id"] for p in found["pillars"]] == [health, career, family]
    pillars = by_name(found)
    assert pillars["Health"]["plannedShare"] == pytest.approx(0.625)
    assert pillars["Career"]["plannedShare"] == pytest.approx(0.375)
    assert pillars["Family"]["plannedShare"] == 0
    assert [(p["completedTasks"], p["completedMinutes"]) for p in found["pillars"]] == [
        (3, 105),
        (2, 45),
        (0, 0),
    ]
    assert pillars["Health"]["actualShare"] == pytest.approx(105 / 150, abs=1e-4)
    assert pillars["Career"]["actualShare"] == pytest.approx(45 / 150, abs=1e-4)
    assert pillars["Family"]["actualShare"] == 0


async def test_shares_by_count_when_no_completed_task_has_an_estimate(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    reading = await project_under(alice, await make_pillar(alice, name="Learning", sortOrder=1))
    friends = await project_under(alice, await make_pillar(alice, name="Friends", sortOrder=2))
    for _ in range(3):
        await done_task(alice, owner, reading)
    await done_task(alice, owner, friends)
    # An estimated task completed outside the range does not switch the report to minutes.
    await done_task(alice, owner, friends, when=datetime(2026, 4, 2, tzinfo=UTC), estimatedMinutes=120)

    pillars = by_name(await report(alice, **MARCH))

    assert pillars["Learning"]["actualShare"] == pytest.approx(0.75)
    assert pillars["Friends"]["actualShare"] == pytest.approx(0.25)
    assert [pillars[n]["completedTasks"] for n in ("Learning", "Friends")] == [3, 1]
    assert [pillars[n]["completedMinutes"] for n in ("Learning", "Friends")] == [0, 0]
    # Neither has an allocation: equal planned shares.
    assert [pillars[n]["plannedShare"] for n in ("Learning", "Friends")] == [0.5, 0.5]


async def test_nothing_completed_gives_zero_actual_shares(alice: GraphQLClient) -> None:
    await make_pillar(alice, name="Health", timeAllocation=0)
    await make_pillar(alice, name="Career", timeAllocation=0)
    found = await report(alice, **MARCH)
    assert [(p["plannedShare"], p["actualShare"]) for p in found["pillars"]] == [(0.5, 0.0), (0.5, 0.0)]
    assert (found["points"], found["goal"]) == (0, None)


async def test_archived_pillars_are_out_of_the_plan_but_their_work_still_counts(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    active = await make_pillar(alice, name="Active", timeAllocation=40, sortOrder=1)
    retired = await make_pillar(alice, name="Retired", timeAllocation=60, sortOrder=2)
    idle = await make_pillar(alice, name="Idle", timeAllocation=25, sortOrder=3)
    await done_task(alice, owner, await project_under(alice, active), estimatedMinutes=30)
    await done_task(alice, owner, await project_under(alice, retired), estimatedMinutes=90)
    # Work under an archived project of an active pillar was done all the same.
    archived_project = await project_under(alice, active)
    await done_task(alice, owner, archived_project, estimatedMinutes=30)
    for node in (retired, idle, archived_project):
        kind = "pillar" if node != archived_project else "project"
        payload = await act(alice, f"{kind}Archive", {"id": node}, f"{kind} {{ archived }}")
        assert payload["userErrors"] == [], payload

    found = await report(alice, **MARCH)

    # The idle archived pillar is gone; the retired one stays for its work, planned for nothing.
    assert [p["pillar"]["name"] for p in found["pillars"]] == ["Active", "Retired"]
    pillars = by_name(found)
    assert pillars["Retired"]["pillar"]["archived"] is True
    assert pillars["Active"]["plannedShare"] == 1.0  # 40 of the active pillars' 40
    assert pillars["Retired"]["plannedShare"] == 0.0
    assert (pillars["Active"]["completedMinutes"], pillars["Retired"]["completedMinutes"]) == (60, 90)
    assert pillars["Active"]["actualShare"] == pytest.approx(0.4)
    assert pillars["Retired"]["actualShare"] == pytest.approx(0.6)


async def test_tasks_completed_outside_the_range_are_left_out(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    project = await project_under(alice, await make_pillar(alice, name="Health"))
    await done_task(alice, owner, project, when=datetime(2026, 2, 27, 12, tzinfo=UTC), estimatedMinutes=1)
    await done_task(alice, owner, project, when=datetime(2026, 3, 15, 12, tzinfo=UTC), estimatedMinutes=2)
    await done_task(alice, owner, project, when=datetime(2026, 4, 3, 12, tzinfo=UTC), estimatedMinutes=4)
    await make_task(alice, project, estimatedMinutes=8)  # never completed

    march = by_name(await report(alice, **MARCH))["Health"]
    spring = by_name(await report(alice, **{"from": "2026-02-01", "to": "2026-04-30"}))["Health"]

    assert (march["completedTasks"], march["completedMinutes"]) == (1, 2)
    assert (spring["completedTasks"], spring["completedMinutes"]) == (3, 7)


# Completion instants in UTC around the range's ends, with whether they fall inside it (local times noted).
BOUNDARIES = {
    # Paris: CET (+1) until 2026-03-29 02:00, CEST (+2) after; the range ends on a day of another offset.
    "Europe/Paris": (
        {"from": "2026-03-01", "to": "2026-03-31"},
        [
            (datetime(2026, 2, 28, 22, 59, tzinfo=UTC), False),  # Feb 28 23:59 CET
            (datetime(2026, 2, 28, 23, 30, tzinfo=UTC), True),  # Mar 1 00:30 CET: the previous day in UTC
            (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), True),  # Mar 29 03:30 CEST, just after the change
            (datetime(2026, 3, 31, 21, 30, tzinfo=UTC), True),  # Mar 31 23:30 CEST
            (datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC), True),  # Mar 31 23:59:59 CEST
            (datetime(2026, 3, 31, 22, 0, tzinfo=UTC), False),  # Apr 1 00:00 CEST: the end, excluded
            (datetime(2026, 3, 31, 22, 30, tzinfo=UTC), False),  # Apr 1 00:30 CEST: still Mar 31 in UTC
        ],
    ),
    # New York: EDT (-4) until 2026-11-01 02:00, EST (-5) after, the last day of the range.
    "America/New_York": (
        {"from": "2026-10-01", "to": "2026-11-01"},
        [
            (datetime(2026, 10, 1, 3, 45, tzinfo=UTC), False),  # Sep 30 23:45 EDT: Oct 1 in UTC
            (datetime(2026, 10, 1, 4, 15, tzinfo=UTC), True),  # Oct 1 00:15 EDT
            (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), True),  # Nov 1 01:30 EST, the repeated hour
            (datetime(2026, 11, 2, 4, 30, tzinfo=UTC), True),  # Nov 1 23:30 EST: the next day in UTC
            (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), False),  # Nov 2 00:00 EST: the end, excluded
        ],
    ),
}


@pytest.mark.parametrize("zone", sorted(BOUNDARIES))
async def test_the_range_is_in_the_viewers_time_zone_across_dst(
    http: httpx.AsyncClient, owner: AsyncEngine, zone: str
) -> None:
    client = await register(http, timezone=zone)
    project = await project_under(client, await make_pillar(client, name="Health"))
    arguments, instants = BOUNDARIES[zone]
    # Estimates are powers of two: the minutes name exactly which completions were counted.
    for n, (when, _) in enumerate(instants):
        await done_task(
            client, owner, project, when=when, name=f"at {when.isoformat()}", estimatedMinutes=2**n
        )
    expected = sum(2**n for n, (_, inside) in enumerate(instants) if inside)

    health = by_name(await report(client, **arguments))["Health"]

    assert health["completedMinutes"] == expected
    assert health["completedTasks"] == sum(inside for _, inside in instants)


async def test_points_follow_priorities_and_area_importance(alice: GraphQLClient, owner: AsyncEngine) -> None:
    pillar = await make_pillar(alice, name="Career")
    plain = await make_project(alice, await make_area(alice, pillar, importance=3), priority="MEDIUM")
    key = await make_project(alice, await make_area(alice, pillar, importance=5), priority="HIGH")
    await done_task(alice, owner, plain, priority="LOW")  # 5
    await done_task(alice, owner, plain, priority="HIGH")  # 5 + 10
    await done_task(alice, owner, key, priority="URGENT")  # 5 + 10 + 15 + 20
    await done_task(alice, owner, key, priority="MEDIUM", when=datetime(2026, 4, 1, 12, tzinfo=UTC))  # later
    other = await project_under(alice, await make_pillar(alice, name="Health"))
    await done_task(alice, owner, other)  # 5, under another pillar

    assert (await report(alice, **MARCH))["points"] == 5 + 15 + 50 + 5
    assert (await report(alice, **{"from": "2026-04-01", "to": "2026-04-01"}))["points"] == 5 + 15 + 20


@pytest.mark.parametrize(
    ("arguments", "goal"),
    [
        (MARCH, 310),  # a whole month: the goal itself
        ({"from": "2026-03-01", "to": "2026-03-16"}, 160),  # 16 of March's 31 days
        ({"from": "2026-03-17", "to": "2026-04-15"}, 305),  # 15/31 of March + 15/30 of April
        ({"from": "2026-03-01", "to": "2026-04-30"}, 620),  # two whole months
        ({"from": "2026-02-01", "to": "2026-02-01"}, 11),  # 310 / 28 = 11.07
    ],
)
async def test_the_goal_is_the_monthly_goal_prorated_to_the_range(
    alice: GraphQLClient, arguments: dict[str, str], goal: int
) -> None:
    assert (await report(alice, **arguments))["goal"] is None  # no goal set
    payload = await alice.mutate(
        "accountUpdate", {"monthlyAlignmentGoal": 310}, "user { monthlyAlignmentGoal }"
    )
    assert payload["userErrors"] == [], payload
    assert (await report(alice, **arguments))["goal"] == goal


def today_in(zone: str) -> set[date]:
    """Today in ``zone``, as a set (tests unite two readings, in case midnight passes while they run)."""
    return {datetime.now(ZoneInfo(zone)).date()}


async def test_the_range_defaults_to_this_month_so_far_in_the_viewers_zone(
    http: httpx.AsyncClient, owner: AsyncEngine
) -> None:
    # UTC+14 and UTC-12 are 26 hours apart: at any moment, at least one of them is not on UTC's day.
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        client = await register(http, timezone=zone)
        project = await project_under(client, await make_pillar(client, name="Health"))
        now_task = await make_task(client, project, estimatedMinutes=10)
        payload = await act(client, "taskComplete", {"id": now_task}, "task { status }", STATUS)
        assert payload["userErrors"] == [], payload
        before = today_in(zone)
        first_of_month = min(before).replace(day=1)
        last_month = datetime.combine(first_of_month - timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
        await done_task(client, owner, project, when=last_month + timedelta(hours=12), estimatedMinutes=1)

        found = await report(client)

        days = before | today_in(zone)
        assert date.fromisoformat(found["to"]) in days, (zone, found["to"], days)
        assert found["from"] == date.fromisoformat(found["to"]).replace(day=1).isoformat()
        assert by_name(found)["Health"]["completedMinutes"] == 10  # now, not last month
        # Only `to`: from the first of its month.
        assert (await report(client, to="2026-02-20"))["from"] == "2026-02-01"
        # Only `from`: up to today.
        since = (first_of_month - timedelta(days=20)).isoformat()
        assert date.fromisoformat((await report(client, **{"from": since}))["to"]) in days | today_in(zone)


async def test_the_defaults_follow_the_zone(http: httpx.AsyncClient) -> None:
    east = await register(http, timezone="Pacific/Kiritimati")
    west = await register(http, timezone="Etc/GMT+12")
    east_to = date.fromisoformat((await report(east))["to"])
    west_to = date.fromisoformat((await report(west))["to"])
    assert (east_to - west_to).days in (1, 2)  # 26 hours apart: never the same day


async def errors_of(client: GraphQLClient, **arguments: str) -> list[tuple[str, list[str] | None]]:
    body = await client.execute(REPORT, arguments)
    assert body["data"] is None, body
    return [(e["extensions"]["code"], e["extensions"].get("field")) for e in body["errors"]]


async def test_bad_ranges_are_bad_user_input_naming_the_argument(http: httpx.AsyncClient) -> None:
    client = await register(http, timezone="Europe/Paris")
    bad = "BAD_USER_INPUT"
    assert await errors_of(client, **{"from": "2026-03-02", "to": "2026-03-01"}) == [(bad, ["from"])]
    too_long = {"from": "2025-01-01", "to": "2026-01-02"}  # 367 days
    assert await errors_of(client, **too_long) == [(bad, ["to"])]
    far_ahead = (date.today() + timedelta(days=30)).isoformat()
    assert await errors_of(client, **{"from": far_ahead}) == [(bad, ["from"])]  # after today
    long_ago = (date.today() - timedelta(days=400)).isoformat()
    assert await errors_of(client, **{"from": long_ago}) == [(bad, ["from"])]  # up to today: too long
    # Midnights that cannot be represented in UTC are refused, not a server error.
    assert await errors_of(client, **{"from": "0001-01-01", "to": "0001-01-02"}) == [(bad, ["from"])]
    assert await errors_of(client, **{"from": "9999-12-31", "to": "9999-12-31"}) == [(bad, ["to"])]
    # The longest ranges allowed: 366 days, and a leap year.
    assert (await report(client, **{"from": "2025-01-01", "to": "2026-01-01"}))["to"] == "2026-01-01"
    assert (await report(client, **{"from": "2024-01-01", "to": "2024-12-31"}))["from"] == "2024-01-01"
    # Not a date at all: refused by the Date scalar, like any malformed variable.
    assert await client.error_codes(REPORT, {"from": "2026-02-30"}) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_another_users_work_never_counts(
    alice: GraphQLClient, bob: GraphQLClient, owner: AsyncEngine
) -> None:
    hers = await project_under(alice, await make_pillar(alice, name="Hers", timeAllocation=10))
    his = await project_under(bob, await make_pillar(bob, name="His", timeAllocation=90))
    await done_task(alice, owner, hers, estimatedMinutes=20, priority="HIGH")
    for _ in range(3):
        await done_task(bob, owner, his, estimatedMinutes=100, priority="URGENT")

    found = await report(alice, **MARCH)

    assert [p["pillar"]["name"] for p in found["pillars"]] == ["Hers"]
    assert found["pillars"][0] | {"pillar": None} == {
        "pillar": None,
        "plannedShare": 1.0,
        "actualShare": 1.0,
        "completedTasks": 1,
        "completedMinutes": 20,
    }
    assert found["points"] == 15
    assert by_name(await report(bob, **MARCH))["His"]["completedTasks"] == 3  # the control


async def test_the_report_costs_the_same_statements_whatever_the_number_of_tasks(
    alice: GraphQLClient, owner: AsyncEngine, statements: StatementCounter
) -> None:
    async def cost() -> list[str]:
        await alice.ok("{ viewer { id } }")  # a warm connection pool
        statements.reset()
        await report(alice, **MARCH)
        return list(statements.statements)

    pillars = [await make_pillar(alice, name=f"Pillar {n}") for n in range(2)]
    projects = [await project_under(alice, p) for p in pillars]
    await done_task(alice, owner, projects[0], estimatedMinutes=5)
    small = await cost()
    for project in projects:
        for _ in range(4):
            parent = await done_task(alice, owner, project, estimatedMinutes=5)
            await done_task(alice, owner, project, parentId=parent)
    large = await cost()

    assert len(large) == len(small)
    data = [s for s in large if "set_config" not in s]
    # The viewer's row (time zone, goal) and the report itself; each read first names the user for
    # row-level security.
    assert len(data) == 2, data
    assert len(large) == 4, large
    found = by_name(await report(alice, **MARCH))
    assert sum(found[f"Pillar {n}"]["completedTasks"] for n in range(2)) == 17
