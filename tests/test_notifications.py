"""Notifications: the scheduled kinds (scanned with a fixed `now`), marking read, preferences, quiet hours
(DST included), emails over real SMTP, the live subscription, isolation and the purge."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.notification.scheduler import purge_notifications, scan_notifications
from aurum.notification.service import quiet_until
from aurum.resources import Resources
from tests.conftest import SmtpSink, register
from tests.hierarchy import act, make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, uuid_of
from tests.ws import signed_in

PARIS = ZoneInfo("Europe/Paris")
LIST = """query($filter: NotificationFilter) { notifications(first: 100, filter: $filter) {
  nodes { id type title body read scheduledFor sentAt createdAt subject { id __typename } } } }"""


async def scan(resources: Resources, now: datetime) -> int:
    return await scan_notifications({"resources": resources}, now=now)


async def listed(client: GraphQLClient, **filter: Any) -> list[dict[str, Any]]:
    data = await client.ok(LIST, {"filter": filter or None})
    nodes: list[dict[str, Any]] = data["notifications"]["nodes"]
    return nodes


async def about(client: GraphQLClient, subject: str, kind: str) -> list[dict[str, Any]]:
    return [n for n in await listed(client, types=[kind]) if (n["subject"] or {}).get("id") == subject]


async def project_of(client: GraphQLClient, **fields: Any) -> str:
    return await make_project(client, await make_area(client, await make_pillar(client)), **fields)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parsed(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def later(days: int) -> datetime:
    """A whole minute some days ahead: the real every-minute job leaves it alone until then."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(second=0, microsecond=0)


async def prefer(client: GraphQLClient, **input: Any) -> dict[str, Any]:
    return await client.mutate(
        "notificationPreferencesUpdate",
        input,
        "preferences { emailEnabled inAppEnabled types quietHoursStart quietHoursEnd reminderLeadMinutes "
        "dueSoonHours }",
    )


# --- quiet hours, as a function -------------------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 22:00–07:00 across midnight, an ordinary night (CET, +01:00).
        ("2026-01-10T20:59:00", None),  # 21:59 local
        ("2026-01-10T21:00:00", "2026-01-11T06:00:00"),  # 22:00 local: until 07:00 tomorrow
        ("2026-01-10T23:30:00", "2026-01-11T06:00:00"),  # 00:30 local, after midnight
        ("2026-01-11T05:59:00", "2026-01-11T06:00:00"),
        ("2026-01-11T06:00:00", None),  # 07:00 local: over
        # Spring forward, 29 March 2026: the night starts in CET and ends in CEST (07:00 = 05:00 UTC).
        ("2026-03-28T21:30:00", "2026-03-29T05:00:00"),
        ("2026-03-29T00:30:00", "2026-03-29T05:00:00"),  # 01:30 CET, just before the jump
        ("2026-03-29T01:30:00", "2026-03-29T05:00:00"),  # 03:30 CEST, just after it
        ("2026-03-29T05:00:00", None),
        # Fall back, 25 October 2026: starts in CEST, ends in CET (07:00 = 06:00 UTC); 02:30 happens twice.
        ("2026-10-24T20:00:00", "2026-10-25T06:00:00"),  # 22:00 CEST
        ("2026-10-25T00:30:00", "2026-10-25T06:00:00"),  # 02:30 CEST
        ("2026-10-25T01:30:00", "2026-10-25T06:00:00"),  # 02:30 CET
        ("2026-10-25T05:30:00", "2026-10-25T06:00:00"),  # 06:30 CET
        ("2026-10-25T06:00:00", None),
    ],
)
def test_quiet_hours_across_midnight_and_dst(now: str, expected: str | None) -> None:
    found = quiet_until(utc(now), PARIS, time(22), time(7))
    assert found == (utc(expected) if expected else None)


def test_quiet_hours_within_a_day_and_none() -> None:
    assert quiet_until(utc("2026-06-01T11:00:00"), PARIS, time(12), time(14)) == utc("2026-06-01T12:00:00")
    assert quiet_until(utc("2026-06-01T12:00:00"), PARIS, time(12), time(14)) is None
    assert quiet_until(utc("2026-06-01T09:59:00"), PARIS, time(12), time(14)) is None
    assert quiet_until(utc("2026-06-01T11:00:00"), PARIS, time(8), time(8)) is None
    assert quiet_until(utc("2026-06-01T11:00:00"), PARIS, None, None) is None
    # A window ending in the spring-forward gap (02:30 does not exist on 29 March) ends at the jump.
    assert quiet_until(utc("2026-03-29T00:30:00"), PARIS, time(1), time(2, 30)) == utc("2026-03-29T01:30:00")


# --- the scheduled kinds --------------------------------------------------------------------------


