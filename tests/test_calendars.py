"""Calendars: busy time from real-world .ics files (Google with a moved and an excluded occurrence across a
DST change, Outlook with Windows zone names and an all-day absence), imported through a multipart upload
and subscribed from a loopback server, avoided by plan(); and the private feed, parsed back with icalendar."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aurum.calendar.busy import busy_between, merged, parse
from aurum.calendar.jobs import refresh_calendars
from aurum.resources import Resources
from aurum.settings import Settings
from tests.hierarchy import chain, make_task
from tests.support import GraphQLClient, serving, uuid_of

FILES = Path(__file__).parent / "calendars"
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
CALENDAR = "calendar { id name kind url eventCount refreshedAt refreshError }"
IMPORT = (
    "mutation($input: CalendarImportInput!) { calendarImport(input: $input) { "
    + CALENDAR
    + " userErrors { field message code } } }"
)


def local_spans(content: bytes, start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[str, str, str]]:
    found = sorted(busy_between(parse(content), start, end, zone), key=lambda b: b.start)
    return [
        (b.summary, f"{b.start.astimezone(zone):%a %d %H:%M}", f"{b.end.astimezone(zone):%a %d %H:%M}")
        for b in found
    ]


def test_a_google_calendar_keeps_its_wall_clock_across_the_dst_change() -> None:
    content = (FILES / "work.ics").read_bytes()
    spans = local_spans(
        content, datetime(2027, 3, 22, tzinfo=BERLIN), datetime(2027, 4, 5, tzinfo=BERLIN), BERLIN
    )
    assert spans == [
        ("Stand-up", "Mon 22 10:00", "Mon 22 10:30"),  # CET
        ("Stand-up", "Wed 24 10:00", "Wed 24 10:30"),
        # Summer time from Sunday 28: Monday 29's occurrence moved to Tuesday 15:00, Wednesday 31 excluded
        ("Stand-up (moved)", "Tue 30 15:00", "Tue 30 16:00"),
        ("Team offsite", "Thu 01 00:00", "Fri 02 00:00"),  # all day, in the person's zone
        ("Dentist (floating)", "Fri 02 09:00", "Fri 02 09:45"),  # floating: the person's wall clock
        ("Lunch with a client", "Fri 02 14:00", "Fri 02 15:00"),  # 12:00 UTC
    ]  # the birthday is free time and the review cancelled: neither is busy
    first = datetime(2027, 3, 22, tzinfo=BERLIN)
    assert busy_between(
        parse(content), first, first + timedelta(days=1), BERLIN
    ).__next__().start.utcoffset() == timedelta(hours=1)


def test_an_outlook_calendar_with_windows_zone_names() -> None:
    content = (FILES / "outlook.ics").read_bytes()
    spans = local_spans(
        content, datetime(2027, 11, 3, tzinfo=NEW_YORK), datetime(2027, 11, 13, tzinfo=NEW_YORK), NEW_YORK
    )
    syncs = [day for name, day, _ in spans if name == "Morning sync"]
    assert syncs == [
        "Wed 03 09:00",
        "Fri 05 09:00",
        "Mon 08 09:00",
        "Tue 09 09:00",
        "Wed 10 09:00",
        "Thu 11 09:00",
        "Fri 12 09:00",
    ]  # Thursday 4 excluded; 09:00 before and after 7 November
    assert ("Out of office", "Thu 11 00:00", "Fri 12 00:00") in spans


def test_busy_time_is_clipped_and_merged() -> None:
    content = (FILES / "work.ics").read_bytes()
    start, end = datetime(2027, 4, 1, 12, tzinfo=BERLIN), datetime(2027, 4, 2, 9, 30, tzinfo=BERLIN)
    spans = merged(busy_between(parse(content), start, end, BERLIN))
    assert spans == [
        (start, datetime(2027, 4, 2, tzinfo=BERLIN)),
        (datetime(2027, 4, 2, 9, tzinfo=BERLIN), end),
    ]


def week_calendar(monday: date) -> bytes:
    """A person's week: a daily 10:00 stand-up (not Wednesday's), Thursday out of office, a free reminder."""
    day = monday.strftime("%Y%m%d")
    wednesday = (monday + timedelta(days=2)).strftime("%Y%m%d")
    thursday, friday = (monday + timedelta(days=n) for n in (3, 4))
    return f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Tests//EN
X-WR-CALNAME:Work week
BEGIN:VEVENT
UID:standup@tests
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:{day}T100000
DTEND;TZID=Europe/Berlin:{day}T110000
RRULE:FREQ=DAILY;COUNT=5
EXDATE;TZID=Europe/Berlin:{wednesday}T100000
SUMMARY:Stand-up
END:VEVENT
BEGIN:VEVENT
UID:away@tests
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:{thursday:%Y%m%d}
DTEND;VALUE=DATE:{friday:%Y%m%d}
SUMMARY:Away
END:VEVENT
BEGIN:VEVENT
UID:free@tests
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:{day}T090000
DTEND;TZID=Europe/Berlin:{day}T170000
TRANSP:TRANSPARENT
SUMMARY:Conference stream (optional)
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n").encode()


async def import_calendar(
    client: GraphQLClient, filename: str, content: bytes, name: str | None = None
) -> dict[str, Any]:
    operations = {"query": IMPORT, "variables": {"input": {"file": None, "name": name}}}
    response = await client.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": (filename, content, "text/calendar")},
        headers={"authorization": f"Bearer {client.token}", "apollo-require-preflight": "true"},
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["calendarImport"]
    return payload


def next_monday(zone: ZoneInfo) -> date:
    today = datetime.now(zone).date()
    return today + timedelta(days=7 - today.weekday())


PLAN = """query($start: Date) { plan(start: $start, days: 5) {
  blocks { task { name } start end } days { date capacityMinutes busyMinutes plannedMinutes } } }"""


async def test_plan_works_around_an_imported_calendar(alice: GraphQLClient) -> None:
    await alice.mutate("accountUpdate", {"timezone": "Europe/Berlin"}, "user { timezone }")
    monday = next_monday(BERLIN)
    payload = await import_calendar(alice, "work.ics", week_calendar(monday))
    assert payload["userErrors"] == []
    assert payload["calendar"]["name"] == "Work week"
    assert (payload["calendar"]["kind"], payload["calendar"]["eventCount"]) == ("UPLOAD", 3)
    _, _, project = await chain(alice)
    await make_task(alice, project, "Write the chapter", estimatedMinutes=30 * 60)

    plan = (await alice.ok(PLAN, {"start": monday.isoformat()}))["plan"]
    busy = [d["busyMinutes"] for d in plan["days"]]
    assert busy == [60, 60, 0, 480, 60]
    assert [d["capacityMinutes"] for d in plan["days"]] == [420, 420, 480, 0, 420]
    for block in plan["blocks"]:
        start, end = (datetime.fromisoformat(block[k]).astimezone(BERLIN) for k in ("start", "end"))
        assert start.date() != monday + timedelta(days=3)
        if start.date() != monday + timedelta(days=2):
            assert end.time() <= time(10) or start.time() >= time(11), block
    calendars = (await alice.ok("{ calendars { name } }"))["calendars"]
    assert calendars == [{"name": "Work week"}]


@pytest.mark.parametrize(
    ("filename", "content", "says"),
    [
        ("notes.ics", b"Remember the milk", "not an iCalendar file"),
        (
            "latin.ics",
            "BEGIN:VCALENDAR\r\nX-WR-CALNAME:Caf\xe9\r\nEND:VCALENDAR\r\n".encode("latin-1"),
            "UTF-8",
        ),
        ("card.ics", b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ana\r\nEND:VCARD\r\n", "no VCALENDAR"),
    ],
)
async def test_a_file_that_is_not_a_calendar_is_refused(
    alice: GraphQLClient, filename: str, content: bytes, says: str
) -> None:
    payload = await import_calendar(alice, filename, content)
    assert payload["calendar"] is None
    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["input", "file"], "BAD_USER_INPUT")
    assert says in error["message"]
    assert (await alice.ok("{ calendars { id } }"))["calendars"] == []


@dataclass
class IcsServer:
    """A calendar host on loopback whose answer the test changes."""

    body: bytes
    status: int = 200
    hits: int = 0
    url: str = ""


@pytest.fixture
async def ics_server(settings: Settings) -> AsyncIterator[IcsServer]:
    served = IcsServer((FILES / "work.ics").read_bytes())

    async def calendar(request: Request) -> Response:
        served.hits += 1
        return Response(served.body, served.status, media_type="text/calendar")

    async def moved(request: Request) -> Response:
        return Response(status_code=302, headers={"location": "/work.ics"})

    app = Starlette(routes=[Route("/work.ics", calendar), Route("/old.ics", moved)])
    async with serving(app, settings) as url:
        served.url = url
        yield served


SUBSCRIBE = (
    "mutation($input: CalendarSubscriptionAddInput!) { calendarSubscriptionAdd(input: $input) { "
    + CALENDAR
    + " userErrors { field message code } } }"
)
REFRESH = (
    "mutation($input: IdInput!) { calendarRefresh(input: $input) { " + CALENDAR + " userErrors { code } } }"
)


async def test_a_subscription_is_read_now_and_refreshed_by_the_job(
    alice: GraphQLClient, ics_server: IcsServer, owner: AsyncEngine, resources: Resources
) -> None:
    data = await alice.ok(SUBSCRIBE, {"input": {"url": ics_server.url + "/old.ics"}})
    payload = data["calendarSubscriptionAdd"]
    assert payload["userErrors"] == []
    calendar = payload["calendar"]
    assert (calendar["kind"], calendar["name"], calendar["eventCount"]) == ("SUBSCRIPTION", "Work", 7)
    assert calendar["url"] == ics_server.url + "/work.ics"  # where the redirect led

    ics_server.body = (FILES / "outlook.ics").read_bytes()
    async with owner.begin() as connection:  # last read two hours ago: due for the job
        await connection.execute(
            text("UPDATE calendars SET refreshed_at = now() - interval '2 hours' WHERE id = :id"),
            {"id": uuid_of(calendar["id"], "Calendar")},
        )
    assert await refresh_calendars({"resources": resources}) >= 1
    [after] = (await alice.ok("{ calendars { eventCount refreshError name } }"))["calendars"]
    assert after == {"eventCount": 2, "refreshError": None, "name": "Work"}

    ics_server.status = 503
    refreshed = (await alice.ok(REFRESH, {"input": {"id": calendar["id"]}}))["calendarRefresh"]
    assert refreshed["userErrors"] == []
    assert "HTTP 503" in refreshed["calendar"]["refreshError"]
    assert refreshed["calendar"]["eventCount"] == 2  # the last good events still count


async def test_a_subscription_that_cannot_be_read_is_refused_at_once(
    alice: GraphQLClient, ics_server: IcsServer
) -> None:
    ics_server.body = b"<html>Sign in to see this calendar</html>"
    for url, says in (
        (ics_server.url + "/work.ics", "not an iCalendar file"),
        (ics_server.url + "/missing.ics", "HTTP 404"),
        ("ftp://example.com/cal.ics", "must start with"),
    ):
        payload = (await alice.ok(SUBSCRIBE, {"input": {"url": url}}))["calendarSubscriptionAdd"]
        [error] = payload["userErrors"]
        assert (error["field"], error["code"]) == (["input", "url"], "BAD_USER_INPUT")
        assert says in error["message"], error
    assert (await alice.ok("{ calendars { id } }"))["calendars"] == []


FEED = "mutation { calendarFeedCreate { url feed { id prefix } userErrors { code } } }"


async def test_the_feed_carries_due_dates_and_can_be_revoked(
    alice: GraphQLClient, bob: GraphQLClient, http: httpx.AsyncClient
) -> None:
    await alice.mutate("accountUpdate", {"timezone": "Asia/Tokyo"}, "user { timezone }")
    _, _, project = await chain(alice)
    soon = (datetime.now(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=3)).isoformat()
    timed = await make_task(alice, project, "Send the invoice", dueDate=soon, dueTime="17:00")
    await make_task(alice, project, "Renew the passport", dueDate=soon)
    done = await make_task(alice, project, "Already done", dueDate=soon)
    await alice.ok(
        "mutation($id: ID!) { taskComplete(input: {id: $id}) { userErrors { code } } }", {"id": done}
    )
    _, _, bobs = await chain(bob)
    await make_task(bob, bobs, "Bob's secret", dueDate=soon)

    created = (await alice.ok(FEED))["calendarFeedCreate"]
    assert created["userErrors"] == []
    path = httpx.URL(created["url"]).path
    assert path.startswith("/calendar/acf_")
    assert path.endswith(".ics")
    answer = await http.get(path)  # no credentials: the address is the secret
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    feed = icalendar.Calendar.from_ical(answer.content)
    events = {str(e["SUMMARY"]): e for e in feed.walk("VEVENT")}
    assert set(events) == {"Due: Send the invoice", "Due: Renew the passport"}
    invoice = events["Due: Send the invoice"]
    due = datetime.combine(date.fromisoformat(soon), time(17), ZoneInfo("Asia/Tokyo"))
    assert invoice["DTEND"].dt == due.astimezone(UTC)
    assert str(invoice["TRANSP"]) == "TRANSPARENT"
    assert str(invoice["UID"]) == f"due-{uuid_of(timed, 'Task')}@aurum.life"
    assert events["Due: Renew the passport"]["DTSTART"].dt == date.fromisoformat(soon)

    revoke = (
        "mutation($id: ID!) { calendarFeedRevoke(input: {id: $id})"
        " { feed { revokedAt } userErrors { code } } }"
    )
    revoked = (await alice.ok(revoke, {"id": created["feed"]["id"]}))["calendarFeedRevoke"]
    assert revoked["feed"]["revokedAt"] is not None
    assert (await http.get(path)).status_code == 404
    assert (await http.get("/calendar/acf_" + "x" * 43 + ".ics")).status_code == 404
    theirs = (await bob.ok(revoke, {"id": created["feed"]["id"]}))["calendarFeedRevoke"]
    assert theirs["userErrors"] == [{"code": "NOT_FOUND"}]
