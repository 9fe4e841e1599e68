"""Small hostile documents cost the server time in proportion to their size, are refused before anything
expands them, and never hold up other clients; a request over its time budget is stopped whole."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aurum.resources import Resources
from aurum.settings import Settings
from tests.conftest import register
from tests.hostile import FAMILIES, Family, named_fragments, repeated_fields, unique
from tests.support import GraphQLClient, uuid_of, wait_for
from tests.test_realtime import app_server

SMALL, LARGE = 10, 40  # levels of fan-out (2^40 fields for a walk that expands fragments)
REPEATS = 3


async def server_seconds(client: GraphQLClient, document: str) -> tuple[float, list[str]]:
    """The quickest of a few answers to the document (each in a text new to the server), and its codes."""
    best, codes = float("inf"), []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = await client.post(unique(document))
        best = min(best, time.perf_counter() - started)
        assert response.status_code == 200, response.text
        codes = [e["extensions"]["code"] for e in response.json().get("errors", [])]
    return best, codes


def sized(family: Family, scale: int) -> str:
    return family.make(scale * 10 if family.make is repeated_fields else scale)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
async def test_server_time_grows_with_the_document_not_with_its_expansion(
    family: Family, anonymous: GraphQLClient, alice: GraphQLClient
) -> None:
    client = alice if family.signed_in else anonymous
    small, large = sized(family, SMALL), sized(family, LARGE)
    small_seconds, _ = await server_seconds(client, small)
    large_seconds, codes = await server_seconds(client, large)
    # Linear work makes the large document no dearer per byte than the small one (the request's fixed
    # cost weighs less); a walk that expands fragments would spend 2^30 times more on it.
    per_byte = (large_seconds / len(large)) / (small_seconds / len(small))
    assert per_byte < 3, (small_seconds, large_seconds)
    assert codes == ["QUERY_TOO_COMPLEX"], codes


@pytest.mark.parametrize(
    "family", [f for f in FAMILIES if f.make is not repeated_fields], ids=lambda f: f.name
)
async def test_a_fan_out_far_past_any_walk_is_refused_at_once(
    family: Family, anonymous: GraphQLClient, alice: GraphQLClient
) -> None:
    client = alice if family.signed_in else anonymous
    seconds, codes = await server_seconds(client, family.make(200))  # 2^200 fields expanded
    assert codes == ["QUERY_TOO_COMPLEX"]
    assert seconds < 5


async def test_a_small_fan_out_within_the_limits_still_runs(anonymous: GraphQLClient) -> None:
    body = await anonymous.execute(FAMILIES[0].make(8))  # 256 fields once expanded: within the limit
    assert body == {"data": {"__typename": "Query"}}


async def test_the_refusal_names_the_limit(anonymous: GraphQLClient, settings: Settings) -> None:
    body = await anonymous.execute(FAMILIES[0].make(30))
    [error] = body["errors"]
    assert f"{settings.max_query_fields:,} fields" in error["message"], error
    assert body.get("data") is None


async def test_health_answers_while_hostile_documents_arrive(
    http: httpx.AsyncClient, alice: GraphQLClient
) -> None:
    """A stream of the documents that cost the most to check, each new to the server: a fan-out that took
    seconds when walks expanded fragments, and the most repeated fields the token limit allows. /health keeps
    answering meanwhile (``python -m bench hostile`` measures how quickly, from another process)."""
    worst = (named_fragments(24), repeated_fields(700))
    done = asyncio.Event()
    answers: list[list[str]] = []

    async def attack(index: int) -> None:
        while not done.is_set():
            response = await alice.post(unique(worst[index % 2]))
            answers.append([e["extensions"]["code"] for e in response.json()["errors"]])

    attackers = [asyncio.create_task(attack(i)) for i in range(8)]
    waits: list[float] = []
    try:
        await wait_for(lambda: len(answers) >= 2, "the first hostile answers", timeout=30)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            started = time.perf_counter()
            assert (await http.get("/health")).status_code == 200
            waits.append(time.perf_counter() - started)
    finally:
        done.set()
        await asyncio.gather(*attackers)
    assert all(codes == ["QUERY_TOO_COMPLEX"] for codes in answers)
    assert len(waits) >= 5, waits  # the test client shares the loop with the server and the attackers
    assert max(waits) < 2, sorted(waits)[-5:]


async def test_a_request_over_its_time_budget_is_stopped_and_keeps_nothing(
    settings: Settings, resources: Resources, owner: AsyncEngine
) -> None:
    """A mutation waits on the person's write lock, held elsewhere past the budget: it is stopped with a
    clear code, its transaction rolled back, its connection given back, and the next request served."""
    async with (
        app_server(settings, resources, operation_timeout=0.5) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        person = await register(http)
        user_id = uuid_of(person.user_id)
        pillar_id = str(uuid.uuid4())
        async with owner.connect() as holder:
            await holder.execute(
                text("SELECT pg_advisory_lock(hashtextextended(:user_id, 4242))"), {"user_id": str(user_id)}
            )
            started = time.perf_counter()
            body = await person.execute(
                "mutation($input: PillarCreateInput!) { pillarCreate(input: $input) { pillar { id } } }",
                {"input": {"id": pillar_id, "name": "Health"}},
            )
            waited = time.perf_counter() - started
            # The stopped statement left PostgreSQL's queue for the lock: it cannot go on once it is free.
            await wait_for(lambda: waiting_for_advisory_locks(owner, 0), "the stopped statement to leave")
            await holder.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(:user_id, 4242))"), {"user_id": str(user_id)}
            )
        assert [e["extensions"]["code"] for e in body["errors"]] == ["OPERATION_TIMEOUT"], body
        assert "0.5 s" in body["errors"][0]["message"]
        assert waited < 5
        data = await person.ok("{ pillars { totalCount } }")
        assert data["pillars"]["totalCount"] == 0  # nothing of the stopped mutation was kept
        created = await person.mutate("pillarCreate", {"id": pillar_id, "name": "Health"}, "pillar { name }")
        assert created["pillar"] == {"name": "Health"}


async def waiting_for_advisory_locks(owner: AsyncEngine, count: int) -> bool:
    async with owner.connect() as connection:  # a transaction per look: pg_locks is read at its start
        waiting = await connection.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
    return waiting == count