async def test_a_reminder_fires_once_at_its_time_and_again_for_a_new_time(
    resources: Resources, alice: GraphQLClient
) -> None:
    at = later(3)
    task = await make_task(alice, await project_of(alice), "Call mum", reminderAt=iso(at))
    await scan(resources, at - timedelta(minutes=1))
    assert await about(alice, task, "TASK_REMINDER") == []
    await scan(resources, at)
    await scan(resources, at + timedelta(minutes=1))
    [first] = await about(alice, task, "TASK_REMINDER")
    assert first["title"] == "Reminder: Call mum"
    assert first["read"] is False
    assert first["subject"]["__typename"] == "Task"
    assert first["scheduledFor"] is None
    assert first["sentAt"] is None
    moved = await alice.mutate(
        "taskUpdate", {"id": task, "reminderAt": iso(at + timedelta(hours=1))}, "task { id }"
    )
    assert moved["userErrors"] == []
    await scan(resources, at + timedelta(hours=1))
    await scan(resources, at + timedelta(hours=1, minutes=1))
    assert len(await about(alice, task, "TASK_REMINDER")) == 2


async def test_a_reminder_lead_and_a_closed_task(resources: Resources, alice: GraphQLClient) -> None:
    assert (await prefer(alice, reminderLeadMinutes=30))["userErrors"] == []
    at = later(4)
    project = await project_of(alice)
    task = await make_task(alice, project, "Lead", reminderAt=iso(at))
    done = await make_task(alice, project, "Done", reminderAt=iso(at), status="COMPLETED")
    await scan(resources, at - timedelta(minutes=31))
    assert await about(alice, task, "TASK_REMINDER") == []
    await scan(resources, at - timedelta(minutes=30))
    assert len(await about(alice, task, "TASK_REMINDER")) == 1
    assert await about(alice, done, "TASK_REMINDER") == []


async def test_due_soon_then_overdue_once_in_the_users_zone(
    resources: Resources, http: httpx.AsyncClient
) -> None:
    client = await register(http, timezone="Europe/Paris")
    day = (datetime.now(PARIS) + timedelta(days=5)).date()
    task = await make_task(client, await project_of(client), "File taxes", dueDate=str(day))
    over = datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS)  # the day is over (Paris)
    await scan(resources, over - timedelta(hours=25))
    assert await about(client, task, "TASK_DUE") == []
    await scan(resources, over - timedelta(hours=23))
    await scan(resources, over - timedelta(hours=1))
    [due] = await about(client, task, "TASK_DUE")
    assert due["title"] == "Due soon: File taxes"
    await scan(resources, over - timedelta(minutes=1))
    assert await about(client, task, "TASK_OVERDUE") == []
    for minutes in (0, 1, 60 * 24 * 3):
        await scan(resources, over + timedelta(minutes=minutes))
    [overdue] = await about(client, task, "TASK_OVERDUE")
    assert overdue["title"] == "Overdue: File taxes"


async def test_work_not_under_way_sends_no_due_or_overdue_notice(
    resources: Resources, http: httpx.AsyncClient
) -> None:
    client = await register(http)
    day = (datetime.now(UTC) + timedelta(days=5)).date()
    tasks = {}
    for status in ("ACTIVE", "PLANNING", "ON_HOLD", "CANCELLED", "COMPLETED"):
        tasks[status] = await make_task(
            client, await project_of(client, status=status), status, dueDate=str(day)
        )
    archived = await project_of(client)
    tasks["ARCHIVED"] = await make_task(client, archived, "archived", dueDate=str(day))
    await act(client, "projectArchive", {"id": archived}, "project { id }")
    over = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    await scan(resources, over - timedelta(hours=1))
    await scan(resources, over + timedelta(minutes=1))
    for kind in ("TASK_DUE", "TASK_OVERDUE"):
        noticed = {name for name, task in tasks.items() if await about(client, task, kind)}
        assert noticed == {"ACTIVE", "PLANNING"}, kind


async def test_a_due_time_counts_and_due_soon_hours_apply(resources: Resources, alice: GraphQLClient) -> None:
    assert (await prefer(alice, dueSoonHours=2))["userErrors"] == []
    day = (datetime.now(UTC) + timedelta(days=6)).date()
    task = await make_task(alice, await project_of(alice), "Dentist", dueDate=str(day), dueTime="15:00")
    due_at = datetime.combine(day, time(15), tzinfo=UTC)
    await scan(resources, due_at - timedelta(hours=2, minutes=1))
    assert await about(alice, task, "TASK_DUE") == []
    await scan(resources, due_at - timedelta(hours=2))
    assert len(await about(alice, task, "TASK_DUE")) == 1
    await scan(resources, due_at)
    assert len(await about(alice, task, "TASK_OVERDUE")) == 1


