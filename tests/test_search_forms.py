"""Search in word forms and template answers (migration 0012): stemmed and as-written lexemes in every search
vector, the answers of journal entries in theirs, snippets that mark what matched, and only the viewer's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.search.vector import COLUMN
from aurum.tables import metadata
from tests.hierarchy import make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient

SEARCH = """query($query: String!) { search(query: $query) {
  score snippet node { __typename id } } }"""
ENTRIES = (
    """query($search: String!) { journalEntries(filter: {search: $search}, first: 50) { nodes { id } } }"""
)
# The generated column's expression as PostgreSQL keeps it (deparsed, so spelling differences vanish).
EXPRESSION = """
    SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d
    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
    WHERE d.adrelid = CAST(:table AS regclass) AND a.attname = :column
"""
SEARCHABLE = sorted(t.name for t in metadata.tables.values() if COLUMN in t.c)


async def search(client: GraphQLClient, query: str) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = (await client.ok(SEARCH, {"query": query}))["search"]
    return hits


async def found(client: GraphQLClient, query: str) -> list[str]:
    return [hit["node"]["id"] for hit in await search(client, query)]


async def errands(client: GraphQLClient) -> str:
    """A project whose own words ("Health", "Fitness", "Errands") match none of the queries here."""
    area = await make_area(client, await make_pillar(client))
    return await make_project(client, area, name="Errands")


async def write(client: GraphQLClient, **input: Any) -> str:
    payload = await client.mutate("journalEntryCreate", input, "journalEntry { id }")
    assert payload["userErrors"] == [], payload
    entry_id: str = payload["journalEntry"]["id"]
    return entry_id


async def listed(client: GraphQLClient, query: str) -> list[str]:
    data = await client.ok(ENTRIES, {"search": query})
    return [n["id"] for n in data["journalEntries"]["nodes"]]


def answers(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"prompt": prompt, "answer": answer} for prompt, answer in pairs]


async def test_words_are_found_in_their_other_forms(alice: GraphQLClient) -> None:
    project = await errands(alice)
    zebra = await make_task(alice, project, "Feed the zebra")
    run = await make_task(alice, project, "Morning run", description="before work")
    shoes = await make_task(alice, project, "Running shoes")

    assert await found(alice, "Zebras") == [zebra]  # the last word, in another form
    assert await found(alice, "zebras feed") == [zebra]  # any word
    assert await found(alice, "feeding zebras") == [zebra]
    assert set(await found(alice, "running")) == {run, shoes}
    assert set(await found(alice, "runs")) == {run, shoes}
    assert await found(alice, "running morning") == [run]
    assert await found(alice, '"mornings runs"') == [run]  # a phrase, word for word in other forms
    assert await found(alice, "zebras -run") == [zebra]
    assert set(await found(alice, "run -zebras")) == {run, shoes}
    # Stemming does not make unrelated words alike.
    assert await found(alice, "zebu") == []
    assert await found(alice, "morningstar") == []


async def test_snippets_mark_words_in_their_other_forms(alice: GraphQLClient) -> None:
    project = await errands(alice)
    await make_task(alice, project, "Zoo day", description="We fed the zebras and watched the lions sleeping")

    [hit] = await search(alice, "zebra")
    assert "<mark>zebras</mark>" in hit["snippet"]
    [hit] = await search(alice, "lion sleeps")
    assert "<mark>lions</mark>" in hit["snippet"]
    assert "<mark>sleeping</mark>" in hit["snippet"]


async def test_the_last_word_still_matches_as_a_prefix(alice: GraphQLClient) -> None:
    project = await errands(alice)
    planning = await make_task(alice, project, "Planning the trip", description="Quarterly")
    groceries = await make_task(alice, project, "Buy groceries")

    # "plann" starts "planning" as written, not its stem "plan".
    assert await found(alice, "plann") == [planning]
    assert await found(alice, "trip plann") == [planning]
    assert await found(alice, "gro") == [groceries]
    assert await found(alice, "grocerie") == [groceries]
    assert await found(alice, "quart") == [planning]
    assert await found(alice, "plann gro") == []  # only the last word is a prefix
    [hit] = await search(alice, "plann")
    assert hit["snippet"] == "<mark>Planning</mark> the trip"


async def test_queries_of_stop_words_find_them_as_written(alice: GraphQLClient) -> None:
    project = await errands(alice)
    market = await make_task(alice, project, "Go to the market")
    theatre = await make_task(alice, project, "Theatre tickets to buy")
    other = await make_task(alice, project, "Call mum")

    assert set(await found(alice, "the")) == {market, theatre}  # "the" and the start of "theatre"
    assert set(await found(alice, "to the")) == {market, theatre}
    assert await found(alice, '"to the"') == [market]  # a phrase of stop words
    assert set(await found(alice, "to")) == {market, theatre}
    assert other not in await found(alice, "the")
    [hit] = await search(alice, '"to the"')
    assert hit["snippet"] == "Go <mark>to</mark> <mark>the</mark> market"


async def test_template_answers_are_found_with_their_snippet(alice: GraphQLClient) -> None:
    entry = await write(
        alice,
        title="Tuesday",
        content="An ordinary day at the office.",
        templateAnswers=answers(
            ("What went well today?", "Saw a kingfisher & two herons by the <river>"),
            ("What am I grateful for?", ""),
            ("What did I learn?", "Herons fish at dawn"),
        ),
    )

    assert await found(alice, "kingfisher") == [entry]
    assert await found(alice, "heron") == [entry]  # in another form
    assert await found(alice, "kingf") == [entry]  # as a prefix
    assert await found(alice, "office herons") == [entry]  # the content and the answers together
    assert await found(alice, "grateful") == []  # the prompts are the template's words
    assert await found(alice, "learn") == []
    assert await listed(alice, "kingfishers") == [entry]  # the journal's own filter too

    [hit] = await search(alice, "kingfisher")
    assert hit["node"]["__typename"] == "JournalEntry"
    assert hit["score"] > 0
    snippet = hit["snippet"]
    assert "<mark>kingfisher</mark>" in snippet
    assert "&amp;" in snippet
    assert "&lt;river&gt;" in snippet  # escaped, as every snippet
    assert "<river>" not in snippet
    [hit] = await search(alice, "herons")
    assert hit["snippet"].count("<mark>") == 2  # both answers' herons
    assert "<mark>Herons</mark> fish" in hit["snippet"]
    # A match in the content: the content's snippet, as before.
    [hit] = await search(alice, "office")
    assert "<mark>office</mark>" in hit["snippet"]
    assert "heron" not in hit["snippet"]


async def test_answers_rank_as_the_content_does(alice: GraphQLClient) -> None:
    in_content = await write(alice, content="A kingfisher on the branch")
    in_answers = await write(alice, templateAnswers=answers(("Seen?", "A kingfisher on the branch")))
    in_title = await write(alice, title="Kingfisher")

    hits = await search(alice, "kingfisher")
    assert hits[0]["node"]["id"] == in_title
    assert {h["node"]["id"] for h in hits[1:]} == {in_content, in_answers}
    assert hits[1]["score"] == pytest.approx(hits[2]["score"], rel=1e-4)
    assert hits[0]["score"] > hits[1]["score"]


async def test_answers_follow_edits_and_the_trash(alice: GraphQLClient) -> None:
    entry = await write(alice, templateAnswers=answers(("Seen?", "A kingfisher")))
    payload = await alice.mutate(
        "journalEntryUpdate",
        {"id": entry, "templateAnswers": answers(("Seen?", "An otter"))},
        "journalEntry { id }",
    )
    assert payload["userErrors"] == [], payload
    assert await found(alice, "kingfisher") == []
    assert await found(alice, "otters") == [entry]
    deleted = await alice.ok(
        "mutation($input: IdInput!) { journalEntryDelete(input: $input) { userErrors { code } } }",
        {"input": {"id": entry}},
    )
    assert deleted["journalEntryDelete"]["userErrors"] == []
    assert await found(alice, "otter") == []


async def test_nothing_of_another_user_is_found(alice: GraphQLClient, bob: GraphQLClient) -> None:
    alice_project = await errands(alice)
    bob_project = await errands(bob)
    alice_task = await make_task(alice, alice_project, "Feed the zebras")
    bob_task = await make_task(bob, bob_project, "Feed the zebra", description="Planning the herons")
    await make_pillar(bob, name="Kingfishers")
    bob_entry = await write(bob, templateAnswers=answers(("Seen?", "A kingfisher and the herons")))
    alice_entry = await write(alice, content="Nothing to see")

    for query in ("zebra", "zebras", "zeb", "feeding"):
        assert await found(alice, query) == [alice_task], query
        assert await found(bob, query) == [bob_task], query
    for query in ("kingfisher", "kingf", "heron", "herons", "plann", "the herons"):
        assert await found(alice, query) == [], query
        assert bob_entry in await found(bob, query) or bob_task in await found(bob, query), query
    assert await listed(alice, "kingfishers") == []
    assert await listed(bob, "kingfishers") == [bob_entry]
    assert await found(bob, "nothing") == []
    assert await found(alice, "nothing") == [alice_entry]


@pytest.mark.parametrize("table", SEARCHABLE)
async def test_the_migrated_vectors_are_the_models(owner: AsyncEngine, table: str) -> None:
    """Alembic's comparison cannot see a generated column's expression (it only warns), so PostgreSQL
    compares them: the migrated column's expression against the model's, both as it deparses them."""
    model: Table = metadata.tables[table]
    computed = model.c[COLUMN].computed
    assert computed is not None
    async with owner.connect() as connection:
        migrated = (await connection.execute(text(EXPRESSION), {"table": table, "column": COLUMN})).scalar()
        probe = f"probe_{table}"
        await connection.execute(text(f"CREATE TEMPORARY TABLE {probe} (LIKE {table})"))
        await connection.execute(text(f"ALTER TABLE {probe} DROP COLUMN {COLUMN}"))
        await connection.execute(
            text(
                f"ALTER TABLE {probe} ADD COLUMN {COLUMN} tsvector "
                f"GENERATED ALWAYS AS ({computed.sqltext}) STORED"
            )
        )
        expected = (await connection.execute(text(EXPRESSION), {"table": probe, "column": COLUMN})).scalar()
        await connection.rollback()
    assert migrated is not None
    assert migrated == expected
    assert "'english'::regconfig" in migrated
    assert "'simple'::regconfig" in migrated
    assert ("template_answers" in migrated) == (table == "journal_entries")
