"""Journal entry filters at their edges: a mood outside the scale, and days at the ends of the calendar."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import register
from tests.support import GraphQLClient
from tests.test_journal import listed, write

COUNT = "query($filter: JournalEntryFilter) { journalEntries(filter: $filter) { totalCount } }"


async def refused(client: GraphQLClient, **filter: object) -> list[tuple[str, list[str]]]:
    body = await client.execute(COUNT, {"filter": filter})
    assert body["data"] is None, body
    return [(e["extensions"]["code"], e["extensions"].get("field")) for e in body["errors"]]


@pytest.mark.parametrize("mood", [0, -1, 6, 9, 40_000, 2_147_483_647, -2_147_483_648])
async def test_a_mood_off_the_scale_is_refused_naming_it(alice: GraphQLClient, mood: int) -> None:
    await write(alice, title="Fine", mood=3)
    assert await refused(alice, mood=mood) == [("BAD_USER_INPUT", ["filter", "mood"])]


async def test_the_ends_of_the_scale_are_fine(alice: GraphQLClient) -> None:
    low, high = await write(alice, mood=1), await write(alice, mood=5)
    assert await listed(alice, mood=1) == [low["id"]]
    assert await listed(alice, mood=5) == [high["id"]]


@pytest.mark.parametrize("timezone", ["Pacific/Auckland", "UTC", "America/Los_Angeles"])
async def test_the_first_and_last_days_of_the_calendar_leave_nothing_out(
    http: httpx.AsyncClient, timezone: str
) -> None:
    # 9999-12-31 ends after the last representable instant; 0001-01-01 begins before the first one east
    # of UTC. Both bounds then exclude nothing, as they would with a calendar that went on.
    client = await register(http, timezone=timezone)
    entry = await write(client, title="Today")
    assert await listed(client, to="9999-12-31") == [entry["id"]]
    assert await listed(client, **{"from": "0001-01-01"}) == [entry["id"]]
    assert await listed(client, **{"from": "0001-01-01", "to": "9999-12-31"}) == [entry["id"]]
    assert await listed(client, to="0001-01-01") == []
    assert await listed(client, **{"from": "9999-12-31"}) == []


async def test_on_this_day_at_the_ends_of_the_calendar(http: httpx.AsyncClient) -> None:
    client = await register(http, timezone="Pacific/Auckland")
    await write(client, title="Today")
    for day in ("0001-01-01", "9999-12-31"):
        found = await client.ok("query($d: Date) { journalOnThisDay(date: $d) { id } }", {"d": day})
        assert found["journalOnThisDay"] == []