async def test_project_deadline_tomorrow_then_today(resources: Resources, alice: GraphQLClient) -> None:
    day = (datetime.now(UTC) + timedelta(days=5)).date()
    project = await project_of(alice, deadline=str(day))
    eve = datetime.combine(day - timedelta(days=1), time(9), tzinfo=UTC)
    await scan(resources, eve - timedelta(days=1))
    assert await about(alice, project, "PROJECT_DEADLINE") == []
    await scan(resources, eve)
    await scan(resources, eve + timedelta(hours=1))
    await scan(resources, eve + timedelta(days=1))
    titles = sorted(n["title"] for n in await about(alice, project, "PROJECT_DEADLINE"))
    assert titles == ["Deadline today: Run a 10k", "Deadline tomorrow: Run a 10k"]


async def test_completing_the_last_dependency_unblocks_a_task(
    resources: Resources, alice: GraphQLClient
) -> None:
    project = await project_of(alice)
    first = await make_task(alice, project, "Buy shoes")
    other = await make_task(alice, project, "Plan route")
    ready = await make_task(alice, project, "Run", dependencyIds=[first])
    waiting = await make_task(alice, project, "Race", dependencyIds=[first, other])
    await scan(resources, datetime.now(UTC))
    assert await about(alice, ready, "UNBLOCKED_TASK") == []
    done = await alice.ok(
        "mutation($id: ID!) { taskComplete(input: {id: $id}) { userErrors { code } } }", {"id": first}
    )
    assert done["taskComplete"]["userErrors"] == []
    await scan(resources, datetime.now(UTC))
    await scan(resources, datetime.now(UTC))
    [unblocked] = await about(alice, ready, "UNBLOCKED_TASK")
    assert unblocked["title"] == "Ready to start: Run"
    assert await about(alice, waiting, "UNBLOCKED_TASK") == []
    # A task made after its dependency was done was never blocked.
    late = await make_task(alice, project, "Stretch", dependencyIds=[first])
    await scan(resources, datetime.now(UTC))
    assert await about(alice, late, "UNBLOCKED_TASK") == []


# --- reading, marking, preferences ----------------------------------------------------------------


async def reminders(resources: Resources, client: GraphQLClient, count: int) -> list[str]:
    at = later(2)
    project = await project_of(client)
    tasks = [await make_task(client, project, f"Task {i}", reminderAt=iso(at)) for i in range(count)]
    await scan(resources, at)
    ids = []
    for task in tasks:
        [found] = await about(client, task, "TASK_REMINDER")
        ids.append(found["id"])
    return ids


async def notification_of(resources: Resources, client: GraphQLClient, task: str) -> str:
    """A reminder notification about ``task`` (for other tests: isolation, row-level security)."""
    at = later(2)
    updated = await client.mutate("taskUpdate", {"id": task, "reminderAt": iso(at)}, "task { id }")
    assert updated["userErrors"] == [], updated
    await scan(resources, at)
    [found] = await about(client, task, "TASK_REMINDER")
    return str(found["id"])


async def test_mark_read_and_all_read(resources: Resources, alice: GraphQLClient, bob: GraphQLClient) -> None:
    ids = await reminders(resources, alice, 3)
    assert [n["id"] for n in await listed(alice)][:3] == list(reversed(ids)) or set(ids) <= {
        n["id"] for n in await listed(alice)
    }
    marked = await alice.mutate("notificationMarkRead", {"ids": ids[:1]}, "count")
    assert marked == {"count": 1, "userErrors": []}
    assert {n["id"] for n in await listed(alice, read=True)} == {ids[0]}
    assert set(ids[1:]) <= {n["id"] for n in await listed(alice, read=False)}
    # Another user's id: not found, and nothing changes.
    theirs = await bob.mutate("notificationMarkRead", {"ids": ids[1:2]}, "count")
    assert [(e["code"], e["field"]) for e in theirs["userErrors"]] == [("NOT_FOUND", ["input", "ids"])]
    assert ids[1] in {n["id"] for n in await listed(alice, read=False)}
    node = await bob.ok("query($id: ID!) { node(id: $id) { id } }", {"id": ids[1]})
    assert node == {"node": None}
    data = await alice.ok("mutation { notificationMarkAllRead { count userErrors { code } } }")
    assert data["notificationMarkAllRead"]["count"] >= 2
    assert await listed(alice, read=False) == []
    page = await alice.ok("query { notifications(first: 1) { edges { cursor } pageInfo { hasNextPage } } }")
    assert page["notifications"]["pageInfo"]["hasNextPage"] is True


