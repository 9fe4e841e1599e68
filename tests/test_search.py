"""``search(query:, first:)`` through GraphQL over HTTP: full-text matches over pillars, areas, projects and
tasks, ranked, with snippets, only the viewer's, in one statement; any input is an answer, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aurum.resources import Resources
from tests.hierarchy import act, chain, make_area, make_pillar, make_project, make_task
from tests.support import GraphQLClient, StatementCounter

SEARCH = """query($query: String!, $first: Int) { search(query: $query, first: $first) {
  score snippet node { __typename id ... on Pillar { name } ... on Area { name }
  ... on Project { name archived } ... on Task { name } } } }"""


async def search(client: GraphQLClient, query: str, first: int | None = None) -> list[dict[str, Any]]:
    variables: dict[str, Any] = {"query": query}
    if first is not None:
        variables["first"] = first
    data = await client.ok(SEARCH, variables)
    hits: list[dict[str, Any]] = data["search"]
    return hits


async def found(client: GraphQLClient, query: str) -> list[str]:
    """The ids of the hits, best first."""
    return [hit["node"]["id"] for hit in await search(client, query)]


async def refused(client: GraphQLClient, query: str, first: Any = 20) -> list[tuple[str, Any]]:
    body = await client.execute(SEARCH, {"query": query, "first": first})
    assert body["data"] is None, body
    return [(e["extensions"]["code"], e["extensions"].get("field")) for e in body["errors"]]


async def test_finds_objects_of_every_kind_by_name_and_description_words(alice: GraphQLClient) -> None:
    pillar = await make_pillar(alice, name="Home", description="A calm household")
    area = await make_area(alice, pillar, name="Kitchen", description="Where the household eats")
    project = await make_project(alice, area, name="Renovation", description="New cabinets and tiles")
    task = await make_task(alice, project, "Buy groceries", description="Milk, eggs and bread")
    other = await make_task(alice, project, "Call the plumber")

    assert await found(alice, "cabinets") == [project]  # a description word
    assert await found(alice, "groceries") == [task]  # a name word
    assert await found(alice, "KITCHEN") == [area]  # any case
    assert await found(alice, "tiles cabinets") == [project]  # every word, in any order
    assert await found(alice, "eggs plumber") == []  # ... and all of them
    assert set(await found(alice, "household")) == {pillar, area}
    hits = await search(alice, "plumber")
    assert [(h["node"]["__typename"], h["node"]["name"]) for h in hits] == [("Task", "Call the plumber")]
    assert hits[0]["node"]["id"] == other
    assert await found(alice, "zebra") == []


async def test_name_matches_rank_above_description_matches(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    in_description = await make_task(
        alice, project, "Errands", description="groceries, groceries and more groceries, then groceries"
    )
    in_name = await make_task(alice, project, "Groceries")
    in_both = await make_task(alice, project, "Groceries for the party", description="Groceries: cake")

    hits = await search(alice, "groceries")
    assert [h["node"]["id"] for h in hits] == [in_both, in_name, in_description]
    scores = [h["score"] for h in hits]
    assert scores[0] > scores[1] > scores[2] > 0


async def test_the_last_word_also_matches_as_a_prefix(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    groceries = await make_task(alice, project, "Buy groceries", description="Milk and bread")
    grout = await make_task(alice, project, "Regrout the bathroom")

    assert await found(alice, "gro") == [groceries]  # "regrout" does not start with it
    assert await found(alice, "buy gro") == [groceries]
    assert await found(alice, "groceries mi") == [groceries]  # the description's "milk"
    assert await found(alice, "regr") == [grout]
    # Only the last word: the others are whole words.
    assert await found(alice, "gro milk") == []
    # Not where the prefix would change what the query means.
    assert await found(alice, '"buy gro') == []  # inside an open quote: a phrase of whole words
    assert await found(alice, "zebra or gro") == []  # an alternative is a whole word
    assert await found(alice, "groceries -gro") == [groceries]  # an exclusion is a whole word


async def test_web_search_syntax(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    plan = await make_task(alice, project, "Secret plan", description="for the surprise party")
    other = await make_task(alice, project, "Plan the secret garden")

    assert set(await found(alice, "secret plan")) == {plan, other}
    assert await found(alice, '"secret plan"') == [plan]  # a phrase
    assert await found(alice, "plan -party") == [other]  # an exclusion
    assert set(await found(alice, "party or garden")) == {plan, other}  # alternatives


async def test_snippets_mark_the_matches_in_escaped_text(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    await make_task(
        alice,
        project,
        'Market trip & "co" <x>',
        description='Remember to buy <b>fresh</b> milk & "eggs" at the market before it closes at noon',
    )

    [hit] = await search(alice, "milk")
    snippet = hit["snippet"]
    assert "<mark>milk</mark>" in snippet
    assert "&lt;b&gt;fresh&lt;/b&gt;" in snippet  # the text's own markup is escaped, never passed on
    assert "&amp;" in snippet
    assert "&quot;eggs&quot;" in snippet
    assert "<b>" not in snippet
    assert snippet.count("<mark>") == 1 == snippet.count("</mark>")

    # A match in the name only: the name, marked and escaped.
    [hit] = await search(alice, "tri")
    assert hit["snippet"] == "Market <mark>trip</mark> &amp; &quot;co&quot; &lt;x&gt;"
    # Matches in both: the description around them.
    [hit] = await search(alice, "market")
    assert hit["snippet"].count("<mark>market</mark>") == 1
    assert "milk" in hit["snippet"]


async def test_results_follow_renames_and_deletes(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    task = await make_task(alice, project, "Write the report")
    assert await found(alice, "report") == [task]

    payload = await alice.mutate("taskUpdate", {"id": task, "name": "Write the essay"}, "task { id }")
    assert payload["userErrors"] == []
    assert await found(alice, "report") == []
    assert await found(alice, "essay") == [task]

    payload = await alice.mutate(
        "taskUpdate", {"id": task, "description": "About quarterly numbers"}, "task { id }"
    )
    assert payload["userErrors"] == []
    assert await found(alice, "quarterly") == [task]
    assert await found(alice, "essay quarterly") == [task]

    deleted = await act(alice, "taskDelete", {"id": task}, "deletedId")
    assert deleted["deletedId"] == task
    assert await found(alice, "essay") == []
    # Deleting a project takes its tasks with it, and out of search.
    kept = await make_task(alice, project, "Water the plants")
    assert await found(alice, "plants") == [kept]
    assert (await act(alice, "projectDelete", {"id": project}, "deletedId"))["deletedId"] == project
    assert await found(alice, "plants") == []


async def test_archived_objects_are_found_but_ranked_lower(alice: GraphQLClient) -> None:
    _, area, _ = await chain(alice)
    archived = await make_project(alice, area, name="Passport renewal")
    active = await make_project(alice, area, name="Passport renewal")
    payload = await act(alice, "projectArchive", {"id": archived}, "project { archived }")
    assert payload["userErrors"] == []
    # The archived one changed last, so only the ranking can put it second.
    hits = await search(alice, "passport")
    assert [h["node"]["id"] for h in hits] == [active, archived]
    assert [h["node"]["archived"] for h in hits] == [False, True]
    assert hits[1]["score"] == pytest.approx(hits[0]["score"] / 2, rel=1e-4)


async def test_only_the_viewers_objects_are_found(alice: GraphQLClient, bob: GraphQLClient) -> None:
    *_, alice_project = await chain(alice)
    *_, bob_project = await chain(bob)
    alice_plan = await make_task(alice, alice_project, "Secret plan", description="alice's eyes only")
    bob_plan = await make_task(bob, bob_project, "Secret plan", description="bob's eyes only")
    alice_pillar = await make_pillar(alice, name="Secret pillar")

    assert set(await found(alice, "secret")) == {alice_plan, alice_pillar}
    assert await found(bob, "secret") == [bob_plan]
    assert await found(bob, "alice") == []
    assert await found(bob, "secret pil") == []
    assert await found(alice, "bob") == []


async def test_first_limits_the_hits(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    for n in range(3):
        await make_task(alice, project, f"Stretch {n}")
    assert len(await search(alice, "stretch", first=2)) == 2
    assert len(await search(alice, "stretch", first=1)) == 1
    assert len(await search(alice, "stretch", first=50)) == 3
    assert len(await search(alice, "stretch")) == 3  # 20 by default
    data = await alice.ok(SEARCH, {"query": "stretch", "first": None})  # null: the default
    assert len(data["search"]) == 3


async def test_bad_arguments_are_refused_with_the_argument_named(alice: GraphQLClient) -> None:
    assert await refused(alice, "") == [("BAD_USER_INPUT", ["query"])]
    assert await refused(alice, " \t\n ") == [("BAD_USER_INPUT", ["query"])]
    assert await refused(alice, "a" * 201) == [("BAD_USER_INPUT", ["query"])]
    assert await search(alice, "a" * 200) == []
    for first in (0, -1, 51, 1000):
        assert await refused(alice, "plan", first) == [("BAD_USER_INPUT", ["first"])], first


@pytest.mark.parametrize(
    "query",
    [
        "'",
        '"',
        '""',
        '"unclosed',
        "&",
        "|",
        "!",
        ":*",
        "()",
        "(plan",
        "plan)",
        "plan & | !",
        "secret:* | plan",
        "plan:A",
        "<->",
        "<2> plan",
        "\\",
        "plan\\",
        "it's",
        "'; DROP TABLE tasks; --",
        "or",
        "-",
        "- -",
        "-plan",
        "!!!",
        "@@ plan",
        "%_",
        "plan;",
        "plan:",
        "plan*",
        "✨ plan 🚀",
        "東京",
        "plan\u200b",
        "<mark>plan</mark>",
        "&amp;",
        "$1",
        "a" * 200,
        "x " * 100,
    ],
)
async def test_special_characters_are_just_text(alice: GraphQLClient, query: str) -> None:
    *_, project = await chain(alice)
    await make_task(alice, project, "Secret plan", description="it's (really) a plan & a half | or not!")
    body = await alice.execute(SEARCH, {"query": query})
    assert "errors" not in body, body
    assert isinstance(body["data"]["search"], list)


async def test_one_search_is_one_statement(
    alice: GraphQLClient, statements: StatementCounter, resources: Resources
) -> None:
    pillar, area, project = await chain(alice)
    for n in range(3):
        await make_task(alice, project, f"Garden bed {n}", description="garden")
    await make_pillar(alice, name="Garden")
    await make_area(alice, pillar, name="Garden", description="garden")
    await make_project(alice, area, name="Garden path")

    await resources.settle()  # the creates announce their events after commit, in the background

    statements.reset()
    hits = await search(alice, "garden")
    assert {h["node"]["__typename"] for h in hits} == {"Pillar", "Area", "Project", "Task"}
    assert len(hits) == 6
    # Naming the user for row-level security, then the search itself, snippets and nodes included.
    listing = "\n\n".join(statements.statements)
    assert statements.count == 2, listing
    assert "set_config" in statements.statements[0]
    assert statements.statements[1].count("UNION ALL") == 4, listing  # five sources, journal entries too


async def test_anonymous_callers_cannot_search(http: httpx.AsyncClient) -> None:
    anonymous = GraphQLClient(http)
    assert await anonymous.error_codes(SEARCH, {"query": "plan"}) == ["UNAUTHENTICATED"]


async def test_journal_template_answers_are_found(alice: GraphQLClient) -> None:
    payload = await alice.mutate(
        "journalEntryCreate",
        {"templateAnswers": [{"prompt": "What went well today?", "answer": "A kingfisher on the branch"}]},
        "journalEntry { id wordCount }",
    )
    entry = payload["journalEntry"]
    assert entry["wordCount"] == 5
    assert await found(alice, "kingfisher") == [entry["id"]]
    assert await found(alice, "well") == []  # the prompts are the template's words, not the person's


async def test_words_are_found_in_other_forms(alice: GraphQLClient) -> None:
    *_, project = await chain(alice)
    task = await make_task(alice, project, "Feed the zebra")
    assert await found(alice, "Zebras") == [task]
