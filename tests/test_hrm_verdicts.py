"""Verdicts on priorities converge, through GraphQL: each TOO_HIGH holds a task under the one ranked next
below it, so repeating it keeps moving the task until the person agrees; TOO_LOW the other way; CORRECT
lets it go. The score still explains itself: its parts add up to the value held."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.hierarchy import chain, make_task
from tests.support import GraphQLClient
from tests.test_hrm_scores import factor, ranked_names, score_of, settled

VERDICT = (
    "mutation($input: TaskPriorityFeedbackInput!) {"
    " taskPriorityFeedback(input: $input) { userErrors { code } } }"
)


async def say(client: GraphQLClient, task: str, verdict: str) -> None:
    data = await client.ok(VERDICT, {"input": {"taskId": task, "verdict": verdict}})
    assert data["taskPriorityFeedback"]["userErrors"] == []


async def test_repeated_verdicts_keep_moving_a_task_until_the_person_agrees(
    alice: GraphQLClient, owner: AsyncEngine
) -> None:
    await alice.mutate("hrmPreferencesUpdate", {"learningEnabled": False}, "preferences { learningEnabled }")
    _, _, project = await chain(alice)
    today = datetime.now(UTC).date().isoformat()
    tasks = {
        "Pay rent": await make_task(alice, project, "Pay rent", priority="URGENT", dueDate=today),
        "Call the bank": await make_task(alice, project, "Call the bank", priority="HIGH"),
        "Fix the bike": await make_task(alice, project, "Fix the bike", priority="MEDIUM"),
        "Read a novel": await make_task(alice, project, "Read a novel", priority="LOW"),
    }
    await settled(owner, alice)
    assert await ranked_names(alice) == ["Pay rent", "Call the bank", "Fix the bike", "Read a novel"]

    await say(alice, tasks["Pay rent"], "TOO_HIGH")
    await settled(owner, alice)
    assert await ranked_names(alice) == ["Call the bank", "Pay rent", "Fix the bike", "Read a novel"]
    await say(alice, tasks["Pay rent"], "TOO_HIGH")  # again: one place further
    await settled(owner, alice)
    assert await ranked_names(alice) == ["Call the bank", "Fix the bike", "Pay rent", "Read a novel"]

    score = await score_of(alice, tasks["Pay rent"])
    assert sum(f["contribution"] for f in score["factors"]) == pytest.approx(score["value"], abs=0.05)
    said = factor(score, "USER_FEEDBACK")
    assert said is not None
    assert said["reason"].startswith("You said it ranked too high: held at most")
    assert said["reason"].endswith("under the task ranked next below it then")

    await say(alice, tasks["Read a novel"], "TOO_LOW")  # at least past the one over it (its rule may do more)
    await settled(owner, alice)
    ranked = await ranked_names(alice)
    assert ranked.index("Read a novel") < ranked.index("Pay rent")

    await say(alice, tasks["Pay rent"], "CORRECT")  # agreed at last: it ranks on its own merits again
    await settled(owner, alice)
    assert (await ranked_names(alice))[0] == "Pay rent"