async def test_preferences_default_update_validate_and_mute(
    resources: Resources, alice: GraphQLClient
) -> None:
    data = await alice.ok(
        "query { notificationPreferences { emailEnabled inAppEnabled types dueSoonHours } }"
    )
    assert data["notificationPreferences"]["emailEnabled"] is False
    assert data["notificationPreferences"]["dueSoonHours"] == 24
    assert "TASK_REMINDER" in data["notificationPreferences"]["types"]
    bad = await prefer(alice, dueSoonHours=0)
    assert [(e["code"], e["field"]) for e in bad["userErrors"]] == [
        ("BAD_USER_INPUT", ["input", "dueSoonHours"])
    ]
    half = await prefer(alice, quietHoursStart="22:00:00")
    assert [e["field"] for e in half["userErrors"]] == [["input", "quietHoursEnd"]]
    good = await prefer(alice, types=["TASK_DUE"], quietHoursStart="22:00:00", quietHoursEnd="07:00:00")
    assert good["userErrors"] == []
    assert good["preferences"]["types"] == ["TASK_DUE"]
    assert good["preferences"]["quietHoursEnd"] == "07:00:00"
    at = later(3)
    task = await make_task(alice, await project_of(alice), "Muted", reminderAt=iso(at))
    await scan(resources, at)
    assert await about(alice, task, "TASK_REMINDER") == []


# --- emails ---------------------------------------------------------------------------------------


async def test_an_email_is_sent_when_wanted(
    resources: Resources, alice: GraphQLClient, smtp_server: SmtpSink
) -> None:
    assert (await prefer(alice, emailEnabled=True))["userErrors"] == []
    at = later(3)
    task = await make_task(alice, await project_of(alice), "Water plants", reminderAt=iso(at))
    await scan(resources, at)
    message = await smtp_server.wait_for_message(alice.email)
    assert message["Subject"] == "Reminder: Water plants"
    assert "Water plants" in message.get_content()
    [sent] = await about(alice, task, "TASK_REMINDER")
    assert sent["sentAt"] is not None
    assert sent["scheduledFor"] is not None


@pytest.mark.parametrize(
    ("reminder", "quiet_end"),
    [
        ("2026-03-29T01:00:00", "2026-03-29T05:00:00"),  # 03:00 CEST, the night the clocks go forward
        ("2026-10-25T04:00:00", "2026-10-25T06:00:00"),  # 05:00 CET, the night they go back
        ("2026-01-14T21:30:00", "2026-01-15T06:00:00"),  # 22:30 CET: the window wraps midnight
    ],
)
async def test_quiet_hours_defer_the_email_to_their_end(
    resources: Resources, http: httpx.AsyncClient, smtp_server: SmtpSink, reminder: str, quiet_end: str
) -> None:
    client = await register(http, timezone="Europe/Paris")
    set_up = await prefer(client, emailEnabled=True, quietHoursStart="22:00:00", quietHoursEnd="07:00:00")
    assert set_up["userErrors"] == []
    at, end = utc(reminder), utc(quiet_end)
    task = await make_task(client, await project_of(client), "Quiet", reminderAt=iso(at))
    await scan(resources, at)
    [made] = await about(client, task, "TASK_REMINDER")
    assert parsed(made["scheduledFor"]) == end
    assert made["sentAt"] is None
    await scan(resources, end - timedelta(minutes=1))
    assert smtp_server.received_by(client.email) == []
    await scan(resources, end)
    message = await smtp_server.wait_for_message(client.email)
    assert message["Subject"] == "Reminder: Quiet"
    [sent] = await about(client, task, "TASK_REMINDER")
    assert parsed(sent["sentAt"]) == end
    await scan(resources, end + timedelta(minutes=1))
    assert len(smtp_server.received_by(client.email)) == 1


# --- live, purge ----------------------------------------------------------------------------------


async def test_notification_created_arrives_over_websocket(
    resources: Resources, server_url: str, alice: GraphQLClient
) -> None:
    at = later(3)
    task = await make_task(alice, await project_of(alice), "Live", reminderAt=iso(at))
    async with signed_in(server_url, alice.token or "") as socket:
        operation = await socket.subscribe(
            "subscription { notificationCreated { id type title read subject { id } } }"
        )
        await scan(resources, at)
        data = await socket.next_data(operation)
    created = data["notificationCreated"]
    assert created["type"] == "TASK_REMINDER"
    assert created["title"] == "Reminder: Live"
    assert created["subject"] == {"id": task}
    assert created["read"] is False


async def test_old_notifications_are_purged(
    resources: Resources, owner: AsyncEngine, alice: GraphQLClient
) -> None:
    old, fresh = await reminders(resources, alice, 2)
    async with owner.begin() as connection:
        await connection.execute(
            text("UPDATE notifications SET created_at = now() - interval '31 days' WHERE id = :id"),
            {"id": uuid_of(old, "Notification")},
        )
    assert await purge_notifications({"resources": resources}) >= 1
    left = {n["id"] for n in await listed(alice)}
    assert fresh in left
    assert old not in left
