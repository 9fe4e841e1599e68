"""Recurring tasks: the next occurrence's date (pure), and completing or skipping occurrences through GraphQL,
exactly once however the completion is repeated."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from aurum.errors import InvalidInput
from aurum.task.recurrence import (
    check_for_occurrence,
    next_due,
    next_occurrence,
    occurrences,
    shift_moment,
    shift_reminder,
)
from aurum.task.rules import Recurrence
from tests.conftest import register
from tests.hierarchy import STATUS, act, chain, create, make_task, node, problems, total
from tests.support import GraphQLClient, StatementCounter

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
OCCURRENCE = """id name description status kanbanColumn priority dueDate dueTime reminderAt estimatedMinutes
  energy category completedAt sortOrder recurrenceIndex isOverdue project { id } parent { id }
  dependencies { id } recurrence { frequency interval weekdays monthDay endDate count }"""


def days(*values: str) -> list[date]:
    return [date.fromisoformat(v) for v in values]


# ---- the next date, pure -----------------------------------------------------------------------------------


def test_daily_every_n_days() -> None:
    rule = Recurrence("daily", interval=3)
    assert occurrences(rule, date(2030, 12, 28), limit=4) == days(
        "2030-12-28", "2030-12-31", "2031-01-03", "2031-01-06"
    )
    assert next_due(Recurrence("daily"), date(2028, 2, 28)) == date(2028, 2, 29)


def test_weekly_on_chosen_weekdays_every_two_weeks() -> None:
    rule = Recurrence("weekly", interval=2, weekdays=(MON, WED, FRI))
    assert occurrences(rule, date(2030, 1, 7), limit=8) == days(
        "2030-01-07", "2030-01-09", "2030-01-11", "2030-01-21", "2030-01-23", "2030-01-25",
        "2030-02-04", "2030-02-06",
    )  # fmt: skip
    # Due on a day that is not chosen: the next chosen day of that week, then on with the rule.
    rule = Recurrence("weekly", interval=1, weekdays=(MON, FRI))
    assert occurrences(rule, date(2030, 1, 8), limit=4) == days(
        "2030-01-08", "2030-01-11", "2030-01-14", "2030-01-18"
    )
    # Past the last chosen day of the week (a Sunday): the first chosen day N weeks on.
    assert next_due(Recurrence("weekly", interval=3, weekdays=(TUE,)), date(2030, 1, 13)) == date(2030, 1, 29)
    assert next_due(Recurrence("weekly", weekdays=(SUN,)), date(2030, 1, 13)) == date(2030, 1, 20)


def test_monthly_clamps_each_month_from_the_rules_day() -> None:
    rule = Recurrence("monthly", month_day=31)
    assert occurrences(rule, date(2030, 1, 31), limit=5) == days(
        "2030-01-31", "2030-02-28", "2030-03-31", "2030-04-30", "2030-05-31"
    )
    assert occurrences(rule, date(2028, 1, 31), limit=3) == days("2028-01-31", "2028-02-29", "2028-03-31")
    rule = Recurrence("monthly", interval=2, month_day=30)
    assert occurrences(rule, date(2029, 11, 30), limit=4) == days(
        "2029-11-30", "2030-01-30", "2030-03-30", "2030-05-30"
    )
    rule = Recurrence("monthly", interval=12, month_day=29)
    assert occurrences(rule, date(2028, 2, 29), limit=3) == days("2028-02-29", "2029-02-28", "2030-02-28")
    # Due before the rule's day: that day of the same month comes first.
    assert occurrences(Recurrence("monthly", month_day=15), date(2030, 1, 3), limit=3) == days(
        "2030-01-03", "2030-01-15", "2030-02-15"
    )


def test_an_end_date_or_a_count_ends_the_series() -> None:
    rule = Recurrence("daily", end_date=date(2030, 1, 3))
    assert occurrences(rule, date(2030, 1, 1)) == days("2030-01-01", "2030-01-02", "2030-01-03")
    assert next_occurrence(rule, date(2030, 1, 3), 3) is None
    rule = Recurrence("weekly", weekdays=(MON, THU), count=3)
    assert occurrences(rule, date(2030, 1, 7)) == days("2030-01-07", "2030-01-10", "2030-01-14")
    assert occurrences(Recurrence("monthly", month_day=1, count=1), date(2030, 1, 1)) == days("2030-01-01")
    assert next_occurrence(Recurrence("daily", count=5), date(2030, 1, 1), 4) == date(2030, 1, 2)
    assert next_occurrence(Recurrence("daily", count=5), date(2030, 1, 1), 5) is None


def test_a_series_ends_where_the_calendar_does() -> None:
    last = date(9999, 12, 31)
    assert next_due(Recurrence("daily"), last) is None
    assert next_due(Recurrence("daily", interval=365), date(9999, 6, 1)) is None
    assert next_due(Recurrence("weekly", weekdays=(MON,)), date(9999, 12, 27)) is None  # a Monday
    assert next_due(Recurrence("weekly", interval=52, weekdays=(FRI,)), date(9999, 1, 8)) is None
    assert next_due(Recurrence("monthly", month_day=15), date(9999, 12, 15)) is None
    assert next_due(Recurrence("monthly", interval=12, month_day=1), date(9999, 1, 1)) is None
    assert next_due(Recurrence("weekly", weekdays=(MON, FRI)), date(9999, 12, 27)) == date(9999, 12, 31)
    assert next_occurrence(Recurrence("daily"), last, 1) is None
    assert occurrences(Recurrence("daily"), date(9999, 12, 30)) == days("9999-12-30", "9999-12-31")
    late = datetime(9999, 12, 31, 23, 0, tzinfo=ZoneInfo("UTC"))
    assert shift_reminder(late, 1, ZoneInfo("UTC")) is None  # the occurrence comes, without its reminder
    assert shift_reminder(late, -1, ZoneInfo("UTC")) == late - timedelta(days=1)


def test_a_count_below_the_occurrences_number_is_refused() -> None:
    check_for_occurrence(Recurrence("daily", count=3), 3, ["input", "recurrence"])
    check_for_occurrence(Recurrence("daily"), 30, ["input", "recurrence"])
    with pytest.raises(InvalidInput) as refused:
        check_for_occurrence(Recurrence("daily", count=2), 3, ["input", "recurrence"])
    assert refused.value.field == ["input", "recurrence", "count"]


def test_a_moment_keeps_its_wall_clock_time_across_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before = datetime(2030, 3, 30, 8, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 CET; CEST starts on March 31st
    after = shift_moment(before, 1, berlin)
    assert after.astimezone(berlin).hour == 9
    assert after - before == timedelta(hours=23)


# ---- through GraphQL ---------------------------------------------------------------------------------------


async def recurring(
    client: GraphQLClient, project: str, rule: dict[str, Any], due: str, **fields: Any
) -> str:
    return await make_task(client, project, "Water the plants", dueDate=due, recurrence=rule, **fields)


async def complete(client: GraphQLClient, task: str, name: str = "taskComplete") -> dict[str, Any]:
    payload = await act(
        client, name, {"id": task}, f"task {{ status nextOccurrence {{ {OCCURRENCE} }} }}", STATUS
    )
    assert payload["userErrors"] == [], payload
    task_state: dict[str, Any] = payload["task"]
    return task_state


async def due_dates(client: GraphQLClient, first: str, completions: int) -> list[str]:
    """Complete ``completions`` occurrences one after another from ``first``; the due dates met."""
    state = await node(client, first, "... on Task { dueDate }")
    assert state is not None
    dates, current = [state["dueDate"]], first
    for _ in range(completions):
        following = (await complete(client, current))["nextOccurrence"]
        if following is None:
            break
        dates.append(following["dueDate"])
        current = following["id"]
    return dates


async def test_completing_creates_the_next_occurrence_like_the_last(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    parent = await make_task(alice, project, "Garden")
    other = await make_task(alice, project, "Buy a watering can")
    first = await recurring(
        alice,
        project,
        {"frequency": "DAILY", "interval": 2},
        "2030-01-01",
        parentId=parent,
        description="All of them",
        priority="HIGH",
        dueTime="09:30",
        reminderAt="2030-01-01T08:00:00Z",
        estimatedMinutes=15,
        energy="LOW",
        category="ERRAND",
        dependencyIds=[other],
    )
    before = await node(alice, first, f"... on Task {{ {OCCURRENCE} nextOccurrence {{ id }} }}")
    assert before is not None
    assert (before["recurrenceIndex"], before["nextOccurrence"]) == (1, None)
    completed = await complete(alice, first)
    assert completed["status"] == "COMPLETED"
    following = completed["nextOccurrence"]
    assert following["id"] != first
    assert following["recurrenceIndex"] == 2
    assert following["dueDate"] == "2030-01-03"
    assert datetime.fromisoformat(following["reminderAt"]) == datetime.fromisoformat(
        "2030-01-03T08:00:00+00:00"
    )
    assert following["sortOrder"] > before["sortOrder"]
    # Dependencies are not carried over: they were about that occurrence.
    assert (following["dependencies"], before["dependencies"]) == ([], [{"id": other}])
    same = ("name", "description", "priority", "dueTime", "estimatedMinutes", "energy", "category", "project")
    assert {k: following[k] for k in same} == {k: before[k] for k in same}
    assert following["parent"] == {"id": parent}
    assert following["recurrence"] == before["recurrence"]
    assert (following["status"], following["kanbanColumn"], following["completedAt"]) == (
        "TODO",
        "TODO",
        None,
    )
    assert await total(alice, "tasks") == 4


async def test_daily_weekly_and_monthly_series(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    daily = await recurring(alice, project, {"frequency": "DAILY", "interval": 10}, "2030-12-25")
    assert await due_dates(alice, daily, 2) == ["2030-12-25", "2031-01-04", "2031-01-14"]
    weekly = await recurring(
        alice, project, {"frequency": "WEEKLY", "interval": 2, "weekdays": ["FRIDAY", "MONDAY", "WEDNESDAY"]},
        "2030-01-07",
    )  # fmt: skip
    assert await due_dates(alice, weekly, 6) == [
        "2030-01-07", "2030-01-09", "2030-01-11", "2030-01-21", "2030-01-23", "2030-01-25", "2030-02-04",
    ]  # fmt: skip
    monthly = await recurring(alice, project, {"frequency": "MONTHLY", "monthDay": 31}, "2030-01-31")
    assert await due_dates(alice, monthly, 3) == ["2030-01-31", "2030-02-28", "2030-03-31", "2030-04-30"]
    leap = await recurring(alice, project, {"frequency": "MONTHLY", "monthDay": 31}, "2028-01-31")
    assert await due_dates(alice, leap, 2) == ["2028-01-31", "2028-02-29", "2028-03-31"]


async def test_an_end_date_or_a_count_stops_the_series(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    until = await recurring(alice, project, {"frequency": "DAILY", "endDate": "2030-01-03"}, "2030-01-01")
    assert await due_dates(alice, until, 5) == ["2030-01-01", "2030-01-02", "2030-01-03"]
    counted = await recurring(
        alice, project, {"frequency": "WEEKLY", "weekdays": ["MONDAY"], "count": 2}, "2030-01-07"
    )
    assert await due_dates(alice, counted, 5) == ["2030-01-07", "2030-01-14"]
    assert await total(alice, "tasks") == 5
    assert await total(alice, "tasks", "completed: false") == 0


@pytest.mark.parametrize(
    ("rule", "due"),
    [
        ({"frequency": "DAILY"}, "9999-12-31"),
        ({"frequency": "DAILY", "interval": 365}, "9999-06-01"),
        ({"frequency": "WEEKLY", "weekdays": ["MONDAY"]}, "9999-12-27"),
        ({"frequency": "MONTHLY", "monthDay": 15}, "9999-12-15"),
        ({"frequency": "MONTHLY", "interval": 12, "monthDay": 1}, "9999-01-01"),
    ],
)
async def test_the_last_occurrence_before_the_calendar_ends_can_be_closed(
    alice: GraphQLClient, rule: dict[str, Any], due: str
) -> None:
    *_, project = await chain(alice)
    for name in ("taskComplete", "taskSkip"):
        task = await recurring(alice, project, rule, due, reminderAt=f"{due}T09:00:00Z")
        assert await complete(alice, task, name) == {
            "status": "COMPLETED" if name == "taskComplete" else "SKIPPED",
            "nextOccurrence": None,
        }
    assert await total(alice, "tasks", "archived: null") == 2


async def test_repeating_a_completion_creates_one_next_occurrence(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "DAILY"}, "2030-01-01")
    following = (await complete(alice, first))["nextOccurrence"]
    again = await complete(alice, first)  # the same request, retried
    assert again["nextOccurrence"]["id"] == following["id"]
    await act(alice, "taskReopen", {"id": first}, "task { id }", STATUS)
    assert (await complete(alice, first))["nextOccurrence"]["id"] == following["id"]
    by_update = await alice.mutate("taskUpdate", {"id": first, "status": "COMPLETED"}, "task { status }")
    assert by_update["userErrors"] == []
    assert await total(alice, "tasks") == 2
    # The next one completes on as usual.
    assert (await complete(alice, following["id"]))["nextOccurrence"]["dueDate"] == "2030-01-03"
    assert await total(alice, "tasks") == 3


async def test_concurrent_completions_create_one_next_occurrence(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "DAILY"}, "2030-01-01")
    calls = [complete(alice, first) for _ in range(4)]
    # taskUpdate to COMPLETED is a completion too.
    update = alice.mutate("taskUpdate", {"id": first, "status": "COMPLETED"}, "task { status }")
    *done, updated = await asyncio.gather(*calls, update)
    assert updated["userErrors"] == []
    assert len({d["nextOccurrence"]["id"] for d in done}) == 1
    assert await total(alice, "tasks") == 2
    # Skips racing each other and a completion: whichever comes first closes it, once.
    second = await recurring(alice, project, {"frequency": "MONTHLY", "monthDay": 1}, "2030-01-01")
    racing = [act(alice, "taskSkip", {"id": second}, "task { status }", STATUS) for _ in range(3)]
    racing.append(act(alice, "taskComplete", {"id": second}, "task { status }", STATUS))
    answers = await asyncio.gather(*racing)
    final = await node(alice, second, "... on Task { status nextOccurrence { dueDate } }")
    assert final is not None
    assert final["nextOccurrence"] == {"dueDate": "2030-02-01"}
    for answer in answers:  # a skip after the completion is refused; nothing else is
        assert answer["userErrors"] == [] or problems(answer) == [(("input", "id"), "BAD_USER_INPUT")], answer
    assert await total(alice, "tasks") == 4
    assert await total(alice, "tasks", "completed: false") == 2


async def test_completing_by_update_creates_the_next_occurrence(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "MONTHLY", "monthDay": 31}, "2030-01-31")
    for _ in range(2):
        payload = await alice.mutate(
            "taskUpdate",
            {"id": first, "status": "COMPLETED"},
            "task { status nextOccurrence { dueDate recurrenceIndex } }",
        )
        assert payload["userErrors"] == []
        assert payload["task"]["nextOccurrence"] == {"dueDate": "2030-02-28", "recurrenceIndex": 2}
    assert await total(alice, "tasks") == 2


async def test_skipping_closes_the_occurrence_and_creates_the_next(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "WEEKLY", "weekdays": ["TUESDAY"]}, "2020-01-07")
    skipped = await complete(alice, first, "taskSkip")
    assert skipped["status"] == "SKIPPED"
    assert skipped["nextOccurrence"]["dueDate"] == "2020-01-14"
    assert skipped["nextOccurrence"]["recurrenceIndex"] == 2
    state = await node(alice, first, "... on Task { status kanbanColumn completedAt isOverdue }")
    assert state == {"id": first, "status": "SKIPPED", "kanbanColumn": "DONE", "completedAt": None,
                     "isOverdue": False}  # fmt: skip
    # Skipping again, or completing the skipped one after all, adds nothing.
    assert (await complete(alice, first, "taskSkip"))["nextOccurrence"]["id"] == skipped["nextOccurrence"][
        "id"
    ]
    assert (await complete(alice, first))["status"] == "COMPLETED"
    await act(alice, "taskReopen", {"id": first}, "task { id }", STATUS)
    assert (await complete(alice, first, "taskSkip"))["status"] == "SKIPPED"
    assert await total(alice, "tasks") == 2
    # A skipped occurrence is neither open nor completed, nor overdue.
    assert await total(alice, "tasks", "completed: false") == 1
    assert await total(alice, "tasks", "completed: true") == 0
    assert await total(alice, "tasks", "status: [SKIPPED]") == 1
    assert await total(alice, "tasks", "overdue: true") == 1  # the next one, due in 2020 too
    # Something waiting for a skipped occurrence can start.
    waiting = await make_task(alice, project, "Waiting", dependencyIds=[first])
    assert await node(alice, waiting, "... on Task { canStart blockedBy { id } }") == {
        "id": waiting, "canStart": True, "blockedBy": [],
    }  # fmt: skip


async def test_skipping_by_update_creates_the_next(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "DAILY", "count": 2}, "2030-01-01")
    payload = await alice.mutate(
        "taskUpdate", {"id": first, "status": "SKIPPED"}, "task { status nextOccurrence { id dueDate } }"
    )
    assert payload["userErrors"] == []
    following = payload["task"]["nextOccurrence"]
    assert (payload["task"]["status"], following["dueDate"]) == ("SKIPPED", "2030-01-02")
    # The count is met: the second occurrence is the last.
    assert (await complete(alice, following["id"], "taskSkip"))["nextOccurrence"] is None
    assert await total(alice, "tasks") == 2


async def test_what_cannot_be_skipped(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    plain = await make_task(alice, project, "Once")
    payload = await act(alice, "taskSkip", {"id": plain}, "task { id }", STATUS)
    assert (payload["task"], problems(payload)) == (None, [(("input", "id"), "BAD_USER_INPUT")])
    payload = await alice.mutate("taskUpdate", {"id": plain, "status": "SKIPPED"}, "task { id }")
    assert problems(payload) == [(("input", "status"), "BAD_USER_INPUT")]
    payload = await alice.mutate(
        "taskCreate", {"projectId": project, "name": "New", "status": "SKIPPED"}, "task { id }"
    )
    assert problems(payload) == [(("input", "status"), "BAD_USER_INPUT")]
    done = await recurring(alice, project, {"frequency": "DAILY"}, "2030-01-01")
    await complete(alice, done)
    payload = await act(alice, "taskSkip", {"id": done}, "task { id }", STATUS)
    assert problems(payload) == [(("input", "id"), "BAD_USER_INPUT")]
    assert (await node(alice, done, "... on Task { status }")) == {"id": done, "status": "COMPLETED"}
    # Stopping the repetition leaves nothing to skip.
    payload = await alice.mutate(
        "taskUpdate", {"id": plain, "status": "SKIPPED", "recurrence": None}, "task { id }"
    )
    assert problems(payload) == [(("input", "status"), "BAD_USER_INPUT")]
    assert await total(alice, "tasks") == 3
    assert await total(alice, "tasks", "status: [SKIPPED]") == 0


@pytest.mark.parametrize(
    ("rule", "due", "field"),
    [
        ({"frequency": "DAILY", "weekdays": ["MONDAY"]}, "2030-01-01", ("input", "recurrence", "weekdays")),
        ({"frequency": "DAILY", "monthDay": 3}, "2030-01-01", ("input", "recurrence", "monthDay")),
        (
            {"frequency": "WEEKLY", "weekdays": ["MONDAY"], "monthDay": 3},
            "2030-01-07",
            ("input", "recurrence", "monthDay"),
        ),
        (
            {"frequency": "MONTHLY", "monthDay": 3, "weekdays": ["MONDAY"]},
            "2030-01-03",
            ("input", "recurrence", "weekdays"),
        ),
        ({"frequency": "MONTHLY", "monthDay": 0}, "2030-01-03", ("input", "recurrence", "monthDay")),
        ({"frequency": "WEEKLY", "weekdays": []}, "2030-01-07", ("input", "recurrence", "weekdays")),
        ({"frequency": "DAILY", "endDate": "2029-12-31"}, "2030-01-01", ("input", "recurrence", "endDate")),
        ({"frequency": "DAILY", "count": 0}, "2030-01-01", ("input", "recurrence", "count")),
        ({"frequency": "DAILY", "interval": 366}, "2030-01-01", ("input", "recurrence", "interval")),
    ],
)
async def test_impossible_rules_are_refused(
    alice: GraphQLClient, rule: dict[str, Any], due: str, field: tuple[str, ...]
) -> None:
    *_, project = await chain(alice)
    payload = await alice.mutate(
        "taskCreate", {"projectId": project, "name": "t", "dueDate": due, "recurrence": rule}, "task { id }"
    )
    assert (payload["task"], problems(payload)) == (None, [(field, "BAD_USER_INPUT")])
    task = await make_task(alice, project, "t", dueDate=due)
    payload = await alice.mutate("taskUpdate", {"id": task, "recurrence": rule}, "task { id }")
    assert (payload["task"], problems(payload)) == (None, [(field, "BAD_USER_INPUT")])
    assert (await node(alice, task, "... on Task { recurrence { frequency } }")) == {
        "id": task,
        "recurrence": None,
    }


async def test_rule_changes_that_the_series_has_outgrown_are_refused(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "DAILY"}, "2030-01-01")
    following = (await complete(alice, first))["nextOccurrence"]["id"]
    payload = await alice.mutate(
        "taskUpdate", {"id": following, "recurrence": {"frequency": "DAILY", "count": 1}}, "task { id }"
    )
    assert problems(payload) == [(("input", "recurrence", "count"), "BAD_USER_INPUT")]
    # Moving the due date past the end date, or dropping it, is refused too.
    payload = await alice.mutate(
        "taskUpdate",
        {
            "id": following,
            "recurrence": {"frequency": "DAILY", "endDate": "2030-01-05"},
            "dueDate": "2030-01-06",
        },
        "task { id }",
    )
    assert problems(payload) == [(("input", "recurrence", "endDate"), "BAD_USER_INPUT")]
    payload = await alice.mutate("taskUpdate", {"id": following, "dueDate": None}, "task { id }")
    assert problems(payload) == [(("input", "dueDate"), "BAD_USER_INPUT")]
    # A count that still allows it is fine, and ends the series there.
    payload = await alice.mutate(
        "taskUpdate",
        {"id": following, "recurrence": {"frequency": "DAILY", "count": 2}},
        "task { recurrenceIndex recurrence { count } }",
    )
    assert payload == {"task": {"recurrenceIndex": 2, "recurrence": {"count": 2}}, "userErrors": []}
    assert (await complete(alice, following))["nextOccurrence"] is None


async def test_a_rule_added_later_starts_a_series(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    task = await make_task(alice, project, "Later", dueDate="2030-01-01")
    assert (await node(alice, task, "... on Task { recurrenceIndex }")) == {
        "id": task,
        "recurrenceIndex": None,
    }
    payload = await alice.mutate(
        "taskUpdate", {"id": task, "recurrence": {"frequency": "DAILY"}}, "task { recurrenceIndex }"
    )
    assert payload == {"task": {"recurrenceIndex": 1}, "userErrors": []}
    assert (await complete(alice, task))["nextOccurrence"]["dueDate"] == "2030-01-02"
    # Without a rule, completing makes nothing more.
    plain = await make_task(alice, project, "Once", dueDate="2030-01-01")
    assert (await complete(alice, plain))["nextOccurrence"] is None
    assert await total(alice, "tasks") == 3


async def test_the_reminder_keeps_its_local_time_across_daylight_saving(http: httpx.AsyncClient) -> None:
    berlin = await register(http, timezone="Europe/Berlin")
    *_, project = await chain(berlin)
    first = await recurring(
        berlin, project, {"frequency": "DAILY"}, "2030-03-30", reminderAt="2030-03-30T09:00:00+01:00"
    )
    following = (await complete(berlin, first))["nextOccurrence"]
    assert following["dueDate"] == "2030-03-31"
    reminder = datetime.fromisoformat(following["reminderAt"])
    assert reminder == datetime.fromisoformat("2030-03-31T09:00:00+02:00")


async def test_another_user_cannot_complete_or_skip_my_occurrences(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "DAILY"}, "2030-01-01")
    before = await node(alice, first, "... on Task { status version }")
    for name in ("taskComplete", "taskSkip", "taskReopen"):
        payload = await act(bob, name, {"id": first}, "task { id }", STATUS)
        assert (payload["task"], problems(payload)) == (None, [(("input", "id"), "NOT_FOUND")])
    payload = await bob.mutate("taskUpdate", {"id": first, "status": "SKIPPED"}, "task { id }")
    assert problems(payload) == [(("input", "id"), "NOT_FOUND")]
    assert await node(bob, first) is None
    assert await node(alice, first, "... on Task { status version }") == before
    assert await total(alice, "tasks") == 1
    assert await total(bob, "tasks") == 0
    # Her own completion still makes exactly one next occurrence.
    await complete(alice, first)
    assert await total(alice, "tasks") == 2


async def test_next_occurrences_load_in_one_statement_per_level(
    alice: GraphQLClient, statements: StatementCounter
) -> None:
    *_, project = await chain(alice)
    firsts = [await recurring(alice, project, {"frequency": "DAILY"}, f"2030-01-0{i}") for i in range(1, 4)]
    for first in firsts:
        await complete(alice, first)
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Task { nextOccurrence { dueDate
      nextOccurrence { id } } } } }"""
    statements.reset()
    data = await alice.ok(query, {"ids": firsts})
    assert [n["nextOccurrence"]["dueDate"] for n in data["nodes"]] == [
        "2030-01-02",
        "2030-01-03",
        "2030-01-04",
    ]
    assert all(n["nextOccurrence"]["nextOccurrence"] is None for n in data["nodes"])
    lookups = [s for s in statements.statements if "recurrence_series_id, tasks.recurrence_index) IN" in s]
    assert len(lookups) == 2, lookups


async def test_a_new_occurrence_comes_after_its_siblings(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "DAILY"}, "2030-01-01", sortOrder=0)
    last = await create(alice, "task", {"projectId": project, "name": "Last", "sortOrder": 50}, "sortOrder")
    following = (await complete(alice, first))["nextOccurrence"]
    assert following["sortOrder"] == last["sortOrder"] + 1


async def test_a_skipped_occurrence_counts_neither_as_done_nor_as_left(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    first = await recurring(alice, project, {"frequency": "DAILY"}, "2020-01-07")
    following = (await complete(alice, first, "taskSkip"))["nextOccurrence"]["id"]
    await complete(alice, following)
    progress = await node(alice, project, "... on Project { completionPercent }")
    # Two occurrences closed (one skipped, one done) and the third open: one of two counted tasks is done.
    assert progress == {"id": project, "completionPercent": 50.0}
