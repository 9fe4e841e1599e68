"""Entries made from journal templates start with the template's default tags; later template changes on an
entry leave its tags alone."""

from __future__ import annotations

from typing import Any

from tests.support import GraphQLClient
from tests.test_journal import TEMPLATES, errors, listed, write


async def built_in(client: GraphQLClient, kind: str) -> dict[str, Any]:
    templates = (await client.ok(TEMPLATES))["journalTemplates"]
    [found] = [t for t in templates if t["builtIn"] and t["type"] == kind]
    template: dict[str, Any] = found
    return template


async def own_template(client: GraphQLClient, **input: Any) -> str:
    created = await client.mutate("journalTemplateCreate", input, "journalTemplate { id defaultTags }")
    assert created["userErrors"] == [], created
    return str(created["journalTemplate"]["id"])


async def test_a_built_in_templates_default_tags_are_applied(alice: GraphQLClient) -> None:
    daily = await built_in(alice, "DAILY_REFLECTION")
    assert daily["defaultTags"] == ["reflection"]
    entry = await write(
        alice,
        templateId=daily["id"],
        templateAnswers=[{"prompt": "What went well today?", "answer": "Lunch"}],
    )
    assert entry["tags"] == ["reflection"]
    weekly = await built_in(alice, "WEEKLY_REVIEW")
    assert (await write(alice, templateId=weekly["id"]))["tags"] == ["review", "weekly"]
    assert (await write(alice, content="No template"))["tags"] == []


async def test_default_tags_follow_the_given_ones_normalised_once(alice: GraphQLClient) -> None:
    template = await own_template(alice, name="Morning pages", defaultTags=["Morning", " Pages "])
    entry = await write(alice, templateId=template, tags=[" PAGES", "Coffee", "coffee"])
    assert entry["tags"] == ["pages", "coffee", "morning"]
    assert await listed(alice, tags=["morning"]) == [entry["id"]]


async def test_too_many_tags_with_the_defaults_are_refused_and_nothing_is_written(
    alice: GraphQLClient,
) -> None:
    weekly = (await built_in(alice, "WEEKLY_REVIEW"))["id"]
    nineteen = [f"t{i}" for i in range(19)]
    assert await errors(alice, "journalEntryCreate", {"templateId": weekly, "tags": nineteen}) == [
        ("BAD_USER_INPUT", ["input", "tags"])
    ]
    assert await listed(alice) == []
    # A default tag already given counts once: 18 + "review" + "weekly" is exactly the limit.
    entry = await write(alice, templateId=weekly, tags=["review", *nineteen[:18]])
    assert len(entry["tags"]) == 20
    assert entry["tags"][-1] == "weekly"


async def test_choosing_a_template_on_update_leaves_the_tags_alone(alice: GraphQLClient) -> None:
    """Decided: default tags are where an entry starts. Once it exists its tags are the person's own, so
    setting or changing its template neither adds defaults nor brings back one that was removed."""
    daily = (await built_in(alice, "DAILY_REFLECTION"))["id"]
    gratitude = (await built_in(alice, "GRATITUDE"))["id"]
    plain = await write(alice, content="Written freely", tags=["mine"])
    moved = await alice.mutate(
        "journalEntryUpdate",
        {"id": plain["id"], "templateId": daily},
        "journalEntry { tags template { id } }",
    )
    assert moved["journalEntry"] == {"tags": ["mine"], "template": {"id": daily}}

    made = await write(alice, templateId=daily)
    untagged = await alice.mutate(
        "journalEntryUpdate", {"id": made["id"], "tags": []}, "journalEntry { tags }"
    )
    assert untagged["journalEntry"]["tags"] == []
    switched = await alice.mutate(
        "journalEntryUpdate", {"id": made["id"], "templateId": gratitude}, "journalEntry { tags }"
    )
    assert switched["journalEntry"]["tags"] == []
