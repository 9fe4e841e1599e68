"""The journal through GraphQL: entries, the trash (and its automatic purge), "on this day" in the viewer's
time zone, word count, sentiment, templates, filters and search."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.journal.model import JournalEntry
from aurum.resources import Resources
from aurum.worker import purge_journal_trash
from tests.conftest import register
from tests.support import GraphQLClient, uuid_of, wait_for

ENTRY = """id title content mood energy tags wordCount readingMinutes trashedAt version createdAt updatedAt
  templateAnswers { prompt answer } template { id name type builtIn }
  sentiment { score label keywords themes source }"""
LIST = f"""query($filter: JournalEntryFilter, $first: Int, $after: String) {{
  journalEntries(filter: $filter, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {ENTRY} }} }} }}"""
ON_THIS_DAY = "query($date: Date) { journalOnThisDay(date: $date) { id title } }"
TEMPLATES = "{ journalTemplates { id name type prompts defaultTags builtIn version } }"


async def write(client: GraphQLClient, **input: Any) -> dict[str, Any]:
    payload = await client.mutate("journalEntryCreate", input, f"journalEntry {{ {ENTRY} }}")
    assert payload["userErrors"] == [], payload
    entry: dict[str, Any] = payload["journalEntry"]
    return entry


async def act(
    client: GraphQLClient, name: str, entry_id: str, selection: str = "journalEntry { id trashedAt }"
) -> Any:
    """Run one of the mutations taking an ``IdInput``."""
    data = await client.ok(
        f"mutation($input: IdInput!) {{ r: {name}(input: $input) {{ {selection} "
        "userErrors { field message code } } }",
        {"input": {"id": entry_id}},
    )
    return data["r"]


async def listed(client: GraphQLClient, **filter: Any) -> list[str]:
    data = await client.ok(LIST, {"filter": filter, "first": 100})
    return [n["id"] for n in data["journalEntries"]["nodes"]]


async def errors(
    client: GraphQLClient, name: str, input: dict[str, Any], input_type: str | None = None
) -> list[tuple[str, Any]]:
    """The (code, field) of each user error of ``name(input:)``."""
    input_type = input_type or name[0].upper() + name[1:] + "Input"
    data = await client.ok(
        f"mutation($input: {input_type}!) {{ r: {name}(input: $input) {{ userErrors {{ field code }} }} }}",
        {"input": input},
    )
    return [(e["code"], e["field"]) for e in data["r"]["userErrors"]]


async def analysed(client: GraphQLClient, entry_id: str, selection: str = ENTRY) -> dict[str, Any]:
    """The entry once its sentiment job has written a sentiment."""
    query = f"query($id: ID!) {{ node(id: $id) {{ ... on JournalEntry {{ {selection} }} }} }}"
    found: dict[str, Any] = {}

    async def judged() -> bool:
        found.update((await client.ok(query, {"id": entry_id}))["node"])
        return found["sentiment"] is not None

    await wait_for(judged, "the entry's sentiment")
    return found


async def set_created(owner: AsyncEngine, entry_id: str, when: datetime) -> None:
    async with owner.begin() as connection:
        await connection.execute(
            update(JournalEntry)
            .where(JournalEntry.id == uuid_of(entry_id, "JournalEntry"))
            .values(created_at=when)
        )


async def test_create_read_update_with_retry_safety(alice: GraphQLClient) -> None:
    client_id = str(uuid.uuid4())
    entry = await write(
        alice,
        id=client_id,
        title="  First day  ",
        content="Started the journal.",
        mood=4,
        energy=3,
        tags=[" Work ", "work", "Deep   Focus"],
    )
    assert entry["title"] == "First day"
    assert (entry["mood"], entry["energy"], entry["version"]) == (4, 3, 1)
    assert entry["tags"] == ["work", "deep focus"]
    assert uuid_of(entry["id"], "JournalEntry") == uuid.UUID(client_id)

    again = await write(alice, id=client_id, title="Something else")
    assert again["id"] == entry["id"]
    assert again["title"] == "First day"
    assert len(await listed(alice)) == 1

    changed = await alice.mutate(
        "journalEntryUpdate",
        {"id": entry["id"], "expectedVersion": 1, "content": "Rewritten", "mood": None},
        "journalEntry { content mood version tags }",
    )
    assert changed["userErrors"] == []
    assert changed["journalEntry"] == {
        "content": "Rewritten",
        "mood": None,
        "version": 2,
        "tags": entry["tags"],
    }
    stale = await errors(alice, "journalEntryUpdate", {"id": entry["id"], "expectedVersion": 1, "title": "x"})
    assert stale == [("CONFLICT", ["input", "expectedVersion"])]
    node = await alice.ok(
        "query($id: ID!) { node(id: $id) { ... on JournalEntry { content version } } }", {"id": entry["id"]}
    )
    assert node["node"] == {"content": "Rewritten", "version": 2}


async def test_bad_input_is_refused_field_by_field(alice: GraphQLClient) -> None:
    found = await errors(
        alice,
        "journalEntryCreate",
        {"title": "t" * 201, "content": "c" * 100_001, "mood": 6, "energy": 0, "tags": ["ok", "x" * 51]},
    )
    assert sorted(found) == sorted(
        [
            ("BAD_USER_INPUT", ["input", "title"]),
            ("BAD_USER_INPUT", ["input", "content"]),
            ("BAD_USER_INPUT", ["input", "mood"]),
            ("BAD_USER_INPUT", ["input", "energy"]),
            ("BAD_USER_INPUT", ["input", "tags", "1"]),
        ]
    )
    too_many = await errors(alice, "journalEntryCreate", {"tags": [f"t{i}" for i in range(21)]})
    assert too_many == [("BAD_USER_INPUT", ["input", "tags"])]
    assert await listed(alice) == []
    # The limits themselves are fine.
    entry = await write(
        alice, title="t" * 200, content="c" * 100_000, mood=1, tags=[f"t{i}" for i in range(20)]
    )
    assert entry["wordCount"] == 1


async def test_trash_restore_and_purge(alice: GraphQLClient) -> None:
    kept = await write(alice, title="Kept", content="Marmalade recipe")
    gone = await write(alice, title="Gone", content="Marmalade disaster")
    search = "query($q: String!) { search(query: $q) { node { id } } }"

    assert await errors(alice, "journalEntryPurge", {"id": gone["id"]}, "IdInput") == [
        ("CONFLICT", ["input", "id"])
    ]
    trashed = await act(alice, "journalEntryDelete", gone["id"])
    assert trashed["userErrors"] == []
    assert trashed["journalEntry"]["trashedAt"] is not None
    assert await listed(alice) == [kept["id"]]
    assert await listed(alice, trashed=True) == [gone["id"]]
    assert set(await listed(alice, trashed=None)) == {kept["id"], gone["id"]}
    hits = (await alice.ok(search, {"q": "marmalade"}))["search"]
    assert [h["node"]["id"] for h in hits] == [kept["id"]]

    restored = await act(alice, "journalEntryRestore", gone["id"])
    assert restored["journalEntry"]["trashedAt"] is None
    assert set(await listed(alice)) == {kept["id"], gone["id"]}
    assert len((await alice.ok(search, {"q": "marmalade"}))["search"]) == 2

    await act(alice, "journalEntryDelete", gone["id"])
    purged = await act(alice, "journalEntryPurge", gone["id"], "deletedId")
    assert purged == {"deletedId": gone["id"], "userErrors": []}
    assert (await alice.ok("query($id: ID!) { node(id: $id) { id } }", {"id": gone["id"]}))["node"] is None
    assert await listed(alice, trashed=None) == [kept["id"]]
    assert await errors(alice, "journalEntryRestore", {"id": gone["id"]}, "IdInput") == [
        ("NOT_FOUND", ["input", "id"])
    ]


async def test_entries_in_the_trash_for_30_days_are_purged(
    resources: Resources, http: httpx.AsyncClient, owner: AsyncEngine
) -> None:
    alice, bob = await register(http), await register(http)
    old = await write(alice, title="Old trash")
    recent = await write(alice, title="Recent trash")
    living = await write(bob, title="Never trashed")
    bobs_old = await write(bob, title="Bob's old trash")
    for client, entry in ((alice, old), (alice, recent), (bob, bobs_old)):
        await act(client, "journalEntryDelete", entry["id"])
    long_ago = datetime.now(UTC) - timedelta(days=31)
    async with owner.begin() as connection:
        for entry in (old, bobs_old, living):
            await connection.execute(
                update(JournalEntry)
                .where(JournalEntry.id == uuid_of(entry["id"], "JournalEntry"))
                .values(trashed_at=long_ago if entry is not living else None, created_at=long_ago)
            )

    assert await purge_journal_trash({"resources": resources}) >= 2

    assert await listed(alice, trashed=None) == [recent["id"]]
    assert await listed(bob, trashed=None) == [living["id"]]
    async with owner.connect() as connection:
        left = await connection.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.id == uuid_of(old["id"], "JournalEntry"))
        )
    assert left == 0


async def test_on_this_day_uses_the_viewers_time_zone(http: httpx.AsyncClient, owner: AsyncEngine) -> None:
    auckland = await register(http, timezone="Pacific/Auckland")  # UTC+13 in March
    # 2024-03-14 12:00 UTC is already 15 March, 01:00, in Auckland.
    late_utc = await write(auckland, title="Late on the 14th in UTC")
    midday = await write(auckland, title="15 March, two years ago")
    this_year = await write(auckland, title="15 March this year")
    trashed = await write(auckland, title="15 March, in the trash")
    other_day = await write(auckland, title="16 March")
    await set_created(owner, late_utc["id"], datetime(2024, 3, 14, 12, tzinfo=UTC))
    await set_created(owner, midday["id"], datetime(2023, 3, 14, 23, tzinfo=UTC))  # 15 March, 12:00 local
    await set_created(owner, this_year["id"], datetime(2026, 3, 15, 0, tzinfo=UTC))
    await set_created(owner, trashed["id"], datetime(2025, 3, 15, 0, tzinfo=UTC))
    await set_created(owner, other_day["id"], datetime(2025, 3, 15, 12, tzinfo=UTC))  # 16 March local
    await act(auckland, "journalEntryDelete", trashed["id"])

    found = (await auckland.ok(ON_THIS_DAY, {"date": "2026-03-15"}))["journalOnThisDay"]
    assert [e["id"] for e in found] == [late_utc["id"], midday["id"]]  # newest first
    assert (await auckland.ok(ON_THIS_DAY, {"date": "2026-03-14"}))["journalOnThisDay"] == []
    assert [
        e["id"] for e in (await auckland.ok(ON_THIS_DAY, {"date": "2026-03-16"}))["journalOnThisDay"]
    ] == [other_day["id"]]

    # The same instants for someone in UTC fall on other days.
    utc = await register(http)
    entry = await write(utc, title="Late on the 14th")
    await set_created(owner, entry["id"], datetime(2024, 3, 14, 12, tzinfo=UTC))
    assert (await utc.ok(ON_THIS_DAY, {"date": "2026-03-15"}))["journalOnThisDay"] == []
    assert [e["id"] for e in (await utc.ok(ON_THIS_DAY, {"date": "2026-03-14"}))["journalOnThisDay"]] == [
        entry["id"]
    ]
    # From/to are days in the viewer's zone too.
    assert await listed(auckland, **{"from": "2024-03-15", "to": "2024-03-15"}) == [late_utc["id"]]
    assert await listed(utc, **{"from": "2024-03-15", "to": "2024-03-15"}) == []
    assert await listed(utc, **{"from": "2024-03-14", "to": "2024-03-14"}) == [entry["id"]]


async def test_word_count_and_reading_minutes(alice: GraphQLClient) -> None:
    empty = await write(alice, title="Nothing yet")
    assert (empty["wordCount"], empty["readingMinutes"]) == (0, 0)
    short = await write(alice, content="It's a well-known fact: three… no, five words!")
    assert (short["wordCount"], short["readingMinutes"]) == (8, 1)
    long = await write(
        alice,
        content=" ".join(["word"] * 400),
        templateAnswers=[{"prompt": "More?", "answer": "one two three"}],
    )
    assert (long["wordCount"], long["readingMinutes"]) == (403, 3)
    changed = await alice.mutate(
        "journalEntryUpdate",
        {"id": long["id"], "content": "just four words here"},
        "journalEntry { wordCount readingMinutes }",
    )
    assert changed["journalEntry"] == {"wordCount": 7, "readingMinutes": 1}


async def test_sentiment_from_a_local_lexicon(alice: GraphQLClient) -> None:
    happy = await write(
        alice,
        title="A wonderful day",
        content="I feel grateful and happy. The project meeting at work was a great success, "
        "and I am proud of the team.",
    )
    assert happy["sentiment"] is None  # a job reads it after the commit
    sentiment = (await analysed(alice, happy["id"]))["sentiment"]
    assert sentiment["label"] == "positive"
    assert 0.5 < sentiment["score"] <= 1
    assert sentiment["source"] == "RULES"
    assert {"grateful", "happy", "great"} <= set(sentiment["keywords"])
    assert len(sentiment["keywords"]) <= 5
    assert sentiment["themes"][0] == "work"

    sad = await write(alice, content="Awful, exhausting week. I was anxious and sad, and not happy at all.")
    sad_sentiment = (await analysed(alice, sad["id"]))["sentiment"]
    assert sad_sentiment["label"] == "negative"
    assert sad_sentiment["score"] < -0.5
    assert "happy" in sad_sentiment["keywords"]  # negated: it counted against

    flat = await write(alice, content="Bought bread. Took the train to the office.")
    flat_sentiment = (await analysed(alice, flat["id"]))["sentiment"]
    assert flat_sentiment["label"] == "neutral"
    assert flat_sentiment["score"] == 0
    assert (await write(alice, title=""))["sentiment"] is None

    turned = await alice.mutate(
        "journalEntryUpdate",
        {"id": flat["id"], "content": "The train was late and I felt terrible and frustrated."},
        "journalEntry { sentiment { label } }",
    )
    assert turned["journalEntry"]["sentiment"] is None  # cleared with the old text, read again by a job
    assert (await analysed(alice, flat["id"]))["sentiment"]["label"] == "negative"


async def test_templates_built_in_and_own(alice: GraphQLClient, bob: GraphQLClient) -> None:
    templates = (await alice.ok(TEMPLATES))["journalTemplates"]
    built_in = {t["type"]: t for t in templates if t["builtIn"]}
    assert set(built_in) == {
        "DAILY_REFLECTION",
        "GRATITUDE",
        "GOAL_SETTING",
        "WEEKLY_REVIEW",
        "MOOD_TRACKER",
        "LEARNING_LOG",
        "CREATIVE_WRITING",
        "PROBLEM_SOLVING",
        "HABIT_TRACKER",
    }
    assert all(t["prompts"] for t in built_in.values())
    assert (await bob.ok(TEMPLATES))["journalTemplates"] == templates  # the same for everyone

    created = await alice.mutate(
        "journalTemplateCreate",
        {"name": "Morning pages", "prompts": [" What is on my mind? "], "defaultTags": ["Morning"]},
        "journalTemplate { id name type prompts defaultTags builtIn version }",
    )
    assert created["userErrors"] == []
    own = created["journalTemplate"]
    assert own["type"] == "CUSTOM"
    assert own["prompts"] == ["What is on my mind?"]
    assert own["defaultTags"] == ["morning"]
    assert own["builtIn"] is False
    assert [t["id"] for t in (await alice.ok(TEMPLATES))["journalTemplates"]][-1] == own["id"]
    assert own["id"] not in {t["id"] for t in (await bob.ok(TEMPLATES))["journalTemplates"]}

    gratitude = await write(
        alice,
        templateId=built_in["GRATITUDE"]["id"],
        templateAnswers=[{"prompt": "I am grateful for …", "answer": "my friends"}],
    )
    assert gratitude["template"] == {
        "id": built_in["GRATITUDE"]["id"],
        "name": "Gratitude",
        "type": "GRATITUDE",
        "builtIn": True,
    }
    assert gratitude["templateAnswers"] == [{"prompt": "I am grateful for …", "answer": "my friends"}]
    mine = await write(alice, templateId=own["id"], content="Thinking.")
    assert mine["template"]["id"] == own["id"]

    # Another user's template is not there for Bob, whatever he tries.
    assert await errors(bob, "journalEntryCreate", {"templateId": own["id"]}) == [
        ("NOT_FOUND", ["input", "templateId"])
    ]
    assert await errors(bob, "journalTemplateUpdate", {"id": own["id"], "name": "Mine"}) == [
        ("NOT_FOUND", ["input", "id"])
    ]
    assert await errors(bob, "journalTemplateDelete", {"id": own["id"]}, "IdInput") == [
        ("NOT_FOUND", ["input", "id"])
    ]
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert (await bob.ok(node, {"id": own["id"]}))["node"] is None
    assert (await bob.ok(node, {"id": built_in["GRATITUDE"]["id"]}))["node"] == {
        "id": built_in["GRATITUDE"]["id"]
    }
    # Built-in ones are read-only.
    assert await errors(alice, "journalTemplateUpdate", {"id": built_in["GRATITUDE"]["id"], "name": "x"}) == [
        ("FORBIDDEN", ["input", "id"])
    ]

    renamed = await alice.mutate(
        "journalTemplateUpdate",
        {"id": own["id"], "expectedVersion": 1, "name": "Evening pages", "type": "DAILY_REFLECTION"},
        "journalTemplate { name type version }",
    )
    assert renamed["journalTemplate"] == {"name": "Evening pages", "type": "DAILY_REFLECTION", "version": 2}
    assert await errors(alice, "journalTemplateCreate", {"name": " "}) == [
        ("BAD_USER_INPUT", ["input", "name"])
    ]
    deleted = await act(alice, "journalTemplateDelete", own["id"], "deletedId")
    assert deleted == {"deletedId": own["id"], "userErrors": []}
    after = await alice.ok(
        "query($id: ID!) { node(id: $id) { ... on JournalEntry { template { id } content } } }",
        {"id": mine["id"]},
    )
    assert after["node"] == {"template": None, "content": "Thinking."}


async def test_filters_and_paging(alice: GraphQLClient, bob: GraphQLClient) -> None:
    run = await write(
        alice, title="Morning run", content="Ran along the river", mood=4, tags=["Health", "sport"]
    )
    work = await write(
        alice, title="Planning", content="Quarterly planning at the office", mood=2, tags=["work"]
    )
    rest = await write(alice, title="Lazy Sunday", content="Read by the river", mood=4, tags=["health"])
    await write(bob, title="Bob by the river", mood=4, tags=["health"])

    assert await listed(alice) == [rest["id"], work["id"], run["id"]]  # newest first
    assert await listed(alice, search="river") == [rest["id"], run["id"]]
    assert await listed(alice, search="plann") == [work["id"]]  # the last word as a prefix
    assert await listed(alice, mood=4) == [rest["id"], run["id"]]
    assert await listed(alice, tags=[" HEALTH "]) == [rest["id"], run["id"]]
    assert await listed(alice, tags=["health", "sport"]) == [run["id"]]
    assert await listed(alice, mood=4, search="read") == [rest["id"]]
    today = datetime.now(UTC).date()
    assert len(await listed(alice, **{"from": today.isoformat()})) == 3
    assert await listed(alice, to=(today - timedelta(days=1)).isoformat()) == []
    assert await listed(alice, **{"from": (today + timedelta(days=1)).isoformat()}) == []

    first = (await alice.ok(LIST, {"first": 2}))["journalEntries"]
    assert [n["id"] for n in first["nodes"]] == [rest["id"], work["id"]]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    second = (await alice.ok(LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}))["journalEntries"]
    assert [n["id"] for n in second["nodes"]] == [run["id"]]
    assert second["pageInfo"]["hasNextPage"] is False

    body = await alice.execute(LIST, {"filter": {"search": "x" * 201}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_saving_an_entry_unchanged_keeps_its_version(alice: GraphQLClient) -> None:
    """An autosaving editor sends the same text again and again: no new version, no change to push."""
    created = await alice.mutate(
        "journalEntryCreate", {"title": "Morning", "content": "Slept well."}, "journalEntry { id version }"
    )
    entry = created["journalEntry"]
    for _ in range(2):
        again = await alice.mutate(
            "journalEntryUpdate",
            {"id": entry["id"], "title": "Morning", "content": "Slept well."},
            "journalEntry { version }",
        )
        assert again == {"journalEntry": {"version": entry["version"]}, "userErrors": []}
    changed = await alice.mutate(
        "journalEntryUpdate", {"id": entry["id"], "content": "Slept badly."}, "journalEntry { version }"
    )
    assert changed["journalEntry"]["version"] == entry["version"] + 1
