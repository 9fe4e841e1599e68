"""Notification preferences and the list filter at their edges: quiet hours that cannot be read one way only,
times with an offset, and an empty list of kinds."""

from __future__ import annotations

from datetime import timedelta

from aurum.resources import Resources
from tests.hierarchy import make_task
from tests.support import GraphQLClient
from tests.test_notifications import iso, later, listed, prefer, project_of, scan

PREFERENCES = "query { notificationPreferences { quietHoursStart quietHoursEnd dueSoonHours } }"


async def refused(client: GraphQLClient, **input: object) -> list[tuple[str, list[str]]]:
    payload = await prefer(client, **input)
    assert payload["preferences"] is None
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def preferences(client: GraphQLClient) -> dict[str, object]:
    found: dict[str, object] = (await client.ok(PREFERENCES))["notificationPreferences"]
    return found


async def test_quiet_hours_starting_when_they_end_are_refused(alice: GraphQLClient) -> None:
    before = await preferences(alice)
    same = await refused(alice, quietHoursStart="07:00", quietHoursEnd="07:00:00", dueSoonHours=5)
    assert same == [("BAD_USER_INPUT", ["input", "quietHoursEnd"])]
    assert await preferences(alice) == before  # nothing of the input was kept
    assert (await prefer(alice, quietHoursStart="22:00", quietHoursEnd="07:00"))["userErrors"] == []
    # Moving one end onto the other is refused too, naming the end that moved.
    assert await refused(alice, quietHoursStart="07:00") == [("BAD_USER_INPUT", ["input", "quietHoursStart"])]
    assert await refused(alice, quietHoursEnd="22:00") == [("BAD_USER_INPUT", ["input", "quietHoursEnd"])]
    kept = await preferences(alice)
    assert (kept["quietHoursStart"], kept["quietHoursEnd"]) == ("22:00:00", "07:00:00")
    # Other changes still go through, and both ends can be cleared together.
    assert (await prefer(alice, dueSoonHours=6))["userErrors"] == []
    cleared = await prefer(alice, quietHoursStart=None, quietHoursEnd=None)
    assert cleared["userErrors"] == []
    assert (cleared["preferences"]["quietHoursStart"], cleared["preferences"]["quietHoursEnd"]) == (
        None,
        None,
    )


async def test_quiet_hours_with_an_offset_are_refused(alice: GraphQLClient) -> None:
    before = await preferences(alice)
    assert await refused(alice, quietHoursStart="22:00+05:00", quietHoursEnd="07:00") == [
        ("BAD_USER_INPUT", ["input", "quietHoursStart"])
    ]
    assert await refused(alice, quietHoursStart="22:00", quietHoursEnd="07:00Z") == [
        ("BAD_USER_INPUT", ["input", "quietHoursEnd"])
    ]
    assert await preferences(alice) == before


async def test_an_empty_list_of_kinds_lists_none(resources: Resources, alice: GraphQLClient) -> None:
    """Decided: [] means "no kinds", as it does in notificationPreferencesUpdate, rather than an error: a
    client building the list from checkboxes shows nothing when nothing is ticked."""
    at = later(3)
    await make_task(alice, await project_of(alice), "Listed", reminderAt=iso(at))
    await scan(resources, at + timedelta(minutes=1))
    assert len(await listed(alice)) == 1
    assert len(await listed(alice, types=["TASK_REMINDER"])) == 1
    assert await listed(alice, types=[]) == []
    assert await listed(alice, types=["INSIGHT"]) == []
    count = await alice.ok("query { notifications(filter: {types: []}) { totalCount } }")
    assert count["notifications"]["totalCount"] == 0
