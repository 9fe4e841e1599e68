"""What notifications say about due moments: the due day as the person set it (never the midnight after a
date-only due day), today and tomorrow named ahead of it, a due time on the person's own clock; in the app and
in the email."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from aurum.resources import Resources
from tests.conftest import SmtpSink, register
from tests.hierarchy import make_task
from tests.support import GraphQLClient, wait_for
from tests.test_notifications import about, iso, prefer, project_of, scan

AUCKLAND = ZoneInfo("Pacific/Auckland")  # far from UTC: a due day read in UTC would show the wrong date


def spelled(day: date) -> str:
    return f"{day.day} {day:%b} {day.year}"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AUCKLAND)


async def body_of(client: GraphQLClient, task: str, kind: str) -> str:
    [found] = await about(client, task, kind)
    return str(found["body"])


async def test_due_soon_overdue_and_reminder_texts_in_the_users_zone(
    resources: Resources, http: httpx.AsyncClient
) -> None:
    client = await register(http, timezone="Pacific/Auckland")
    assert (await prefer(client, dueSoonHours=72))["userErrors"] == []
    day = datetime.now(AUCKLAND).date() + timedelta(days=6)  # beyond the real every-minute scan's reach
    before = day - timedelta(days=1)
    project = await project_of(client)
    tomorrow = await make_task(client, project, "Tomorrow thing", dueDate=str(day))
    today = await make_task(client, project, "Dentist", dueDate=str(before), dueTime="09:30")
    later = await make_task(client, project, "Later thing", dueDate=str(day + timedelta(days=1)))
    reminded = await make_task(
        client, project, "Call mum", dueDate=str(day), reminderAt=iso(local(before, 8))
    )

    await scan(resources, local(before, 8))
    assert (
        await body_of(client, tomorrow, "TASK_DUE") == f'"Tomorrow thing" is due tomorrow ({spelled(day)}).'
    )
    assert await body_of(client, today, "TASK_DUE") == f'"Dentist" is due today ({spelled(before)}) at 09:30.'
    after = day + timedelta(days=1)
    assert await body_of(client, later, "TASK_DUE") == f'"Later thing" is due on {spelled(after)}.'
    assert await body_of(client, reminded, "TASK_REMINDER") == (
        f'It is time for "Call mum". It is due tomorrow ({spelled(day)}).'
    )

    await scan(resources, local(day + timedelta(days=2), 0, 1))
    assert await body_of(client, tomorrow, "TASK_OVERDUE") == f'"Tomorrow thing" was due on {spelled(day)}.'
    assert await body_of(client, today, "TASK_OVERDUE") == f'"Dentist" was due on {spelled(before)} at 09:30.'
    assert await body_of(client, later, "TASK_OVERDUE") == f'"Later thing" was due on {spelled(after)}.'


async def test_a_reminder_after_the_due_moment_says_it_was_due(
    resources: Resources, alice: GraphQLClient
) -> None:
    day = (datetime.now(AUCKLAND) + timedelta(days=6)).date()
    at = datetime.combine(day + timedelta(days=1), time(10), tzinfo=ZoneInfo("UTC"))
    task = await make_task(alice, await project_of(alice), "Late call", dueDate=str(day), reminderAt=iso(at))
    await scan(resources, at)
    assert await body_of(alice, task, "TASK_REMINDER") == (
        f'It is time for "Late call". It was due on {spelled(day)}.'
    )


async def test_the_email_says_the_same(
    resources: Resources, http: httpx.AsyncClient, smtp_server: SmtpSink
) -> None:
    client = await register(http, timezone="Pacific/Auckland")
    assert (await prefer(client, emailEnabled=True))["userErrors"] == []
    day = datetime.now(AUCKLAND).date() + timedelta(days=6)
    task = await make_task(client, await project_of(client), "Overdue thing", dueDate=str(day))
    await scan(resources, local(day + timedelta(days=1), 0))
    expected = f'"Overdue thing" was due on {spelled(day)}.'
    assert await body_of(client, task, "TASK_OVERDUE") == expected

    def overdue_mail() -> list[Any]:
        return [m for m in smtp_server.received_by(client.email) if m["Subject"] == "Overdue: Overdue thing"]

    await wait_for(lambda: bool(overdue_mail()), "the overdue email")
    [message] = overdue_mail()
    assert message.get_content().splitlines()[0] == expected


async def test_a_project_deadline_names_its_day(resources: Resources, http: httpx.AsyncClient) -> None:
    client = await register(http, timezone="Pacific/Auckland")
    day = datetime.now(AUCKLAND).date() + timedelta(days=6)
    project = await project_of(client, deadline=str(day))
    await scan(resources, local(day - timedelta(days=1), 9))
    await scan(resources, local(day, 9))
    bodies = sorted(n["body"] for n in await about(client, project, "PROJECT_DEADLINE"))
    assert bodies == [
        f'The project "Run a 10k" is due today ({spelled(day)}).',
        f'The project "Run a 10k" is due tomorrow ({spelled(day)}).',
    ]
